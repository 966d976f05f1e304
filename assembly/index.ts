// placeholder: the KSG kernel lands here
export function version(): i32 {
  return 1;
}

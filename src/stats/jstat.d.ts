// The part of jStat (npm 'jstat', no bundled types) that src/stats/ uses.
declare module 'jstat' {
  const jstat: {
    jStat: {
      studentt: { inv(p: number, dof: number): number };
      spearmancoeff(a: number[], b: number[]): number;
      median(a: number[]): number;
    };
  };
  export default jstat;
}

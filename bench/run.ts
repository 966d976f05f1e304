/**
 * `npm run bench [-- SUITE... ] [-- --quick]`: runs the benchmark suites (bench/<suite>.ts, each exporting
  * `run({ quick })`): mi, mi-family, train, dvcnn, or all of them when none is named. BENCH_QUICK=1 is the same as --quick.
 * A failure prints one line, `bench: <what went wrong>`, and exits 1 (BENCH_DEBUG=1 adds the stack).
 */
const SUITES = ['mi', 'mi-family', 'train', 'dvcnn'] as const;

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick') || process.env.BENCH_QUICK === '1';
  const named = args.filter((a) => !a.startsWith('--'));
  for (const s of named) {
    if (!(SUITES as readonly string[]).includes(s)) {
      console.error(`bench: unknown suite '${s}'; use one of ${SUITES.join(', ')}`);
      process.exit(2);
    }
  }
  for (const suite of named.length ? named : SUITES) {
    const mod = (await import(`./${suite}.js`)) as { run(opts: { quick: boolean }): Promise<void> };
    console.log(`\n== bench ${suite}${quick ? ' (quick)' : ''} ==`);
    await mod.run({ quick });
  }
}

main().catch((e: unknown) => {
  console.error(`bench: ${e instanceof Error ? e.message : String(e)}`);
  if (process.env.BENCH_DEBUG === '1' && e instanceof Error) console.error(e.stack);
  process.exit(1);
});

/**
 * Benchmark (rerunnable, prints figures with medians):
 *  1. key on the page -> credentials stored, in real headless Chromium with the
 *     built extension, the registered host, the simulator and gnome-keyring;
 *  2. the host's start-up to its first reply (scripts/bench-host-startup.mjs);
 *  3. the extension's and the host's bundle sizes.
 *
 *   npx tsx scripts/bench.ts [--runs N]     (default 10; run `npm run build` first)
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { startCustomerMachine } from '../test/machine/customer-machine.ts';
import { waitFor } from '../test/machine/wait.ts';

const runsArg = process.argv.indexOf('--runs');
const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 10;
if (!Number.isInteger(runs) || runs < 1 || runs > 200) {
  console.error('bench: --runs takes a whole number from 1 to 200');
  process.exit(2);
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const summary = (values: number[]) =>
  `min ${Math.min(...values).toFixed(0)} ms, median ${median(values).toFixed(0)} ms, max ${Math.max(...values).toFixed(0)} ms (n=${values.length})`;

// --- 1. key on the page -> credentials stored ---
console.log(`Key on the page -> credentials stored (${runs} purchases in headless Chromium)`);
const machine = await startCustomerMachine({ label: 'bench' });
const timings: number[] = [];
try {
  const install = await machine.install();
  if (install.code !== 0) throw new Error(install.stderr);
  const browser = await machine.launch();
  const product = machine.config.products[0]!;
  const hostLog = join(machine.dataDir, 'logs', 'host.log');
  const storedLines = () => {
    const text = existsSync(hostLog) ? readFileSync(hostLog, 'utf8') : '';
    return text.split('\n').filter((line) => / credentials (stored|replaced) /.test(line));
  };
  for (let run = 0; run < runs; run++) {
    // Each run is a first activation: forget the previous set.
    await machine.cli(['forget', '--product', product.code]);
    const storedBefore = storedLines().length;
    const page = await browser.context.newPage();
    await machine.buy(page, product.code);
    // The key is in the top frame's HTML: it appears when that document is parsed.
    const keyShownAt = await page.frame({ name: 'aws' })!.evaluate(() => {
      const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
      return performance.timeOrigin + nav.domInteractive;
    });
    let storedAt = 0;
    await waitFor(
      () => {
        const stored = storedLines();
        if (stored.length <= storedBefore) return false;
        storedAt = Date.parse(stored.at(-1)!.slice(0, 24));
        return true;
      },
      { timeoutMs: 30_000, intervalMs: 10, what: 'the credentials to be stored' },
    );
    timings.push(storedAt - keyShownAt);
    console.log(`  run ${run + 1}: ${(storedAt - keyShownAt).toFixed(0)} ms`);
    await page.close();
  }
  console.log(`  ${summary(timings)}`);
} finally {
  await machine.close();
}

// --- 2. host start-up ---
console.log('\nHost start-up to its first reply (bundle vs TypeScript sources)');
execFileSync(process.execPath, ['scripts/bench-host-startup.mjs', '--runs', String(Math.max(5, runs))], {
  stdio: 'inherit',
});

// --- 3. sizes ---
console.log('\nBundle sizes (raw / gzip)');
const sizeOf = (file: string) => {
  const bytes = readFileSync(file);
  return `${(statSync(file).size / 1024).toFixed(1).padStart(7)} KiB / ${(gzipSync(bytes).length / 1024).toFixed(1).padStart(6)} KiB`;
};
const walk = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)],
  );
for (const file of walk('.output/chrome-mv3').filter((f) => /\.(js|html|css)$/.test(f))) {
  console.log(`  ${relative('.', file).padEnd(52)} ${sizeOf(file)}`);
}
console.log(`  ${'dist/devpay-companion.mjs'.padEnd(52)} ${sizeOf('dist/devpay-companion.mjs')}`);

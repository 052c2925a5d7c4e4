/**
 * Key on the page to credentials stored, in real headless Chromium with the built
 * extension, against the same path ending at a trivial host that only
 * acknowledges the key: the launcher the installer registered is swapped between
 * the real one and the trivial one, run by run. Both are timed from the moment
 * the key's frame was parsed (domInteractive) to the host's own clock: the
 * "credentials stored" log line, or the trivial host's note of the key.
 * Used by scripts/bench.ts.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CustomerMachine } from '../test/machine/customer-machine.ts';
import { waitFor } from '../test/machine/wait.ts';

/** Answers hello as the host does, acknowledges a key with `activated`, and notes when the key arrived. */
const TRIVIAL_HOST = `const { appendFileSync } = require('node:fs');
const [notes, products, activateUrl] = [process.env.BENCH_ACK_FILE, JSON.parse(process.env.BENCH_PRODUCTS), process.env.BENCH_ACTIVATE_URL];
let input = Buffer.alloc(0);
const send = (m) => { const b = Buffer.from(JSON.stringify(m)); const h = Buffer.alloc(4); h.writeUInt32LE(b.length); process.stdout.write(Buffer.concat([h, b])); };
process.stdin.on('data', (d) => {
  input = Buffer.concat([input, d]);
  while (input.length >= 4 && input.length >= 4 + input.readUInt32LE(0)) {
    const m = JSON.parse(input.subarray(4, 4 + input.readUInt32LE(0)).toString());
    input = input.subarray(4 + input.readUInt32LE(0));
    if (m.type === 'hello') send({ type: 'hello', id: m.id, protocol: 1, hostVersion: '0.0.0', products, activateUrl });
    else if (m.type === 'activate') {
      appendFileSync(notes, Date.now() + '\\n');
      const product = products.find((p) => p.code === m.productCode) ?? products[0];
      send({ type: 'activated', id: m.id, product, accessKeyId: 'AKIA****BNCH', activatedAt: new Date().toISOString(), replaced: false });
    } else send({ type: 'status', id: m.id, hostVersion: '0.0.0', products: products.map((p) => ({ ...p, activated: false, activatedAt: null, accessKeyId: null, state: 'not-activated' })) });
  }
});`;

/**
 * Chromium keeps a host's port open after a reply: stop this machine's hosts (real
 * or trivial: their environment names its data folder) so that every run starts one,
 * as a customer's first activation does.
 */
async function stopHosts(dataDir: string): Promise<void> {
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    if (Number(pid) === process.pid) continue;
    let environ = '';
    try {
      environ = readFileSync(`/proc/${pid}/environ`, 'latin1');
    } catch {
      continue;
    }
    if (!environ.split('\0').includes(`DEVPAY_DATA_DIR=${dataDir}`)) continue;
    const command = readFileSync(`/proc/${pid}/cmdline`, 'latin1');
    if (/chromium|chrome/.test(command.split('\0')[0] ?? '')) continue;
    try {
      process.kill(Number(pid), 'SIGTERM');
    } catch {
      // gone already
    }
  }
  await new Promise((resolve) => setTimeout(resolve, 100));
}

export async function benchBrowserPath(
  machine: CustomerMachine,
  options: { runs: number; launcher: string; nodePath: string; log: (line: string) => void },
): Promise<{ real: number[]; trivial: number[] }> {
  const { runs, launcher, log } = options;
  const realLauncher = readFileSync(launcher, 'utf8');
  const trivialSource = join(machine.root, 'trivial-host.cjs');
  const ackFile = join(machine.root, 'trivial-host.acks');
  writeFileSync(trivialSource, TRIVIAL_HOST);
  writeFileSync(ackFile, '');
  const products = JSON.stringify(machine.config.products.map((p) => ({ code: p.code, name: p.name })));
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const trivialLauncher = [
    '#!/bin/sh',
    `BENCH_ACK_FILE=${q(ackFile)} BENCH_PRODUCTS=${q(products)} BENCH_ACTIVATE_URL=${q(machine.config.activateUrl)} exec ${q(options.nodePath)} ${q(trivialSource)} "$@"`,
    '',
  ].join('\n');

  const hostLog = join(machine.dataDir, 'logs', 'host.log');
  const storedAt = (): number[] =>
    (existsSync(hostLog) ? readFileSync(hostLog, 'utf8') : '')
      .split('\n')
      .filter((line) => / credentials (stored|replaced) /.test(line))
      .map((line) => Date.parse(line.slice(0, 24)));
  const ackedAt = (): number[] => readFileSync(ackFile, 'utf8').split('\n').filter(Boolean).map(Number);

  const browser = await machine.launch();
  const product = machine.config.products[0]!;
  const real: number[] = [];
  const trivial: number[] = [];
  const once = async (kind: 'real' | 'trivial'): Promise<number> => {
    writeFileSync(launcher, kind === 'real' ? realLauncher : trivialLauncher, { mode: 0o755 });
    if (kind === 'real') await machine.cli(['forget', '--product', product.code]); // each run is a first activation
    const seen = kind === 'real' ? storedAt : ackedAt;
    const before = seen().length;
    const page = await browser.context.newPage();
    try {
      await machine.buy(page, product.code);
      // The key is in the top frame's HTML: it is on the page once that document is parsed.
      const keyShownAt = await page.frame({ name: 'aws' })!.evaluate(() => {
        const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
        return performance.timeOrigin + nav.domInteractive;
      });
      let doneAt = 0;
      await waitFor(
        () => {
          const times = seen();
          if (times.length <= before) return false;
          doneAt = times.at(-1)!;
          return true;
        },
        {
          timeoutMs: 30_000,
          intervalMs: 10,
          what: kind === 'real' ? 'the credentials to be stored' : 'the trivial host to get the key',
        },
      );
      return doneAt - keyShownAt;
    } finally {
      await page.close();
      await stopHosts(machine.dataDir);
    }
  };
  try {
    await once('trivial'); // warm-up: the service worker, the disk cache
    for (let run = 0; run < runs; run++) {
      real.push(await once('real'));
      trivial.push(await once('trivial'));
      log(
        `  run ${String(run + 1).padStart(2)}: stored ${real.at(-1)!.toFixed(0)} ms, trivial host ${trivial.at(-1)!.toFixed(0)} ms`,
      );
    }
  } finally {
    writeFileSync(launcher, realLauncher, { mode: 0o755 });
  }
  return { real, trivial };
}

/**
 * Benchmark of what `npm run release` ships (rerunnable, prints figures):
 *  - sizes of the executable, the tarball and the .deb;
 *  - start-up to the first reply (hello, as a browser starts the host) of the
 *    packaged executable (Node 24 with the code cache), against the bundle under
 *    this machine's node, and a bare start of the same Node 24 runtime doing nothing.
 *
 *   npx tsx scripts/bench-release.ts [--runs N]     (default 15; run `npm run release` first)
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import { encodeFrame, FrameDecoder } from '../native-host/messaging/framing.ts';
import { fetchRuntime, NODE_RUNTIME_VERSION } from './release/runtime.ts';

const runsArg = process.argv.indexOf('--runs');
const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 15;
if (!Number.isInteger(runs) || runs < 1 || runs > 1000) {
  console.error('bench-release: --runs takes a whole number from 1 to 1000');
  process.exit(2);
}
const version = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;
const target = `${process.platform}-${process.arch}`;
const tarball = resolve(`release/devpay-companion-${version}-${target}.tar.gz`);
const deb = resolve(`release/devpay-companion_${version}_amd64.deb`);
const bundle = resolve('dist/devpay-companion.mjs');
if (!existsSync(tarball) || !existsSync(bundle)) {
  console.error('bench-release: run `npm run release` and `npm run build:host` first');
  process.exit(2);
}

// What ships: the executable as the tarball unpacks it.
const dir = mkdtempSync(join(tmpdir(), 'devpay-bench-release-'));
execFileSync('tar', ['-xzf', tarball, '-C', dir]);
const folder = join(dir, `devpay-companion-${version}-${target}`);
const exe = join(folder, 'devpay-companion');
const config = JSON.parse(readFileSync(join(folder, 'vendor-config.json'), 'utf8')) as {
  extensions: { chromium: string[] };
};
const origin = `chrome-extension://${config.extensions.chromium[0]}/`;
const runtime = fetchRuntime(target as 'linux-x64', resolve('release/.cache'));
const env = {
  PATH: process.env.PATH ?? '',
  DEVPAY_CONFIG: join(folder, 'vendor-config.json'),
  DEVPAY_DATA_DIR: join(dir, 'data'),
  // The handshake needs no keychain; make sure none is reached.
  DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent',
};

interface Variant {
  name: string;
  command: string;
  args: string[];
  /** Waits for a hello reply; otherwise for the process to exit. */
  hello: boolean;
}

const variants: Variant[] = [
  { name: `packaged executable (Node ${NODE_RUNTIME_VERSION}, code cache)`, command: exe, args: [origin], hello: true },
  { name: `bundle under node ${process.version}`, command: process.execPath, args: [bundle, origin], hello: true },
  {
    name: `bare node ${NODE_RUNTIME_VERSION} -e 0 (start and exit)`,
    command: runtime.binary,
    args: ['-e', '0'],
    hello: false,
  },
];

function oneRun(v: Variant): Promise<number> {
  return new Promise((done, fail) => {
    const started = process.hrtime.bigint();
    const child = spawn(v.command, v.args, { env, stdio: ['pipe', 'pipe', 'ignore'] });
    const decoder = new FrameDecoder(1024 * 1024);
    let ms: number | undefined;
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.stdout.on('data', (chunk: Buffer) => {
      if (ms !== undefined || !v.hello) return;
      const [reply] = decoder.push(chunk) as { type?: string }[];
      if (reply === undefined) return;
      if (reply.type === 'hello') ms = Number(process.hrtime.bigint() - started) / 1e6;
      child.kill('SIGKILL');
    });
    child.on('exit', () => {
      clearTimeout(timer);
      if (!v.hello) ms = Number(process.hrtime.bigint() - started) / 1e6;
      if (ms === undefined) fail(new Error(`${v.name}: no hello reply`));
      else done(ms);
    });
    child.stdin.on('error', () => undefined);
    if (v.hello) child.stdin.write(encodeFrame({ type: 'hello', id: 'bench', protocol: 1, client: 'bench' }));
    else child.stdin.end();
  });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const mib = (path: string) => `${(statSync(path).size / 1024 / 1024).toFixed(1)} MiB`;

try {
  console.log('Release sizes:');
  console.log(`  executable  ${mib(exe)}`);
  console.log(`  tarball     ${mib(tarball)}`);
  if (existsSync(deb)) console.log(`  .deb        ${mib(deb)}`);
  for (const v of variants) await oneRun(v); // warm the disk cache
  const times = variants.map(() => [] as number[]);
  for (let i = 0; i < runs; i++) for (const [j, v] of variants.entries()) times[j]!.push(await oneRun(v)); // interleaved
  console.log(`Start to first reply, ${runs} runs each (min / median / max):`);
  for (const [j, v] of variants.entries()) {
    const t = times[j]!;
    console.log(
      `  ${v.name.padEnd(52)} ${Math.min(...t)
        .toFixed(0)
        .padStart(5)} ms ${median(t).toFixed(0).padStart(5)} ms ${Math.max(...t)
        .toFixed(0)
        .padStart(5)} ms`,
    );
  }
} catch (error) {
  console.error(`bench-release: ${(error as Error).message}`);
  process.exitCode = 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}

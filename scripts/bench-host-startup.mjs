// How fast a browser-started host answers its first message: the bundle
// (node dist/devpay-companion.mjs) against the TypeScript sources run through tsx.
// Each run starts the host as a browser does (caller origin as the argument,
// frames on stdin/stdout), sends `hello` and times the first reply.
//
//   node scripts/bench-host-startup.mjs [--runs N]      (default 15; build first: npm run build:host)
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { tsImport } from 'tsx/esm/api';

const root = resolve(import.meta.dirname, '..');
const runsArg = process.argv.indexOf('--runs');
const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 15;
if (!Number.isInteger(runs) || runs < 1 || runs > 1000) {
  console.error('bench: --runs takes a whole number from 1 to 1000');
  process.exit(2);
}
const bundle = join(root, 'dist', 'devpay-companion.mjs');
if (!existsSync(bundle)) {
  console.error('bench: no bundle at dist/devpay-companion.mjs: run `npm run build:host` first');
  process.exit(2);
}

// The host's own framing, so the bench speaks exactly what the browser speaks.
const { encodeFrame, FrameDecoder } = await tsImport('../native-host/messaging/framing.ts', import.meta.url);
const configPath = join(root, 'shared', 'config', 'demo.json');
const config = JSON.parse(readFileSync(configPath, 'utf8'));
const origin = `chrome-extension://${config.extensions.chromium[0]}/`;
const dataDir = mkdtempSync(join(tmpdir(), 'devpay-bench-'));
const env = {
  ...process.env,
  DEVPAY_CONFIG: configPath,
  DEVPAY_DATA_DIR: dataDir,
  // The handshake needs no keychain; make sure none is reached.
  DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent',
};

const tsxCli = join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs');
const variants = [
  { name: 'bundle      node dist/devpay-companion.mjs', argv: [bundle, origin] },
  {
    name: 'sources     node --import tsx native-host/main.ts',
    argv: ['--import', 'tsx', join(root, 'native-host', 'main.ts'), origin],
  },
  { name: 'sources     tsx native-host/main.ts', argv: [tsxCli, join(root, 'native-host', 'main.ts'), origin] },
];

/** One browser-like start: milliseconds from spawn to the first complete reply frame. */
function oneRun(argv) {
  return new Promise((resolvePromise, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, argv, { cwd: root, env, stdio: ['pipe', 'pipe', 'pipe'] });
    const decoder = new FrameDecoder(1024 * 1024);
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('no answer within 20 s'));
    }, 20_000);
    child.stderr.on('data', (d) => (stderr += d));
    let outcome;
    child.stdout.on('data', (chunk) => {
      if (outcome) return;
      const [reply] = decoder.push(chunk);
      if (reply === undefined) return;
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      clearTimeout(timer);
      outcome = reply.type === 'hello' ? { ms } : { error: new Error(`unexpected reply ${JSON.stringify(reply)}`) };
      child.kill('SIGKILL');
    });
    // Settle once the host is gone, so that no run overlaps the next one.
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (outcome?.error) reject(outcome.error);
      else if (outcome) resolvePromise(outcome.ms);
      else reject(new Error(`host exited (${code}) before answering: ${stderr.trim().split('\n').at(-1) ?? ''}`));
    });
    child.stdin.on('error', () => {});
    child.stdin.write(encodeFrame({ type: 'hello', id: 'bench', protocol: 1, client: 'bench' }));
  });
}

const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return { min: s[0], median, max: s.at(-1) };
};

try {
  for (const v of variants) await oneRun(v.argv); // warm the disk cache
  const times = variants.map(() => []);
  for (let i = 0; i < runs; i++) {
    // Interleaved, so that a busy moment does not land on one variant only.
    for (const [j, v] of variants.entries()) times[j].push(await oneRun(v.argv));
  }
  console.log(`Host start to first reply (hello), ${runs} runs each, Node ${process.version}:`);
  console.log(`  ${'variant'.padEnd(52)} ${'min'.padStart(8)} ${'median'.padStart(8)} ${'max'.padStart(8)}`);
  for (const [j, v] of variants.entries()) {
    const { min, median, max } = stats(times[j]);
    console.log(
      `  ${v.name.padEnd(52)} ${min.toFixed(0).padStart(6)}ms ${median.toFixed(0).padStart(6)}ms ${max.toFixed(0).padStart(6)}ms`,
    );
  }
  const speedup = stats(times[1]).median / stats(times[0]).median;
  console.log(`The bundle answers ${speedup.toFixed(1)}x faster than the sources under node --import tsx (median).`);
} catch (error) {
  console.error(`bench: ${error.message}`);
  process.exitCode = 1;
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}

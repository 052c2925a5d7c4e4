/**
 * `npm run bench [-- --runs N] [--no-browser]`: the host against the floor, in one
 * run, each pair interleaved (a busy moment lands on both sides), medians:
 *  1. start-up: the host started as a browser starts it (the launcher `install`
 *     wrote, the extension origin as argument) to its reply to `hello`, against a
 *     bare `node -e` that echoes one frame (goal: at most 1.3x);
 *  2. activation: the same start given `activate`, to `activated`, against a bare
 *     node that reads the frame, makes one verified HTTPS GET to the same License
 *     Service simulator, writes one keychain entry and replies (goal: at most 1.5x);
 *  3. key on the page to credentials stored, in headless Chromium with the built
 *     extension, against a trivial host that only acknowledges the key;
 *  4. one content-script scan after a burst of changes on a 10,000-node page
 *     (scripts/bench-scan.ts; goal: under 5 ms);
 *  5. the host's peak memory (and its keychain broker's).
 * The host measured is the packaged executable when `npm run release` has built
 * one (release/*.tar.gz, unpacked here; the floors then run its own Node
 * runtime), else the bundle (npm run build:host) under this node. Needs `npm
 * run build` (the extension) for 3, and gnome-keyring and dbus (scripts/setup.sh).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  ACTIVATION_FLOOR,
  activationFloorArgs,
  ECHO_FLOOR,
  median,
  spread,
  timeOneReply,
  type Timed,
} from './bench-host.ts';
import { fetchRuntime, NODE_RUNTIME_VERSION } from './release/runtime.ts';

const { values: flags } = parseArgs({
  options: { runs: { type: 'string', default: '15' }, 'no-browser': { type: 'boolean', default: false } },
  strict: true,
});
const runs = Number(flags.runs);
if (!Number.isInteger(runs) || runs < 1 || runs > 200) {
  console.error('bench: --runs takes a whole number from 1 to 200');
  process.exit(2);
}
const log = (line = '') => console.log(line);
const ratio = (host: number[], floor: number[]) => median(host) / median(floor);

// --- which host: the packaged executable when a release is built, else the bundle ---
const version = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;
const target = `${process.platform}-${process.arch}`;
const tarball = resolve(`release/devpay-companion-${version}-${target}.tar.gz`);
const unpacked = mkdtempSync(join(tmpdir(), 'devpay-bench-release-'));
let floorNode = process.execPath;
let hostLabel = `the bundle (dist/devpay-companion.mjs) under node ${process.version}`;
if (existsSync(tarball)) {
  execFileSync('tar', ['-xzf', tarball, '-C', unpacked]);
  // test/machine runs the CLI and the installer through it (read when the module loads, below).
  process.env.DEVPAY_TEST_EXECUTABLE = join(unpacked, `devpay-companion-${version}-${target}`, 'devpay-companion');
  floorNode = fetchRuntime(target as 'linux-x64', resolve('release/.cache')).binary;
  hostLabel = `the packaged executable from ${tarball.slice(process.cwd().length + 1)} (Node ${NODE_RUNTIME_VERSION}, code cache)`;
}
const { startCustomerMachine } = await import('../test/machine/customer-machine.ts');
const { benchBrowserPath } = await import('./bench-browser.ts');

log(`Host: ${hostLabel}; floors: bare node ${execFileSync(floorNode, ['--version']).toString().trim()}.`);
log(
  `${runs} pairs each, interleaved; ${process.platform}-${process.arch}, ${(await import('node:os')).cpus().length} cores, load average ${loadavg()[0]!.toFixed(1)}.`,
);

const machine = await startCustomerMachine({ label: 'bench' });
try {
  const install = await machine.install();
  if (install.code !== 0) throw new Error(`install failed: ${install.stderr}`);
  const manifest = JSON.parse(
    readFileSync(join(machine.userDataDir, 'NativeMessagingHosts', `${machine.config.nativeHostName}.json`), 'utf8'),
  ) as { path: string };
  const launcher = manifest.path;
  const origin = `chrome-extension://${machine.config.extensions.chromium[0]}/`;
  // What Chromium passes on: the customer's environment (the launcher pins the rest).
  const env = machine.env;
  const product = machine.config.products[0]!;
  const check = (what: string, t: Timed, type: string) => {
    if (t.reply.type !== type) throw new Error(`${what}: expected ${type}, got ${JSON.stringify(t.reply)}`);
    return t;
  };

  // --- 1. start-up ---
  const hello = { type: 'hello', id: 'bench', protocol: 1, client: 'bench' };
  const startHost: number[] = [];
  const startFloor: number[] = [];
  await timeOneReply(launcher, [origin], env, hello); // warm the disk cache
  for (let i = 0; i < runs; i++) {
    startHost.push(check('host hello', await timeOneReply(launcher, [origin], env, hello), 'hello').ms);
    startFloor.push((await timeOneReply(floorNode, ['-e', ECHO_FLOOR], env, hello)).ms);
  }
  log('\n1. Start-up to the reply to hello');
  log(`   host   ${spread(startHost)}`);
  log(`   floor  ${spread(startFloor)}   (bare node -e echoing one frame)`);
  log(`   ratio  ${ratio(startHost, startFloor).toFixed(2)}x   (goal: at most 1.3x)`);

  // --- 2. activation (and 5. memory) ---
  const actHost: number[] = [];
  const actFloor: number[] = [];
  const hostPeak: number[] = [];
  const brokerPeak: number[] = [];
  const floorArgs = activationFloorArgs({
    endpoint: machine.sim.licenseServiceUrl,
    caFile: machine.sim.caFile,
    productToken: product.productToken,
  });
  const activateMessage = () => ({
    type: 'activate',
    id: 'bench',
    key: machine.sim.purchase(product.code),
    productCode: product.code,
    capturedAt: Date.now(),
    replace: false,
  });
  for (let i = -1; i < runs; i++) {
    const forgot = await machine.cli(['forget', '--product', product.code]); // each run is a first activation
    if (forgot.code !== 0) throw new Error(`forget failed: ${forgot.stderr}`);
    const host = check('host activate', await timeOneReply(launcher, [origin], env, activateMessage()), 'activated');
    const floor = check(
      'floor activate',
      await timeOneReply(floorNode, ['-e', ACTIVATION_FLOOR, ...floorArgs], env, activateMessage()),
      'activated',
    );
    if (i < 0) continue; // warm-up pair
    actHost.push(host.ms);
    actFloor.push(floor.ms);
    hostPeak.push(host.peakKiB);
    brokerPeak.push(host.childPeakKiB);
  }
  log('\n2. Activation: activate to activated (License Service simulator over HTTPS, gnome-keyring)');
  log(`   host   ${spread(actHost)}`);
  log(`   floor  ${spread(actFloor)}   (bare node: read the frame, one verified HTTPS GET, one keychain write, reply)`);
  log(`   ratio  ${ratio(actHost, actFloor).toFixed(2)}x   (goal: at most 1.5x)`);

  // --- 3. key on the page to credentials stored ---
  let browserLine = 'not measured (--no-browser)';
  if (!flags['no-browser']) {
    log('\n3. Key on the page to credentials stored, headless Chromium with the built extension');
    const { real, trivial } = await benchBrowserPath(machine, { runs, launcher, nodePath: floorNode, log });
    log(`   host          ${spread(real)}`);
    log(`   trivial host  ${spread(trivial)}   (acknowledges the key, stores nothing)`);
    browserLine = `${ratio(real, trivial).toFixed(2)}x`;
    log(`   ratio  ${browserLine}`);
  }

  // --- 4. one scan ---
  log('\n4. One content-script scan after a burst of changes (scripts/bench-scan.ts)');
  const scan = execFileSync(
    process.execPath,
    ['--import', 'tsx', 'scripts/bench-scan.ts', '--runs', String(Math.max(40, runs))],
    { encoding: 'utf8' },
  );
  for (const line of scan.trim().split('\n')) log(`   ${line.trim()}`);

  // --- 5. memory ---
  const mib = (kib: number) => `${(kib / 1024).toFixed(1)} MiB`;
  log('\n5. Peak memory (VmHWM) at the activated reply');
  log(`   host    median ${mib(median(hostPeak))}, max ${mib(Math.max(...hostPeak))}`);
  log(
    `   broker  median ${mib(median(brokerPeak))}, max ${mib(Math.max(...brokerPeak))}   (the keychain's helper process)`,
  );

  // --- the release ---
  if (existsSync(tarball)) {
    const size = (path: string) =>
      existsSync(path) ? `${(statSync(path).size / 1024 / 1024).toFixed(1)} MiB` : 'not built';
    log('\nRelease sizes');
    log(`   executable  ${size(process.env.DEVPAY_TEST_EXECUTABLE!)}`);
    log(`   tarball     ${size(tarball)}`);
    log(`   .deb        ${size(resolve(`release/devpay-companion_${version}_amd64.deb`))}`);
  }
  log(
    `\nSummary: start-up ${ratio(startHost, startFloor).toFixed(2)}x, activation ${ratio(actHost, actFloor).toFixed(2)}x, key to stored ${browserLine} (load average now ${loadavg()[0]!.toFixed(1)}).`,
  );
} finally {
  await machine.close();
  rmSync(unpacked, { recursive: true, force: true });
}

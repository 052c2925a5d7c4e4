/**
 * `devpay-companion doctor` against a healthy setup (real bundled host behind the
 * installed launcher, real gnome-keyring, the License Service simulator over
 * verified HTTPS) and against each broken one, run as the customer runs it: the
 * CLI in its own process, --json parsed.
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseVendorConfig } from '../shared/config.ts';
import { EXIT } from '../native-host/cli/exit-codes.ts';
import type { InstallPlatform } from '../native-host/install/browsers.ts';
import { doctorReportJson, renderDoctorReport, runDoctor } from '../native-host/cli/doctor-command.ts';
import type { DoctorDeps } from '../native-host/doctor/types.ts';
import { installHost } from '../native-host/install/install.ts';
import { defaultInstallDir, launcherPath } from '../native-host/install/layout.ts';
import { startKeyring, type Keyring } from './machine/keyring.ts';
import { startSimulator, type Simulator } from './simulator/server.ts';
import { stringContaining } from './helpers/matchers.ts';

const execFileAsync = promisify(execFile);
const DEMO_PATH = resolve('shared/config/demo.json');
const DEMO_JSON = JSON.parse(readFileSync(DEMO_PATH, 'utf8')) as Record<string, unknown>;
const DEMO = parseVendorConfig(DEMO_JSON);
const HOST = DEMO.nativeHostName;
/** A private bundle of the current sources, so the test does not depend on (or disturb) dist/. */
const BUNDLE = resolve('node_modules/.cache/devpay-doctor-test/devpay-companion.mjs');

interface DoctorJson {
  ok: boolean;
  exitCode: number;
  checks: { id: string; title: string; status: string; detail: string; fix?: string }[];
}

let keyring: Keyring;
let simulator: Simulator;
const temps: string[] = [];

beforeAll(async () => {
  await build({
    entryPoints: ['native-host/main.ts'],
    outfile: BUNDLE,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['keytar'],
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    logLevel: 'warning',
  });
  [keyring, simulator] = await Promise.all([startKeyring(), startSimulator({ config: DEMO, port: 0 })]);
});

afterAll(async () => {
  await Promise.all([keyring?.stop(), simulator?.close()]);
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

interface Machine {
  root: string;
  home: string;
  xdg: string;
  profile: string;
  dataDir: string;
  env: NodeJS.ProcessEnv;
}

/** A customer's machine in a temp folder: no browser on PATH, Chromium's profile in $XDG_CONFIG_HOME/chromium. */
function machine(): Machine {
  const root = mkdtempSync(join(tmpdir(), 'devpay-doctor-'));
  temps.push(root);
  const home = join(root, 'home');
  const xdg = join(root, 'xdg');
  mkdirSync(home);
  const env: NodeJS.ProcessEnv = {
    HOME: home,
    XDG_CONFIG_HOME: xdg,
    XDG_DATA_HOME: join(home, '.local/share'),
    PATH: join(root, 'bin'),
    ...keyring.env,
  };
  return { root, home, xdg, profile: join(xdg, 'chromium'), dataDir: join(root, 'data'), env };
}

/** The CLI as a customer runs it; never throws, whatever the exit code. */
async function cli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(
      process.execPath,
      ['--import', 'tsx', resolve('native-host/main.ts'), ...args],
      { env, timeout: 25_000 },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

function globals(m: Machine, extra: string[] = []): string[] {
  return [
    '--data-dir',
    m.dataDir,
    '--license-service',
    simulator.licenseServiceUrl,
    '--ca-file',
    simulator.caFile,
    ...extra,
  ];
}

async function installFor(m: Machine, extra: string[] = []): Promise<void> {
  const result = await cli(
    [...globals(m, extra), 'install', '--user-data-dir', m.profile, '--host-script', BUNDLE],
    m.env,
  );
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
}

async function doctor(
  m: Machine,
  extra: string[] = [],
  env: NodeJS.ProcessEnv = m.env,
): Promise<{ code: number; report: DoctorJson }> {
  const result = await cli([...globals(m, extra), 'doctor', '--json'], env);
  return { code: result.code, report: JSON.parse(result.stdout) as DoctorJson };
}

function check(report: DoctorJson, id: string) {
  const found = report.checks.find((c) => c.id === id);
  if (!found) throw new Error(`no check ${id} in ${report.checks.map((c) => c.id).join(', ')}`);
  return found;
}

const manifestPath = (m: Machine) => join(m.profile, 'NativeMessagingHosts', `${HOST}.json`);

/** The resolved settings doctor is given: the demo configuration, this data folder, a License Service it never calls. */
function demoContext(dataDir: string) {
  return {
    ok: true as const,
    value: { config: DEMO, configPath: DEMO_PATH, dataDir, licenseService: 'https://ls.test/', caFile: undefined },
  };
}

describe('doctor, run as the customer runs it', () => {
  let m: Machine;
  beforeEach(async () => {
    m = machine();
    await installFor(m);
  });

  it('passes on a healthy setup: manifest, a host that answers hello, keychain, License Service, data folder', async () => {
    const { code, report } = await doctor(m);
    expect(report.checks.map((c) => [c.id, c.status])).toEqual([
      ['config', 'ok'],
      ['manifest:chromium', 'ok'],
      ['handshake', 'ok'],
      ['keychain', 'ok'],
      ['license-service', 'ok'],
      ['data-folder', 'ok'],
    ]);
    expect(check(report, 'handshake').detail).toMatch(/answered hello in \d+ ms/);
    expect(check(report, 'license-service').detail).toContain('verified HTTPS');
    expect(report.ok).toBe(true);
    expect(code).toBe(EXIT.OK);

    // The table says the same.
    const table = await cli([...globals(m), 'doctor'], m.env);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^ok +Host answers a browser +host \S+ answered hello/m);
    expect(table.stdout).toContain('Everything the companion needs works.');
  });

  it('fails when the manifest is missing, and says to install', async () => {
    rmSync(manifestPath(m));
    const { code, report } = await doctor(m);
    const manifest = check(report, 'manifest:chromium');
    expect(manifest.status).toBe('fail');
    expect(manifest.detail).toBe(`missing: ${manifestPath(m)}`);
    expect(manifest.fix).toContain('devpay-companion install --browser chromium');
    expect(check(report, 'handshake').status).toBe('fail');
    expect(code).toBe(EXIT.OTHER);
  });

  it('fails when the manifest lists another extension ID', async () => {
    const other = join(m.root, 'other-vendor.json');
    writeFileSync(
      other,
      JSON.stringify({ ...DEMO_JSON, extensions: { chromium: ['abcdefghijklmnopabcdefghijklmnop'], firefox: [] } }),
    );
    const { code, report } = await doctor(m, ['--config', other]);
    const manifest = check(report, 'manifest:chromium');
    expect(manifest.status).toBe('fail');
    expect(manifest.detail).toContain('"allowed_origins" lacks chrome-extension://abcdefghijklmnopabcdefghijklmnop/');
    expect(manifest.fix).toMatch(/install --browser chromium.*extension IDs/);
    expect(code).toBe(EXIT.OTHER);
  });

  it('fails when the launcher is not executable, with the chmod that fixes it', async () => {
    const launcher = (JSON.parse(readFileSync(manifestPath(m), 'utf8')) as { path: string }).path;
    chmodSync(launcher, 0o600);
    const { code, report } = await doctor(m);
    const manifest = check(report, 'manifest:chromium');
    expect(manifest.status).toBe('fail');
    expect(manifest.detail).toBe(`the launcher ${launcher} is not executable`);
    expect(manifest.fix).toContain(`chmod u+x ${launcher}`);
    expect(code).toBe(EXIT.OTHER);
  });

  it('fails when there is no keychain (no session bus)', async () => {
    const { code, report } = await doctor(m, [], {
      ...m.env,
      DBUS_SESSION_BUS_ADDRESS: `unix:path=${join(m.root, 'no-bus')}`,
    });
    const keychain = check(report, 'keychain');
    expect(keychain.status).toBe('fail');
    expect(keychain.detail).toMatch(/^KEYCHAIN_UNAVAILABLE: /);
    expect(keychain.fix).toMatch(/Secret Service/);
    expect(check(report, 'license-service').status).toBe('ok');
    expect(code).toBe(EXIT.STORAGE);
  });

  it('fails when the License Service is unreachable (a closed loopback port)', async () => {
    const port = await closedPort();
    const { code, report } = await doctor(m, ['--license-service', `https://127.0.0.1:${port}/`]);
    const service = check(report, 'license-service');
    expect(service.status).toBe('fail');
    expect(service.detail).toMatch(new RegExp(`^https://127\\.0\\.0\\.1:${port}/: SERVICE_UNAVAILABLE: `));
    expect(service.fix).toMatch(/network/);
    expect(check(report, 'keychain').status).toBe('ok');
    expect(code).toBe(EXIT.SERVICE);
  });

  it('fails when the License Service certificate is not trusted', async () => {
    const { code, report } = await cli(
      ['--data-dir', m.dataDir, '--license-service', simulator.licenseServiceUrl, 'doctor', '--json'],
      m.env,
    ).then((r) => ({
      code: r.code,
      report: JSON.parse(r.stdout) as DoctorJson,
    }));
    expect(check(report, 'license-service').detail).toContain('SERVICE_UNTRUSTED');
    expect(code).toBe(EXIT.SERVICE);
  });

  it('fails when the data folder is readable by other users', async () => {
    chmodSync(m.dataDir, 0o755);
    const { code, report } = await doctor(m);
    const data = check(report, 'data-folder');
    expect(data.status).toBe('fail');
    expect(data.detail).toContain(`${m.dataDir} (755)`);
    expect(data.fix).toBe(`run \`chmod -R go-rwx ${m.dataDir}\``);
    expect(code).toBe(EXIT.STORAGE);
  });

  it('fails with exit code 2 on an invalid configuration, and says what is wrong', async () => {
    const bad = join(m.root, 'bad.json');
    writeFileSync(bad, JSON.stringify({ ...DEMO_JSON, nativeHostName: 'Com.Upper' }));
    const { code, report } = await doctor(m, ['--config', bad]);
    expect(report.checks).toHaveLength(1);
    expect(report.checks[0]).toMatchObject({ id: 'config', status: 'fail' });
    expect(report.checks[0]!.detail).toContain('nativeHostName');
    expect(code).toBe(EXIT.USAGE);
  });
});

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

describe('runDoctor', () => {
  const okDeps: DoctorDeps = {
    probeKeychain: async () => ({ ok: true }),
    keychainService: (id) => `svc.${id}`,
    pingLicenseService: async () => ({ ok: true, requestId: 'r-1' }),
  };

  function layoutIn(root: string) {
    const home = join(root, 'home');
    mkdirSync(home, { recursive: true });
    const platform: InstallPlatform = {
      os: 'linux',
      home,
      env: { XDG_CONFIG_HOME: join(root, 'xdg'), PATH: join(root, 'bin') },
    };
    const dataDir = join(root, 'data');
    return {
      platform,
      dataDir,
      layout: {
        platform,
        scope: 'user' as const,
        config: DEMO,
        installDir: defaultInstallDir(platform, 'user', dataDir, DEMO.vendor.id),
      },
    };
  }

  it('reports a host that exits without answering, with the command to see why', async () => {
    const root = mkdtempSync(join(tmpdir(), 'devpay-doctor-unit-'));
    temps.push(root);
    const { platform, dataDir, layout } = layoutIn(root);
    const hostScript = join(root, 'crash.mjs');
    writeFileSync(hostScript, "process.stderr.write('boom: cannot start\\n'); process.exit(3);\n");
    await installHost({ layout, nodePath: process.execPath, hostScript, launcherEnv: {}, browsers: ['chromium'] });
    const report = await runDoctor(
      {
        context: demoContext(dataDir),
        platform,
        scope: 'user',
        installDir: layout.installDir,
      },
      okDeps,
    );
    const handshake = report.checks.find((c) => c.id === 'handshake')!;
    expect(handshake.status).toBe('fail');
    expect(handshake.detail).toContain('the host exited (code 3) without answering: boom: cannot start');
    expect(handshake.fix).toContain(`${launcherPath(layout)} chrome-extension://${DEMO.extensions.chromium[0]}/`);
    expect(report.exitCode).toBe(EXIT.OTHER);

    const table = renderDoctorReport(report);
    expect(table).toMatch(/^FAIL +Host answers a browser +.*exited/m);
    expect(table).toMatch(/^ +fix: run `.*` in a terminal/m);
    expect(JSON.parse(doctorReportJson(report))).toMatchObject({ ok: false, exitCode: EXIT.OTHER });
  });

  it('warns about a browser found but not registered, and fails when none is registered', async () => {
    const root = mkdtempSync(join(tmpdir(), 'devpay-doctor-unit-'));
    temps.push(root);
    const { platform, dataDir, layout } = layoutIn(root);
    mkdirSync(join(root, 'xdg', 'microsoft-edge'), { recursive: true });
    const report = await runDoctor(
      {
        context: demoContext(dataDir),
        platform,
        scope: 'user',
        installDir: layout.installDir,
      },
      okDeps,
    );
    expect(report.checks.find((c) => c.id === 'manifest:edge')).toMatchObject({
      status: 'warn',
      fix: stringContaining('install --browser edge'),
    });
    expect(report.checks.find((c) => c.id === 'browsers')).toMatchObject({ status: 'fail' });
    expect(report.ok).toBe(false);
  });

  it('checks a Flatpak registration and starts the launcher its wrapper relays to (Firefox-style arguments)', async () => {
    const root = mkdtempSync(join(tmpdir(), 'devpay-doctor-unit-'));
    temps.push(root);
    const { platform, dataDir, layout } = layoutIn(root);
    mkdirSync(join(platform.home, '.var/app/org.mozilla.firefox'), { recursive: true });
    await installHost({
      layout,
      nodePath: process.execPath,
      hostScript: BUNDLE,
      launcherEnv: { DEVPAY_CONFIG: DEMO_PATH, DEVPAY_DATA_DIR: dataDir },
      flatpak: true,
    });
    const report = await runDoctor(
      {
        context: demoContext(dataDir),
        platform,
        scope: 'user',
        installDir: layout.installDir,
      },
      okDeps,
    );
    expect(report.checks.map((c) => [c.id, c.status])).toEqual([
      ['config', 'ok'],
      ['manifest:firefox-flatpak', 'ok'],
      ['sandbox:org.mozilla.firefox', 'warn'],
      ['handshake', 'ok'],
      ['keychain', 'ok'],
      ['license-service', 'ok'],
      ['data-folder', 'ok'],
    ]);
    expect(report.checks.find((c) => c.id === 'handshake')!.detail).toContain(launcherPath(layout));
    expect(report.checks.find((c) => c.id === 'sandbox:org.mozilla.firefox')!.fix).toContain(
      'flatpak override --user --talk-name=org.freedesktop.Flatpak org.mozilla.firefox',
    );
    expect(report.ok).toBe(true);
  });

  it('lets the first failing line decide the exit code', async () => {
    const root = mkdtempSync(join(tmpdir(), 'devpay-doctor-unit-'));
    temps.push(root);
    const { platform, dataDir, layout } = layoutIn(root);
    await installHost({
      layout,
      nodePath: process.execPath,
      hostScript: BUNDLE,
      launcherEnv: { DEVPAY_CONFIG: DEMO_PATH, DEVPAY_DATA_DIR: dataDir },
      browsers: ['chromium'],
    });
    const report = await runDoctor(
      {
        context: demoContext(dataDir),
        platform,
        scope: 'user',
        installDir: layout.installDir,
        env: { ...process.env, ...keyring.env },
      },
      {
        ...okDeps,
        probeKeychain: async () => ({ ok: false, code: 'KEYCHAIN_LOCKED', message: 'The keychain is locked.' }),
        pingLicenseService: async () => ({ ok: false, code: 'SERVICE_UNTRUSTED', message: 'not trusted' }),
      },
    );
    expect(report.checks.filter((c) => c.status === 'fail').map((c) => c.id)).toEqual(['keychain', 'license-service']);
    expect(report.checks.find((c) => c.id === 'keychain')!.fix).toMatch(/unlock your login keyring/);
    expect(report.checks.find((c) => c.id === 'license-service')!.fix).toMatch(/clock/);
    expect(report.exitCode).toBe(EXIT.STORAGE);
  });
});

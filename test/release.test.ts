/**
 * What `npm run release` ships, tested as a customer gets it: the release is
 * built once (for a test vendor of its own, so its system-wide registration can
 * disturb no other test), the .deb installed with dpkg (or, where dpkg cannot
 * be used, the tarball unpacked and registered per user), and a purchase run in
 * Chromium with the packaged executable as the host and no Node on the
 * browser's PATH. The store zips are checked as the stores would.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, readlink, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import JSZip from 'jszip';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VendorConfig } from '../shared/config.ts';
import { DEB_COMMAND, DEB_INSTALL_DIR, systemManifests } from '../scripts/release/deb.ts';
import type { ExtensionBrowser } from './machine/browser.ts';
import { DEMO_CONFIG } from './machine/companion.ts';
import { waitFor } from './machine/wait.ts';
import { startCustomerMachine, type CustomerMachine } from './machine/customer-machine.ts';

const run = promisify(execFile);
const VERSION = (JSON.parse(await readFile('package.json', 'utf8')) as { version: string }).version;
const BACKUP = 'ACMEBK01';
const EXE_NAME = 'devpay-companion';

let root: string;
let out: string;
let config: VendorConfig;
let configPath: string;
let extensionDir: string;
/** The executable the browsers are registered with. */
let exe: string;
let installedWithDpkg = false;
let world: CustomerMachine | undefined;
let browser: ExtensionBrowser | undefined;
/** A PATH with nothing on it: no node, no npm. */
let emptyPath: string;

/** Chromium's ID for an unpacked extension without `key`: from its absolute path, as for a store zip loaded unpacked. */
function unpackedExtensionId(path: string): string {
  const hex = createHash('sha256').update(path).digest('hex').slice(0, 32);
  return hex
    .split('')
    .map((c) => String.fromCharCode(97 + parseInt(c, 16)))
    .join('');
}

async function unzip(zipFile: string, dir: string): Promise<string[]> {
  const zip = await JSZip.loadAsync(await readFile(zipFile));
  const names: string[] = [];
  for (const entry of Object.values(zip.files)) {
    if (entry.dir) continue;
    names.push(entry.name);
    await mkdir(join(dir, entry.name, '..'), { recursive: true });
    await writeFile(join(dir, entry.name), await entry.async('nodebuffer'));
  }
  return names;
}

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the packaged executable; env replaces the environment entirely. */
function runExe(args: string[], env: NodeJS.ProcessEnv, program = exe): Promise<Result> {
  return new Promise((done) => {
    const child = spawn(program, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}

/** The customer's environment for the executable: the world's services, its own configuration (beside it), no Node on PATH. */
function customerEnv(): NodeJS.ProcessEnv {
  const { DEVPAY_CONFIG: _fromTheWorld, ...env } = world!.env;
  return { ...env, PATH: emptyPath };
}

/** Host processes (the executable or its keychain broker) still running for this world's data folder. */
async function runningPackagedHosts(): Promise<number[]> {
  const mine: number[] = [];
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const target = await readlink(`/proc/${pid}/exe`).catch(() => '');
    if (target !== exe && !target.endsWith(`/${EXE_NAME}`)) continue;
    const environ = await readFile(`/proc/${pid}/environ`, 'latin1').catch(() => '');
    if (environ.split('\0').includes(`DEVPAY_DATA_DIR=${world!.dataDir}`)) mine.push(Number(pid));
  }
  return mine;
}

/** dpkg, waiting out another package operation on the machine (it holds dpkg's lock); false when dpkg cannot be used here. */
async function dpkg(args: string[]): Promise<boolean> {
  if (process.getuid?.() !== 0) return false;
  for (let attempt = 0; ; attempt++) {
    try {
      await run('dpkg', args);
      return true;
    } catch (error) {
      const said = String((error as { stderr?: string }).stderr ?? error);
      if (!/lock/i.test(said) || attempt >= 30) {
        console.warn(`dpkg ${args.join(' ')} failed: ${said.trim().split('\n')[0]}`);
        return false;
      }
      await new Promise((r) => setTimeout(r, 3_000));
    }
  }
}

beforeAll(async () => {
  root = await realpath(await mkdtemp(join(tmpdir(), 'devpay-release-')));
  emptyPath = join(root, 'empty-path');
  await mkdir(emptyPath);
  extensionDir = join(root, 'chrome-extension');
  // A vendor of its own: its system-wide manifests name a host no other test uses.
  const demo = JSON.parse(await readFile(DEMO_CONFIG, 'utf8')) as VendorConfig & { $comment?: string };
  config = {
    ...demo,
    vendor: { ...demo.vendor, id: 'acme-release-test' },
    nativeHostName: 'com.acme_demo.devpay_release_test',
    extensions: { ...demo.extensions, chromium: [unpackedExtensionId(extensionDir)] },
  };
  configPath = join(root, 'vendor-config.json');
  await writeFile(configPath, JSON.stringify(config, null, 2));
  out = join(root, 'release');
  await run(
    process.execPath,
    [resolve('node_modules/tsx/dist/cli.mjs'), 'scripts/release/main.ts', '--config', configPath, '--out', out],
    { maxBuffer: 1 << 24 },
  );
  await unzip(join(out, `extension-chrome-${VERSION}.zip`), extensionDir);

  world = await startCustomerMachine({ configPath, label: 'release' });
  if (await dpkg(['-i', join(out, `${EXE_NAME}_${VERSION}_amd64.deb`)])) {
    installedWithDpkg = true;
    exe = join(DEB_INSTALL_DIR, EXE_NAME);
  } else {
    // Where dpkg cannot be used: the tarball.
    await run('tar', ['-xzf', join(out, `${EXE_NAME}-${VERSION}-linux-x64.tar.gz`), '-C', root]);
    exe = join(root, `${EXE_NAME}-${VERSION}-linux-x64`, EXE_NAME);
  }
  // A browser-started host takes its License Service and trust only from the vendor configuration and what
  // install pinned, never from the browser's environment; the system-wide registration (checked below to
  // name the executable itself) can only reach the configured endpoint through the system's roots. So the
  // purchase runs through the executable's own per-user install, which pins the simulator and its CA as
  // development installs do; Chromium prefers the profile's registration to the system one.
  const installed = await runExe(
    ['install', '--browser', 'chromium', '--user-data-dir', world.userDataDir],
    customerEnv(),
  );
  if (installed.code !== 0) throw new Error(`install failed (exit ${installed.code}): ${installed.stderr}`);
}, 900_000);

afterAll(async () => {
  await browser?.close().catch(() => {});
  await world?.close();
  // --purge also drops the package's entry that its postrm keeps for a later purge.
  if (installedWithDpkg || process.getuid?.() === 0) await dpkg(['--purge', 'devpay-companion']);
  if (root) await rm(root, { recursive: true, force: true });
});

describe('the release folder', () => {
  it('holds the tarball, the .deb, the store zips and their SHA256SUMS', async () => {
    const sums = (await readFile(join(out, 'SHA256SUMS'), 'utf8')).trim().split('\n');
    const names = sums.map((line) => line.split(/\s+/)[1] ?? '');
    expect(names.sort()).toEqual(
      [
        `${EXE_NAME}-${VERSION}-linux-x64.tar.gz`,
        `${EXE_NAME}_${VERSION}_amd64.deb`,
        `extension-chrome-${VERSION}.zip`,
        `extension-firefox-${VERSION}.zip`,
        `extension-firefox-${VERSION}-sources.zip`,
      ].sort(),
    );
    for (const line of sums) {
      const [hash, name] = line.split(/\s+/);
      expect(
        createHash('sha256')
          .update(await readFile(join(out, name!)))
          .digest('hex'),
        name,
      ).toBe(hash);
    }
  });

  it('the tarball unpacks to one folder: executable, keychain addon, configuration, README, licences', async () => {
    const { stdout } = await run('tar', ['-tzf', join(out, `${EXE_NAME}-${VERSION}-linux-x64.tar.gz`)]);
    const folder = `${EXE_NAME}-${VERSION}-linux-x64/`;
    expect(stdout.trim().split('\n').sort()).toEqual(
      [
        folder,
        ...['LICENSES.txt', 'README.txt', EXE_NAME, 'keytar.node', 'vendor-config.json'].map((f) => folder + f),
      ].sort(),
    );
  });

  it('the Chrome zip has no manifest key; the Firefox zip has its add-on ID', async () => {
    const chrome = JSON.parse(await readFile(join(extensionDir, 'manifest.json'), 'utf8')) as Record<string, unknown>;
    expect(chrome).not.toHaveProperty('key');
    expect(chrome.version).toBe(VERSION);
    const firefox = await JSZip.loadAsync(await readFile(join(out, `extension-firefox-${VERSION}.zip`)));
    const manifest = JSON.parse(await firefox.file('manifest.json')!.async('string')) as {
      browser_specific_settings: { gecko: { id: string } };
    };
    expect(manifest.browser_specific_settings.gecko.id).toBe(config.extensions.firefox[0]);
  });

  it('the Firefox zip passes web-ext lint', async () => {
    const dir = join(root, 'firefox-extension');
    await unzip(join(out, `extension-firefox-${VERSION}.zip`), dir);
    const lint = await run(
      process.execPath,
      [
        resolve('node_modules/web-ext/bin/web-ext.js'),
        'lint',
        '--source-dir',
        dir,
        '--output',
        'json',
        '--no-config-discovery',
      ],
      {
        maxBuffer: 1 << 24,
      },
    ).catch((error: { stdout: string }) => error);
    const report = JSON.parse(lint.stdout) as { summary: { errors: number }; errors: unknown[] };
    expect(report.errors).toEqual([]);
    expect(report.summary.errors).toBe(0);
  }, 120_000);

  it('the sources zip says how to rebuild and holds nothing private, no host and no tests', async () => {
    const zip = await JSZip.loadAsync(await readFile(join(out, `extension-firefox-${VERSION}-sources.zip`)));
    const names = Object.keys(zip.files).filter((n) => !zip.files[n]!.dir);
    expect(names).toContain('BUILD.md');
    expect(names).toContain('wxt.config.ts');
    expect(await zip.file('BUILD.md')!.async('string')).toMatch(/wxt build -b firefox --mv3/);
    expect(names.filter((n) => /\.(pem|key|p12)$|^(native-host|test|scripts)\//.test(n))).toEqual([]);
    expect(JSON.parse(await zip.file('vendor-config.json')!.async('string'))).toEqual(config);
  });
});

describe('the executable', () => {
  it('answers --version with no Node on PATH', async () => {
    const result = await runExe(['--version'], { PATH: emptyPath });
    expect(result).toMatchObject({ code: 0, stdout: `${VERSION}\n` });
  });

  it('ignores NODE_OPTIONS: --require cannot inject code', async () => {
    const marker = join(root, 'injected');
    const evil = join(root, 'evil.cjs');
    await writeFile(
      evil,
      `require('node:fs').writeFileSync(${JSON.stringify(marker)}, 'ran'); console.log('INJECTED');`,
    );
    const result = await runExe(['--version'], { PATH: emptyPath, NODE_OPTIONS: `--require=${evil}` });
    expect(result).toMatchObject({ code: 0, stdout: `${VERSION}\n` });
    expect(existsSync(marker)).toBe(false);
  });

  it('doctor --json passes: registration, the host answering, keychain, License Service, data folder', async () => {
    const scope = installedWithDpkg ? ['--system'] : ['--user-data-dir', world!.userDataDir];
    const result = await runExe(['doctor', '--json', '--browser', 'chromium', ...scope], customerEnv());
    const report = JSON.parse(result.stdout) as {
      ok: boolean;
      checks: { id: string; status: string; detail: string }[];
    };
    expect(
      report.checks.filter((c) => c.status === 'fail'),
      result.stdout,
    ).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.checks.find((c) => c.id === 'handshake')?.detail).toContain(exe);
    expect(result.code).toBe(0);
  });
});

describe('the tarball, per user', () => {
  it('install registers a launcher that starts the executable alone, and doctor finds the host answering', async () => {
    const dir = join(root, 'per-user');
    await mkdir(dir);
    await run('tar', ['-xzf', join(out, `${EXE_NAME}-${VERSION}-linux-x64.tar.gz`), '-C', dir]);
    const unpacked = join(dir, `${EXE_NAME}-${VERSION}-linux-x64`, EXE_NAME);
    const profile = join(dir, 'profile');
    // A customer of its own: nothing of this install may reach the world's browser profile.
    const env = {
      ...customerEnv(),
      HOME: dir,
      XDG_CONFIG_HOME: join(dir, '.config'),
      DEVPAY_DATA_DIR: join(dir, 'data'),
    };
    const installed = await runExe(['install', '--browser', 'chromium', '--user-data-dir', profile], env, unpacked);
    expect(installed.code, installed.stderr).toBe(0);
    const manifest = JSON.parse(
      await readFile(join(profile, 'NativeMessagingHosts', `${config.nativeHostName}.json`), 'utf8'),
    ) as { path: string };
    const launcher = await readFile(manifest.path, 'utf8');
    // The executable alone: no Node before it.
    expect(launcher.split('\n').filter((line) => line.startsWith('exec '))).toEqual([`exec '${unpacked}' "$@"`]);
    const doctor = await runExe(
      ['doctor', '--json', '--browser', 'chromium', '--user-data-dir', profile],
      env,
      unpacked,
    );
    const report = JSON.parse(doctor.stdout) as { checks: { id: string; status: string; detail: string }[] };
    expect(
      report.checks.find((c) => c.id === 'handshake'),
      doctor.stdout,
    ).toMatchObject({ status: 'ok' });
  });
});

describe('a purchase with the packaged host', () => {
  it('the package points Chromium straight at the executable: no launcher, no Node', async (ctx) => {
    if (!installedWithDpkg) ctx.skip('dpkg cannot be used here: the tarball was tested instead');
    const manifest = JSON.parse(
      await readFile(`/etc/chromium/native-messaging-hosts/${config.nativeHostName}.json`, 'utf8'),
    ) as { path: string };
    expect(manifest.path).toBe(exe);
    expect(await realpath(DEB_COMMAND)).toBe(exe);
  });

  it('activates the product in Chromium, with no Node on the browser PATH, and leaves nothing at rest', async () => {
    const env = customerEnv();
    expect(await readdir(emptyPath)).toEqual([]);
    // The browser (and so the host it starts) sees the customer's environment: no Node, the configuration beside the executable.
    world!.env.PATH = emptyPath;
    delete world!.env.DEVPAY_CONFIG;
    browser = await world!.launch({ extensionDir });
    expect(browser.extensionId).toBe(config.extensions.chromium[0]);
    const page = await browser.context.newPage();
    await world!.buy(page, BACKUP);
    const status = async () =>
      JSON.parse((await runExe(['status', '--json'], env)).stdout) as {
        products: { code: string; activated: boolean }[];
      };
    await waitFor(async () => (await status()).products.find((p) => p.code === BACKUP)?.activated === true, {
      what: 'the product to be activated',
      timeoutMs: 45_000,
    }).catch(async (error: Error) => {
      const popup = await browser!.context.newPage();
      await popup.goto(browser!.popupUrl);
      await popup.waitForSelector('#app[data-loaded]').catch(() => {});
      const shown = await popup
        .locator('body')
        .innerText()
        .catch(() => '');
      throw new Error(
        `${error.message}; License Service requests: ${world!.sim.requests.length}; the popup says: ${shown.slice(0, 600)}`,
      );
    });

    const credentials = await runExe(['credentials', '--product', BACKUP], env);
    expect(credentials.code, credentials.stderr).toBe(0);
    expect(JSON.parse(credentials.stdout)).toEqual(world!.issuedCredentialProcess(BACKUP));

    await browser.close();
    browser = undefined;
    await waitFor(async () => (await runningPackagedHosts()).length === 0, {
      timeoutMs: 5_000,
      what: 'the packaged hosts to exit',
    });
    expect(await world!.findAtRest(world!.secrets())).toEqual([]);
  }, 120_000);
});

describe('removing the package', () => {
  it('dpkg -r leaves no manifest and no command behind', async (ctx) => {
    if (!installedWithDpkg) ctx.skip('dpkg cannot be used here: the tarball was tested instead');
    const manifests = systemManifests(config).map((m) => m.path);
    expect(manifests).toContain(`/etc/chromium/native-messaging-hosts/${config.nativeHostName}.json`);
    expect(manifests).toContain(`/usr/lib/mozilla/native-messaging-hosts/${config.nativeHostName}.json`);
    for (const m of manifests) expect(existsSync(m), m).toBe(true);
    expect(await dpkg(['-r', 'devpay-companion'])).toBe(true);
    installedWithDpkg = false;
    for (const m of manifests) expect(existsSync(m), m).toBe(false);
    expect(existsSync(DEB_COMMAND)).toBe(false);
    expect(existsSync(DEB_INSTALL_DIR)).toBe(false);
  });
});

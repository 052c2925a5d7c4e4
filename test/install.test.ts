/**
 * install / uninstall into temporary homes, for every browser layout on Linux and
 * macOS (paths computed for the platform under test), system-wide into a temp root,
 * the Windows registry commands as built, and the CLI end to end.
 */
import { execFile } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseVendorConfig, type VendorConfig } from '../shared/config.ts';
import {
  BROWSERS,
  detectBrowsers,
  type BrowserId,
  type InstallPlatform,
  type OsName,
  type Scope,
} from '../native-host/install/browsers.ts';
import {
  defaultHostScript,
  installForContext,
  launcherEnvironment,
  uninstallForContext,
} from '../native-host/install/this-machine.ts';
import { resolveSettings as resolveHostContext } from '../native-host/settings.ts';
import { InstallError } from '../native-host/install/errors.ts';
import { installHost } from '../native-host/install/install.ts';
import {
  defaultInstallDir,
  launcherPath,
  planTargets,
  recordPath,
  type HostLayout,
} from '../native-host/install/layout.ts';
import { uninstallHost } from '../native-host/install/uninstall.ts';
import { buildLauncherScript } from '../native-host/install/launcher.ts';
import { detectSandboxedBrowsers } from '../native-host/install/sandbox.ts';
import {
  parseRegQueryDefault,
  regAddCommand,
  regDeleteCommand,
  type RegArgv,
  type RegResult,
} from '../native-host/install/windows.ts';
import { stringMatching } from './helpers/matchers.ts';

const execFileAsync = promisify(execFile);
const DEMO = parseVendorConfig(JSON.parse(readFileSync('shared/config/demo.json', 'utf8')));
const HOST = DEMO.nativeHostName;
const CHROMIUM_ORIGIN = `chrome-extension://${DEMO.extensions.chromium[0]}/`;
const FIREFOX_ID = DEMO.extensions.firefox[0]!;

const temps: string[] = [];
function tempDir(prefix = 'devpay-install-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

/** A stand-in host program: prints its argv and the pinned settings, so the launcher can be run for real. */
function fakeHost(dir: string): string {
  const path = join(dir, 'host.mjs');
  writeFileSync(
    path,
    `process.stdout.write(JSON.stringify({ argv: process.argv.slice(2), config: process.env.DEVPAY_CONFIG ?? null, dataDir: process.env.DEVPAY_DATA_DIR ?? null }));\n`,
  );
  return path;
}

interface Setup {
  root: string;
  home: string;
  platform: InstallPlatform;
  layout: HostLayout;
  hostScript: string;
}

function setup(os: OsName, scope: Scope, options: { xdg?: boolean; config?: VendorConfig; home?: string } = {}): Setup {
  const root = tempDir();
  const home = options.home ?? join(root, 'home');
  mkdirSync(home, { recursive: true });
  const env: Record<string, string> = { PATH: join(root, 'bin') };
  if (options.xdg) env.XDG_CONFIG_HOME = join(root, 'xdg');
  const platform: InstallPlatform = { os, home, env, root: join(root, 'sysroot') };
  const config = options.config ?? DEMO;
  const layout: HostLayout = {
    platform,
    scope,
    config,
    installDir: defaultInstallDir(platform, scope, join(home, 'data', config.vendor.id), config.vendor.id),
  };
  return { root, home, platform, layout, hostScript: fakeHost(root) };
}

function install(s: Setup, extra: Partial<Parameters<typeof installHost>[0]> = {}) {
  return installHost({
    layout: s.layout,
    nodePath: process.execPath,
    hostScript: s.hostScript,
    launcherEnv: { DEVPAY_CONFIG: '/opt/vendor/vendor-config.json', DEVPAY_DATA_DIR: join(s.home, 'data') },
    ...extra,
  });
}

function readJson(path: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
}

/** Every file under a folder, relative to it (for "nothing else was written"). */
function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

// Where each browser must find the manifest: written out by hand from the browsers' documentation.
const LINUX_USER: Record<BrowserId, string> = {
  chrome: '{config}/google-chrome/NativeMessagingHosts',
  'chrome-beta': '{config}/google-chrome-beta/NativeMessagingHosts',
  'chrome-dev': '{config}/google-chrome-unstable/NativeMessagingHosts',
  'chrome-canary': '{config}/google-chrome-canary/NativeMessagingHosts',
  chromium: '{config}/chromium/NativeMessagingHosts',
  edge: '{config}/microsoft-edge/NativeMessagingHosts',
  brave: '{config}/BraveSoftware/Brave-Browser/NativeMessagingHosts',
  vivaldi: '{config}/vivaldi/NativeMessagingHosts',
  opera: '{config}/opera/NativeMessagingHosts',
  firefox: '{home}/.mozilla/native-messaging-hosts',
  librewolf: '{home}/.librewolf/native-messaging-hosts',
  waterfox: '{home}/.waterfox/native-messaging-hosts',
};
const LINUX_SYSTEM: Record<BrowserId, string | null> = {
  chrome: '/etc/opt/chrome/native-messaging-hosts',
  'chrome-beta': '/etc/opt/chrome/native-messaging-hosts',
  'chrome-dev': '/etc/opt/chrome/native-messaging-hosts',
  'chrome-canary': '/etc/opt/chrome/native-messaging-hosts',
  chromium: '/etc/chromium/native-messaging-hosts',
  edge: '/etc/opt/edge/native-messaging-hosts',
  brave: '/etc/brave/native-messaging-hosts',
  vivaldi: '/etc/opt/vivaldi/native-messaging-hosts',
  opera: null,
  firefox: '/usr/lib/mozilla/native-messaging-hosts',
  librewolf: '/usr/lib/librewolf/native-messaging-hosts',
  waterfox: '/usr/lib/waterfox/native-messaging-hosts',
};
const MAC_USER: Record<BrowserId, string> = {
  chrome: 'Google/Chrome/NativeMessagingHosts',
  'chrome-beta': 'Google/Chrome Beta/NativeMessagingHosts',
  'chrome-dev': 'Google/Chrome Dev/NativeMessagingHosts',
  'chrome-canary': 'Google/Chrome Canary/NativeMessagingHosts',
  chromium: 'Chromium/NativeMessagingHosts',
  edge: 'Microsoft Edge/NativeMessagingHosts',
  brave: 'BraveSoftware/Brave-Browser/NativeMessagingHosts',
  vivaldi: 'Vivaldi/NativeMessagingHosts',
  opera: 'com.operasoftware.Opera/NativeMessagingHosts',
  firefox: 'Mozilla/NativeMessagingHosts',
  librewolf: 'LibreWolf/NativeMessagingHosts',
  waterfox: 'Waterfox/NativeMessagingHosts',
};
const MAC_SYSTEM: Record<BrowserId, string | null> = {
  chrome: '/Library/Google/Chrome/NativeMessagingHosts',
  'chrome-beta': '/Library/Google/Chrome/NativeMessagingHosts',
  'chrome-dev': '/Library/Google/Chrome/NativeMessagingHosts',
  'chrome-canary': '/Library/Google/Chrome/NativeMessagingHosts',
  chromium: '/Library/Application Support/Chromium/NativeMessagingHosts',
  edge: '/Library/Microsoft/Edge/NativeMessagingHosts',
  brave: '/Library/Application Support/BraveSoftware/Brave-Browser/NativeMessagingHosts',
  vivaldi: '/Library/Application Support/Vivaldi/NativeMessagingHosts',
  opera: null,
  firefox: '/Library/Application Support/Mozilla/NativeMessagingHosts',
  librewolf: '/Library/Application Support/LibreWolf/NativeMessagingHosts',
  waterfox: '/Library/Application Support/Waterfox/NativeMessagingHosts',
};

function expectedDir(s: Setup, os: OsName, scope: Scope, id: BrowserId): string | null {
  const sysroot = s.platform.root!;
  if (os === 'linux') {
    if (scope === 'system') return LINUX_SYSTEM[id] && join(sysroot, LINUX_SYSTEM[id]);
    const config = s.platform.env.XDG_CONFIG_HOME ?? join(s.home, '.config');
    return LINUX_USER[id].replace('{config}', config).replace('{home}', s.home);
  }
  if (scope === 'system') return MAC_SYSTEM[id] && join(sysroot, MAC_SYSTEM[id]);
  return join(s.home, 'Library/Application Support', MAC_USER[id]);
}

const LAYOUTS: { os: OsName; scope: Scope; xdg: boolean }[] = [
  { os: 'linux', scope: 'user', xdg: true },
  { os: 'linux', scope: 'user', xdg: false },
  { os: 'linux', scope: 'system', xdg: false },
  { os: 'darwin', scope: 'user', xdg: false },
  { os: 'darwin', scope: 'system', xdg: false },
];

/** Whether the browser has a manifest folder for this OS and scope (some have no documented system-wide one). */
const hasManifestFolder = (os: OsName, scope: Scope, id: BrowserId) =>
  scope === 'user' || (os === 'linux' ? LINUX_SYSTEM : MAC_SYSTEM)[id] !== null;

describe.each(LAYOUTS)('install and uninstall: $os $scope (XDG_CONFIG_HOME set: $xdg)', ({ os, scope, xdg }) => {
  const ids = BROWSERS.map((b) => b.id);
  it.each(ids.filter((id) => !hasManifestFolder(os, scope, id)))('%s: refused, writing nothing', async (id) => {
    const s = setup(os, scope, { xdg });
    expect(expectedDir(s, os, scope, id)).toBeNull();
    await expect(install(s, { browsers: [id] })).rejects.toThrow(/no documented system-wide manifest folder/);
    expect(listFiles(s.root).filter((f) => !f.endsWith('host.mjs'))).toEqual([]);
  });

  it.each(ids.filter((id) => hasManifestFolder(os, scope, id)))('%s', async (id) => {
    const s = setup(os, scope, { xdg });
    const dir = expectedDir(s, os, scope, id);
    expect(dir).not.toBeNull();
    const report = await install(s, { browsers: [id] });
    const manifestPath = join(dir!, `${HOST}.json`);
    expect(report.manifests.map((m) => m.path)).toEqual([manifestPath]);

    const manifest = readJson(manifestPath);
    const family = BROWSERS.find((b) => b.id === id)!.family;
    expect(manifest).toEqual({
      name: HOST,
      description: `${DEMO.vendor.name} activation companion`,
      path: launcherPath(s.layout),
      type: 'stdio',
      ...(family === 'chromium' ? { allowed_origins: [CHROMIUM_ORIGIN] } : { allowed_extensions: [FIREFOX_ID] }),
    });
    expect(statSync(manifestPath).mode & 0o777).toBe(0o644);
    const launcherMode = statSync(report.launcher).mode & 0o777;
    expect(launcherMode).toBe(scope === 'system' ? 0o755 : 0o700);
    // System-wide, the launcher is under the (fake) system root.
    expect(scope === 'user' || report.launcher.startsWith(s.platform.root!)).toBe(true);
    const record = statSync(recordPath(s.layout));
    expect(record.mode & 0o777).toBe(0o600);

    const uninstalled = await uninstallHost({ layout: s.layout });
    expect(uninstalled.complete).toBe(true);
    expect(uninstalled.removed).toEqual(expect.arrayContaining([manifestPath, report.launcher, recordPath(s.layout)]));
    // Nothing left but the fake host program: every folder install created is gone too.
    expect(listFiles(s.root)).toEqual(['host.mjs']);
    expect(readdirSync(s.root).sort()).toEqual(scope === 'system' ? ['home', 'host.mjs'] : ['home', 'host.mjs']);
  });
});

describe('the launcher', () => {
  it('runs the host with the absolute Node path, the pinned settings and the browser arguments, from an awkward folder', async () => {
    const s = setup('linux', 'user', { home: join(tempDir(), "it's a home (with spaces) & $HOME") });
    const report = await install(s, { browsers: ['chromium'] });
    const text = readFileSync(report.launcher, 'utf8');
    expect(text.startsWith('#!/bin/sh\n')).toBe(true);
    expect(text).toContain(`exec '${process.execPath}' `);
    // Started the way a browser starts it: no PATH at all, so only an absolute node path works.
    const { stdout } = await execFileAsync(report.launcher, [CHROMIUM_ORIGIN, '--parent-window=0'], { env: {} });
    expect(JSON.parse(stdout)).toEqual({
      argv: [CHROMIUM_ORIGIN, '--parent-window=0'],
      config: '/opt/vendor/vendor-config.json',
      dataDir: join(s.home, 'data'),
    });
  });

  it('is a batch file on Windows that sets the settings and passes %*', () => {
    const text = buildLauncherScript({
      os: 'win32',
      nodePath: 'C:\\Program Files\\nodejs\\node.exe',
      hostScript: 'C:\\Users\\Ann\\AppData\\Local\\DevPay\\devpay-companion.mjs',
      env: { DEVPAY_CONFIG: 'C:\\Users\\Ann\\vendor-config.json' },
    });
    expect(text.split('\r\n')).toEqual([
      '@echo off',
      expect.stringMatching(/^rem /),
      'setlocal',
      'set "DEVPAY_CONFIG=C:\\Users\\Ann\\vendor-config.json"',
      '"C:\\Program Files\\nodejs\\node.exe" "C:\\Users\\Ann\\AppData\\Local\\DevPay\\devpay-companion.mjs" %*',
      '',
    ]);
    expect(() =>
      buildLauncherScript({ os: 'win32', nodePath: 'C:\\100%\\node.exe', hostScript: 'C:\\h.mjs', env: {} }),
    ).toThrow(/cannot quote/);
  });

  it('pins the configuration and data folder, and always the License Service and CA (a browser-started host trusts nothing else)', () => {
    const ctx = {
      config: DEMO,
      configPath: '/c.json',
      dataDir: '/d',
      licenseService: DEMO.licenseService,
      caFile: undefined,
    };
    const pinnedDefault = { DEVPAY_PINNED_LICENSE_SERVICE: DEMO.licenseService, DEVPAY_PINNED_CA_FILE: 'none' };
    expect(launcherEnvironment(ctx, 'user')).toEqual({
      DEVPAY_CONFIG: '/c.json',
      DEVPAY_DATA_DIR: '/d',
      ...pinnedDefault,
    });
    expect(launcherEnvironment(ctx, 'system')).toEqual({ DEVPAY_CONFIG: '/c.json', ...pinnedDefault });
    expect(launcherEnvironment({ ...ctx, licenseService: 'https://127.0.0.1:9/', caFile: '/ca.pem' }, 'user')).toEqual({
      DEVPAY_CONFIG: '/c.json',
      DEVPAY_DATA_DIR: '/d',
      DEVPAY_PINNED_LICENSE_SERVICE: 'https://127.0.0.1:9/',
      DEVPAY_PINNED_CA_FILE: '/ca.pem',
    });
  });

  it('defaults to the bundle built from these sources', () => {
    expect(defaultHostScript()).toBe(resolve('dist/devpay-companion.mjs'));
    expect(defaultHostScript('file:///opt/app/devpay-companion.mjs')).toBe('/opt/app/devpay-companion.mjs');
  });
});

describe('install', () => {
  it('finds the browsers on the machine by their profile folder or executable', async () => {
    const s = setup('linux', 'user', { xdg: true });
    mkdirSync(join(s.platform.env.XDG_CONFIG_HOME!, 'BraveSoftware/Brave-Browser'), { recursive: true });
    mkdirSync(join(s.home, '.mozilla/firefox'), { recursive: true });
    mkdirSync(join(s.root, 'bin'), { recursive: true });
    writeFileSync(join(s.root, 'bin', 'chromium'), '#!/bin/sh\n', { mode: 0o755 });
    expect(detectBrowsers(s.platform, existsSync).map((b) => b.id)).toEqual(['chromium', 'brave', 'firefox']);

    const report = await install(s);
    expect(report.manifests.map((m) => m.browsers)).toEqual([['chromium'], ['brave'], ['firefox']]);

    const mac = setup('darwin', 'user');
    mkdirSync(join(mac.platform.root!, 'Applications', 'Google Chrome.app'), { recursive: true });
    mkdirSync(join(mac.home, 'Library/Application Support/Firefox'), { recursive: true });
    expect(detectBrowsers(mac.platform, existsSync).map((b) => b.id)).toEqual(['chrome', 'firefox']);
  });

  it('says what to do when no browser is found', async () => {
    const s = setup('linux', 'user');
    await expect(install(s)).rejects.toThrow(/Nothing to install .*no supported browser was found.*--browser/);
  });

  it('is idempotent: a second run changes nothing', async () => {
    const s = setup('linux', 'user', { xdg: true });
    const first = await install(s, { browsers: ['chrome', 'firefox', 'edge'] });
    expect(first.manifests.every((m) => m.changed)).toBe(true);
    const snapshot = () =>
      Object.fromEntries(
        listFiles(s.root).map((f) => [
          f,
          { text: readFileSync(join(s.root, f), 'utf8'), mtime: statSync(join(s.root, f)).mtimeMs },
        ]),
      );
    const before = snapshot();
    const second = await install(s, { browsers: ['chrome', 'firefox', 'edge'] });
    expect(second.launcherChanged).toBe(false);
    expect(second.manifests.map((m) => m.changed)).toEqual([false, false, false]);
    expect(snapshot()).toEqual(before);
  });

  it('repairs a manifest and a launcher that were changed since', async () => {
    const s = setup('linux', 'user', { xdg: true });
    const first = await install(s, { browsers: ['chromium'] });
    const manifest = first.manifests[0]!.path;
    writeFileSync(manifest, '{"name":"broken"}');
    chmodSync(first.launcher, 0o644);
    const second = await install(s, { browsers: ['chromium'] });
    expect(second.manifests[0]!.changed).toBe(true);
    expect(second.launcherChanged).toBe(true);
    expect(readJson(manifest).allowed_origins).toEqual([CHROMIUM_ORIGIN]);
    expect(statSync(first.launcher).mode & 0o777).toBe(0o700);
  });

  it('writes one manifest for a profile started with --user-data-dir (what Chromium reads there)', async () => {
    const s = setup('linux', 'user', { xdg: true });
    const profile = join(s.platform.env.XDG_CONFIG_HOME!, 'chromium');
    const report = await install(s, { userDataDirs: [profile] });
    expect(report.manifests.map((m) => m.path)).toEqual([join(profile, 'NativeMessagingHosts', `${HOST}.json`)]);
    await expect(install(s, { userDataDirs: ['relative/dir'] })).rejects.toMatchObject({ kind: 'usage' });
  });

  it('refuses paths with non-ASCII characters before writing anything', async () => {
    const s = setup('linux', 'user', { home: join(tempDir(), 'José') });
    const error = await install(s, { browsers: ['chrome'] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InstallError);
    expect((error as InstallError).kind).toBe('usage');
    expect((error as Error).message).toMatch(/Jos\?.*non-ASCII/);
    expect(listFiles(s.home)).toEqual([]);

    const t = setup('linux', 'user');
    const odd = join(t.root, 'prodütto.mjs');
    writeFileSync(odd, '');
    await expect(install(t, { browsers: ['chrome'], hostScript: odd })).rejects.toThrow(/non-ASCII/);
    expect(listFiles(t.home)).toEqual([]);
  });

  it('refuses when the host program is missing, naming the build command', async () => {
    const s = setup('linux', 'user');
    await expect(install(s, { browsers: ['chrome'], hostScript: join(s.root, 'nope.mjs') })).rejects.toThrow(
      /npm run build:host/,
    );
  });

  it('skips a browser family the vendor configuration allows no extension for', async () => {
    const chromiumOnly = parseVendorConfig({
      ...JSON.parse(readFileSync('shared/config/demo.json', 'utf8')),
      extensions: { chromium: DEMO.extensions.chromium },
    });
    const s = setup('linux', 'user', { config: chromiumOnly });
    const report = await install(s, { browsers: ['chrome', 'firefox'] });
    expect(report.manifests.map((m) => m.browsers)).toEqual([['chrome']]);
    expect(report.skipped).toEqual([{ browser: 'firefox', reason: stringMatching(/allows no Firefox extension/) }]);
  });

  it('writes one shared file for browsers that read the same system folder', async () => {
    const s = setup('linux', 'system');
    const report = await install(s, { browsers: ['chrome', 'chrome-beta', 'chromium'] });
    expect(report.manifests.map((m) => m.browsers)).toEqual([['chrome', 'chrome-beta'], ['chromium']]);
    // Removing one channel keeps the file the other still reads.
    await uninstallHost({ layout: s.layout, browsers: ['chrome-beta'] });
    expect(existsSync(report.manifests[0]!.path)).toBe(true);
    await uninstallHost({ layout: s.layout, browsers: ['chrome'] });
    expect(existsSync(report.manifests[0]!.path)).toBe(false);
    expect(existsSync(report.launcher)).toBe(true); // Chromium still registered
  });
});

describe('uninstall', () => {
  let s: Setup;
  beforeEach(() => {
    s = setup('linux', 'user', { xdg: true });
  });

  it('removes exactly what install wrote and leaves other files and folders alone', async () => {
    const chromeHosts = join(s.platform.env.XDG_CONFIG_HOME!, 'google-chrome', 'NativeMessagingHosts');
    mkdirSync(chromeHosts, { recursive: true });
    writeFileSync(join(chromeHosts, 'com.other.host.json'), '{"name":"com.other.host"}');
    writeFileSync(join(s.home, 'notes.txt'), 'mine');
    const before = listFiles(s.root);

    await install(s, { browsers: ['chrome', 'firefox'] });
    expect(listFiles(s.root).length).toBeGreaterThan(before.length);
    const report = await uninstallHost({ layout: s.layout });
    expect(report.leftAlone).toEqual([]);
    expect(listFiles(s.root)).toEqual(before);
    // The folder that existed before stays; the ones install created are gone.
    expect(existsSync(chromeHosts)).toBe(true);
    expect(existsSync(join(s.home, '.mozilla'))).toBe(false);
    expect(existsSync(join(s.home, 'data'))).toBe(false);
  });

  it('leaves a manifest changed since install, and says so', async () => {
    const first = await install(s, { browsers: ['chrome'] });
    const path = first.manifests[0]!.path;
    writeFileSync(
      path,
      JSON.stringify({ name: HOST, path: '/opt/someone-else/host', type: 'stdio', allowed_origins: [] }),
    );
    const report = await uninstallHost({ layout: s.layout });
    expect(existsSync(path)).toBe(true);
    expect(report.leftAlone).toEqual([{ path, reason: stringMatching(/changed since install/) }]);
    expect(existsSync(first.launcher)).toBe(false);
  });

  it('removes one browser and keeps the others working', async () => {
    const first = await install(s, { browsers: ['chrome', 'firefox'] });
    const [chrome, firefox] = first.manifests.map((m) => m.path);
    const partial = await uninstallHost({ layout: s.layout, browsers: ['firefox'] });
    expect(partial.removed).toEqual([firefox]);
    expect(partial.complete).toBe(false);
    expect(existsSync(chrome!)).toBe(true);
    expect(existsSync(first.launcher)).toBe(true);
    const rest = await uninstallHost({ layout: s.layout, browsers: ['chrome'] });
    expect(rest.complete).toBe(true);
    expect(existsSync(first.launcher)).toBe(false);
  });

  it('still finds its manifests when the install record is lost, and only those pointing at its launcher', async () => {
    const first = await install(s, { browsers: ['chromium', 'firefox'] });
    rmSync(recordPath(s.layout));
    const foreignDir = join(s.platform.env.XDG_CONFIG_HOME!, 'microsoft-edge', 'NativeMessagingHosts');
    mkdirSync(foreignDir, { recursive: true });
    const foreign = join(foreignDir, `${HOST}.json`);
    writeFileSync(foreign, JSON.stringify({ name: HOST, path: '/usr/bin/other', type: 'stdio', allowed_origins: [] }));
    const report = await uninstallHost({ layout: s.layout });
    expect(report.removed).toEqual(expect.arrayContaining([...first.manifests.map((m) => m.path), first.launcher]));
    expect(existsSync(foreign)).toBe(true);
    expect(report.leftAlone).toEqual([{ path: foreign, reason: stringMatching(/starts another program/) }]);
  });

  it('is harmless when nothing is installed', async () => {
    const report = await uninstallHost({ layout: s.layout });
    expect(report.removed).toEqual([]);
    expect(listFiles(s.root)).toEqual(['host.mjs']);
  });

  it('removes the --user-data-dir manifest it wrote', async () => {
    const profile = join(s.root, 'profile');
    await install(s, { userDataDirs: [profile] });
    const report = await uninstallHost({ layout: s.layout, userDataDirs: [profile] });
    expect(report.removed).toContain(join(profile, 'NativeMessagingHosts', `${HOST}.json`));
    expect(existsSync(profile)).toBe(false);
  });
});

describe('Windows registry', () => {
  const platform: InstallPlatform = {
    os: 'win32',
    home: 'C:\\Users\\Ann',
    env: {
      LOCALAPPDATA: 'C:\\Users\\Ann\\AppData\\Local',
      APPDATA: 'C:\\Users\\Ann\\AppData\\Roaming',
      ProgramData: 'C:\\ProgramData',
    },
  };
  const layoutFor = (scope: Scope): HostLayout => ({
    platform,
    scope,
    config: DEMO,
    installDir: defaultInstallDir(
      platform,
      scope,
      'C:\\Users\\Ann\\AppData\\Local\\devpay-companion\\Data\\acme-demo',
      DEMO.vendor.id,
    ),
  });

  it.each(['user', 'system'] as const)('builds reg.exe commands per browser (%s)', (scope) => {
    const layout = layoutFor(scope);
    const hive = scope === 'user' ? 'HKCU' : 'HKLM';
    const dir =
      scope === 'user'
        ? 'C:\\Users\\Ann\\AppData\\Local\\devpay-companion\\Data\\acme-demo\\native-host'
        : 'C:\\ProgramData\\DevPay Companion\\acme-demo';
    const { targets } = planTargets(layout, { browsers: BROWSERS.map((b) => b.id) });
    const commands = targets.map((t) => regAddCommand(t.registryKey!, t.manifestPath));
    const chromiumManifest = `${dir}\\${HOST}.chromium.json`;
    const firefoxManifest = `${dir}\\${HOST}.firefox.json`;
    const add = (key: string, manifest: string) => [
      'reg.exe',
      'ADD',
      `${hive}\\${key}\\${HOST}`,
      '/ve',
      '/t',
      'REG_SZ',
      '/d',
      manifest,
      '/f',
    ];
    expect(commands).toEqual([
      add('Software\\Google\\Chrome\\NativeMessagingHosts', chromiumManifest),
      add('Software\\Chromium\\NativeMessagingHosts', chromiumManifest),
      add('Software\\Microsoft\\Edge\\NativeMessagingHosts', chromiumManifest),
      add('Software\\Mozilla\\NativeMessagingHosts', firefoxManifest),
      add('Software\\LibreWolf\\NativeMessagingHosts', firefoxManifest),
      add('Software\\Waterfox\\NativeMessagingHosts', firefoxManifest),
    ]);
    // Chrome's key serves every Chrome channel, Brave, Vivaldi and Opera.
    expect(targets[0]!.browsers).toEqual([
      'chrome',
      'chrome-beta',
      'chrome-dev',
      'chrome-canary',
      'brave',
      'vivaldi',
      'opera',
    ]);
    expect(targets.every((t) => t.executable === `${dir}\\${HOST}.bat`)).toBe(true);
    expect(regDeleteCommand(`${hive}\\Software\\Mozilla\\NativeMessagingHosts\\${HOST}`)).toEqual([
      'reg.exe',
      'DELETE',
      `${hive}\\Software\\Mozilla\\NativeMessagingHosts\\${HOST}`,
      '/f',
    ]);
  });

  it('reads the default value that reg query prints', () => {
    const out = `\r\nHKEY_CURRENT_USER\\Software\\Mozilla\\NativeMessagingHosts\\${HOST}\r\n    (Default)    REG_SZ    C:\\Data\\${HOST}.firefox.json\r\n\r\n`;
    expect(parseRegQueryDefault(out)).toBe(`C:\\Data\\${HOST}.firefox.json`);
    expect(
      parseRegQueryDefault('ERROR: The system was unable to find the specified registry key or value.'),
    ).toBeUndefined();
  });

  it('deletes only the keys that point at this installation', async () => {
    const layout = layoutFor('user');
    const ours = `C:\\Users\\Ann\\AppData\\Local\\devpay-companion\\Data\\acme-demo\\native-host\\${HOST}.chromium.json`;
    const calls: RegArgv[] = [];
    const runReg = async (argv: RegArgv): Promise<RegResult> => {
      calls.push(argv);
      if (argv[1] !== 'QUERY') return { ok: true, stdout: '', stderr: '' };
      const key = argv[2]!;
      if (key.includes('\\Google\\Chrome\\'))
        return { ok: true, stdout: `    (Default)    REG_SZ    ${ours}\r\n`, stderr: '' };
      if (key.includes('\\Microsoft\\Edge\\'))
        return { ok: true, stdout: `    (Default)    REG_SZ    C:\\Other\\host.json\r\n`, stderr: '' };
      return { ok: false, stdout: '', stderr: 'ERROR: not found' };
    };
    const report = await uninstallHost({ layout, runReg });
    expect(report.registryCommands).toEqual([
      regDeleteCommand(`HKCU\\Software\\Google\\Chrome\\NativeMessagingHosts\\${HOST}`),
    ]);
    expect(report.leftAlone).toEqual([
      { path: `HKCU\\Software\\Microsoft\\Edge\\NativeMessagingHosts\\${HOST}`, reason: stringMatching(/C:\\Other/) },
    ]);
    expect(calls.filter((c) => c[1] === 'DELETE')).toHaveLength(1);
  });
});

describe('Snap and Flatpak browsers', () => {
  it('detects them and says what works', () => {
    const s = setup('linux', 'user');
    mkdirSync(join(s.platform.root!, 'snap/firefox/current'), { recursive: true });
    mkdirSync(join(s.platform.root!, 'snap/chromium/current'), { recursive: true });
    mkdirSync(join(s.home, '.local/share/flatpak/app/com.brave.Browser'), { recursive: true });
    mkdirSync(join(s.platform.root!, 'var/lib/flatpak/app/org.mozilla.firefox'), { recursive: true });
    const findings = detectSandboxedBrowsers(s.platform, existsSync, HOST, 47815);
    expect(findings.map((f) => [f.packaging, f.appId, f.support])).toEqual([
      ['snap', 'firefox', 'works'],
      ['snap', 'chromium', 'unsupported'],
      ['flatpak', 'org.mozilla.firefox', 'needs-setup'],
      ['flatpak', 'com.brave.Browser', 'needs-setup'],
    ]);
    const [snapFirefox, snapChromium, flatpakFirefox] = findings;
    expect(snapFirefox!.summary).toMatch(/portal/);
    expect(snapFirefox!.steps.join(' ')).toMatch(/~\/\.mozilla\/native-messaging-hosts/);
    // The loopback channel cannot help Firefox (its add-on origin is a per-install UUID): the paste is the way out.
    expect(snapFirefox!.steps.join(' ')).toMatch(/serve` does not help Firefox.*devpay-companion activate/);
    expect(snapChromium!.steps[0]).toMatch(/devpay-companion serve.*127\.0\.0\.1:47815.*devpay-companion activate/);
    expect(flatpakFirefox!.steps.join(' ')).toContain(
      'flatpak override --user --talk-name=org.freedesktop.Flatpak org.mozilla.firefox',
    );
    expect(detectSandboxedBrowsers({ ...s.platform, os: 'darwin' }, existsSync, HOST, 1)).toEqual([]);
  });

  it('installs a manifest and a host-spawning wrapper inside a Flatpak, and removes them', async () => {
    const s = setup('linux', 'user');
    const appDir = join(s.home, '.var/app/org.mozilla.firefox');
    mkdirSync(appDir, { recursive: true });
    const report = await install(s, { flatpak: true });
    const manifest = join(appDir, '.mozilla/native-messaging-hosts', `${HOST}.json`);
    const wrapper = join(appDir, 'devpay-companion', HOST);
    expect(report.manifests).toEqual([
      { browsers: ['firefox'], path: manifest, changed: true, flatpak: 'org.mozilla.firefox' },
    ]);
    expect(readJson(manifest)).toMatchObject({ path: wrapper, allowed_extensions: [FIREFOX_ID] });
    expect(readFileSync(wrapper, 'utf8')).toContain(`exec flatpak-spawn --host '${report.launcher}' "$@"`);
    expect(statSync(wrapper).mode & 0o111).not.toBe(0);

    const removed = await uninstallHost({ layout: s.layout });
    expect(removed.removed).toEqual(expect.arrayContaining([manifest, wrapper]));
    expect(listFiles(appDir)).toEqual([]);
    expect(existsSync(appDir)).toBe(true); // the app's own folder is not ours
  });
});

describe('installForContext (what the end-to-end test uses)', () => {
  it('installs for a Chromium profile under a temp XDG_CONFIG_HOME with the resolved settings pinned, and uninstalls', async () => {
    const root = tempDir();
    const env = { HOME: join(root, 'home'), XDG_CONFIG_HOME: join(root, 'xdg'), PATH: join(root, 'bin') };
    const ctx = await resolveHostContext(
      { dataDir: join(root, 'data'), licenseService: 'https://127.0.0.1:9443/' },
      env,
    );
    const profile = join(env.XDG_CONFIG_HOME, 'chromium');
    const report = await installForContext(ctx, { userDataDirs: [profile], env, hostScript: fakeHost(root) });
    expect(report.manifests.map((m) => m.path)).toEqual([join(profile, 'NativeMessagingHosts', `${HOST}.json`)]);
    expect(report.launcher).toBe(join(root, 'data', 'native-host', HOST));
    const launcher = readFileSync(report.launcher, 'utf8');
    expect(launcher).toContain(
      "DEVPAY_PINNED_LICENSE_SERVICE='https://127.0.0.1:9443/'; export DEVPAY_PINNED_LICENSE_SERVICE",
    );
    expect(launcher).toContain(`DEVPAY_DATA_DIR='${join(root, 'data')}'`);
    const removed = await uninstallForContext(ctx, { userDataDirs: [profile], env });
    expect(removed.complete).toBe(true);
    expect(existsSync(profile)).toBe(false);
  });
});

describe('the CLI', () => {
  const cliEnv = (home: string, xdg: string) => ({
    ...process.env,
    HOME: home,
    XDG_CONFIG_HOME: xdg,
    XDG_DATA_HOME: join(home, 'share'),
    PATH: '/usr/bin:/bin',
  });
  const run = (args: string[], env: NodeJS.ProcessEnv) =>
    execFileAsync(process.execPath, ['--import', 'tsx', 'native-host/main.ts', ...args], { env, timeout: 20_000 }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
    );

  let home: string;
  let xdg: string;
  beforeEach(() => {
    const root = tempDir('devpay-cli-');
    home = join(root, 'home');
    xdg = join(root, 'xdg');
    mkdirSync(home);
  });
  afterEach(() => {
    process.exitCode = 0;
  });

  it('installs for a --user-data-dir profile with the global options pinned, then uninstalls', async () => {
    const profile = join(xdg, 'chromium');
    const dataDir = join(home, 'data');
    const hostScript = fakeHost(home);
    const env = cliEnv(home, xdg);
    const installed = await run(
      ['--data-dir', dataDir, 'install', '--user-data-dir', profile, '--host-script', hostScript],
      env,
    );
    expect(installed.stderr).toBe('');
    expect(installed.code).toBe(0);
    const manifestPath = join(profile, 'NativeMessagingHosts', `${HOST}.json`);
    expect(installed.stdout).toContain(manifestPath);
    const manifest = readJson(manifestPath);
    expect(manifest.allowed_origins).toEqual([CHROMIUM_ORIGIN]);
    const { stdout } = await execFileAsync(manifest.path as string, [CHROMIUM_ORIGIN], { env: {} });
    expect(JSON.parse(stdout)).toEqual({
      argv: [CHROMIUM_ORIGIN],
      config: resolve('shared/config/demo.json'),
      dataDir,
    });

    const again = await run(
      ['--data-dir', dataDir, 'install', '--user-data-dir', profile, '--host-script', hostScript],
      env,
    );
    expect(again.stdout).toContain('(unchanged)');

    const removed = await run(['--data-dir', dataDir, 'uninstall', '--user-data-dir', profile], env);
    expect(removed.code).toBe(0);
    expect(existsSync(manifestPath)).toBe(false);
    expect(existsSync(dataDir)).toBe(false);
  });

  it('answers a wrong browser name with the list and exit code 2', async () => {
    const result = await run(['install', '--browser', 'netscape'], cliEnv(home, xdg));
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/Unknown browser netscape: choose from chrome, chrome-beta/);
  });

  it('refuses a non-ASCII data folder with exit code 2', async () => {
    const result = await run(
      ['--data-dir', join(home, 'données'), 'install', '--browser', 'chromium', '--host-script', fakeHost(home)],
      cliEnv(home, xdg),
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/non-ASCII/);
    expect(listFiles(home)).toEqual(['host.mjs']);
  });
});

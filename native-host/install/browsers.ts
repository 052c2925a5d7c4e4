/**
 * Where each browser looks for native messaging host manifests, per OS and scope.
 *
 * Everything is computed from an InstallPlatform (OS, home, environment, and a
 * root prefix for system folders), never from the running machine, so tests can
 * compute macOS paths on Linux and install "system-wide" into a temp folder.
 *
 * Sources: developer.chrome.com native messaging ("native-messaging-host-location"),
 * Microsoft Edge and MDN native manifest docs, and the layouts used by
 * browserpass-native, vdhcoapp and KeePassXC for the browsers those docs omit:
 *  - Chromium-family browsers read `<user-data-dir>/NativeMessagingHosts/` per user,
 *    and one fixed system folder. All Chrome channels share Chrome's system folder
 *    (and, on Windows, Chrome's registry key); Brave, Vivaldi and Opera read Chrome's
 *    registry key on Windows.
 *  - Firefox reads `~/.mozilla/native-messaging-hosts/` (Linux), LibreWolf and Waterfox
 *    their own `~/.librewolf/`, `~/.waterfox/` equivalents.
 * A system folder that no source agrees on is left undefined: `--system` then says so
 * instead of writing somewhere the browser never reads.
 */
import { posix, win32 } from 'node:path';
import { unreachable } from '../../shared/unreachable.ts';

export type OsName = 'linux' | 'darwin' | 'win32';
export type Scope = 'user' | 'system';
export type BrowserFamily = 'chromium' | 'firefox';

export interface InstallPlatform {
  os: OsName;
  /** The customer's home folder (absolute). */
  home: string;
  /** The environment that decides folders: XDG_CONFIG_HOME, PATH, LOCALAPPDATA, ProgramData. */
  env: Readonly<Record<string, string | undefined>>;
  /** Prefix for system-wide folders, like DESTDIR ('' or undefined: the real root). */
  root?: string;
}

export const BROWSER_IDS = [
  'chrome',
  'chrome-beta',
  'chrome-dev',
  'chrome-canary',
  'chromium',
  'edge',
  'brave',
  'vivaldi',
  'opera',
  'firefox',
  'librewolf',
  'waterfox',
] as const;
export type BrowserId = (typeof BROWSER_IDS)[number];

export interface BrowserSpec {
  id: BrowserId;
  name: string;
  family: BrowserFamily;
  linux: {
    /** Per-user manifest folder, relative to XDG_CONFIG_HOME (Chromium family) or home (Firefox family). */
    userDir: { base: 'xdg-config' | 'home'; path: string };
    /** Folders whose presence shows the browser has run here (same bases as userDir). */
    profileDirs: { base: 'xdg-config' | 'home'; path: string }[];
    systemDir?: string;
    executables: string[];
  };
  darwin: {
    /** Per-user manifest folder, relative to ~/Library/Application Support. */
    userDir: string;
    /** Relative to ~/Library/Application Support. */
    profileDirs: string[];
    systemDir?: string;
    /** Application bundles in /Applications or ~/Applications. */
    apps: string[];
  };
  win32: {
    /** Registry key under HKCU or HKLM (without the hive), parent of the host's key. */
    registryKey: string;
    /** The user data folder, for detection: relative to %LOCALAPPDATA% or %APPDATA%. */
    profileDirs: { base: 'localappdata' | 'appdata'; path: string }[];
  };
}

const NMH = 'NativeMessagingHosts';
const CHROME_KEY = 'Software\\Google\\Chrome\\NativeMessagingHosts';

function chromiumFamily(
  id: BrowserId,
  name: string,
  linuxConfig: string,
  linuxSystem: string | undefined,
  executables: string[],
  macSupport: string,
  macSystem: string | undefined,
  apps: string[],
  winRegistryKey: string,
  winProfile: { base: 'localappdata' | 'appdata'; path: string },
): BrowserSpec {
  return {
    id,
    name,
    family: 'chromium',
    linux: {
      userDir: { base: 'xdg-config', path: `${linuxConfig}/${NMH}` },
      profileDirs: [{ base: 'xdg-config', path: linuxConfig }],
      systemDir: linuxSystem,
      executables,
    },
    darwin: { userDir: `${macSupport}/${NMH}`, profileDirs: [macSupport], systemDir: macSystem, apps },
    win32: { registryKey: winRegistryKey, profileDirs: [winProfile] },
  };
}

export const BROWSERS: readonly BrowserSpec[] = [
  chromiumFamily(
    'chrome',
    'Google Chrome',
    'google-chrome',
    '/etc/opt/chrome/native-messaging-hosts',
    ['google-chrome', 'google-chrome-stable'],
    'Google/Chrome',
    '/Library/Google/Chrome/NativeMessagingHosts',
    ['Google Chrome.app'],
    CHROME_KEY,
    { base: 'localappdata', path: 'Google\\Chrome\\User Data' },
  ),
  chromiumFamily(
    'chrome-beta',
    'Google Chrome Beta',
    'google-chrome-beta',
    '/etc/opt/chrome/native-messaging-hosts',
    ['google-chrome-beta'],
    'Google/Chrome Beta',
    '/Library/Google/Chrome/NativeMessagingHosts',
    ['Google Chrome Beta.app'],
    CHROME_KEY,
    { base: 'localappdata', path: 'Google\\Chrome Beta\\User Data' },
  ),
  chromiumFamily(
    'chrome-dev',
    'Google Chrome Dev',
    'google-chrome-unstable',
    '/etc/opt/chrome/native-messaging-hosts',
    ['google-chrome-unstable'],
    'Google/Chrome Dev',
    '/Library/Google/Chrome/NativeMessagingHosts',
    ['Google Chrome Dev.app'],
    CHROME_KEY,
    { base: 'localappdata', path: 'Google\\Chrome Dev\\User Data' },
  ),
  chromiumFamily(
    'chrome-canary',
    'Google Chrome Canary',
    'google-chrome-canary',
    '/etc/opt/chrome/native-messaging-hosts',
    ['google-chrome-canary'],
    'Google/Chrome Canary',
    '/Library/Google/Chrome/NativeMessagingHosts',
    ['Google Chrome Canary.app'],
    CHROME_KEY,
    { base: 'localappdata', path: 'Google\\Chrome SxS\\User Data' },
  ),
  chromiumFamily(
    'chromium',
    'Chromium',
    'chromium',
    '/etc/chromium/native-messaging-hosts',
    ['chromium', 'chromium-browser'],
    'Chromium',
    '/Library/Application Support/Chromium/NativeMessagingHosts',
    ['Chromium.app'],
    'Software\\Chromium\\NativeMessagingHosts',
    { base: 'localappdata', path: 'Chromium\\User Data' },
  ),
  chromiumFamily(
    'edge',
    'Microsoft Edge',
    'microsoft-edge',
    '/etc/opt/edge/native-messaging-hosts',
    ['microsoft-edge', 'microsoft-edge-stable'],
    'Microsoft Edge',
    '/Library/Microsoft/Edge/NativeMessagingHosts',
    ['Microsoft Edge.app'],
    'Software\\Microsoft\\Edge\\NativeMessagingHosts',
    { base: 'localappdata', path: 'Microsoft\\Edge\\User Data' },
  ),
  chromiumFamily(
    'brave',
    'Brave',
    'BraveSoftware/Brave-Browser',
    '/etc/brave/native-messaging-hosts',
    ['brave-browser', 'brave'],
    'BraveSoftware/Brave-Browser',
    '/Library/Application Support/BraveSoftware/Brave-Browser/NativeMessagingHosts',
    ['Brave Browser.app'],
    CHROME_KEY,
    { base: 'localappdata', path: 'BraveSoftware\\Brave-Browser\\User Data' },
  ),
  chromiumFamily(
    'vivaldi',
    'Vivaldi',
    'vivaldi',
    '/etc/opt/vivaldi/native-messaging-hosts',
    ['vivaldi', 'vivaldi-stable'],
    'Vivaldi',
    '/Library/Application Support/Vivaldi/NativeMessagingHosts',
    ['Vivaldi.app'],
    CHROME_KEY,
    { base: 'localappdata', path: 'Vivaldi\\User Data' },
  ),
  // Opera's system-wide folders are undocumented and sources disagree: per user only.
  chromiumFamily(
    'opera',
    'Opera',
    'opera',
    undefined,
    ['opera'],
    'com.operasoftware.Opera',
    undefined,
    ['Opera.app'],
    CHROME_KEY,
    { base: 'appdata', path: 'Opera Software\\Opera Stable' },
  ),
  {
    id: 'firefox',
    name: 'Firefox',
    family: 'firefox',
    linux: {
      userDir: { base: 'home', path: '.mozilla/native-messaging-hosts' },
      profileDirs: [{ base: 'home', path: '.mozilla/firefox' }],
      systemDir: '/usr/lib/mozilla/native-messaging-hosts',
      executables: ['firefox', 'firefox-esr'],
    },
    darwin: {
      userDir: `Mozilla/${NMH}`,
      profileDirs: ['Firefox'],
      systemDir: `/Library/Application Support/Mozilla/${NMH}`,
      apps: ['Firefox.app', 'Firefox Developer Edition.app', 'Firefox Nightly.app'],
    },
    win32: {
      registryKey: 'Software\\Mozilla\\NativeMessagingHosts',
      profileDirs: [{ base: 'appdata', path: 'Mozilla\\Firefox' }],
    },
  },
  {
    id: 'librewolf',
    name: 'LibreWolf',
    family: 'firefox',
    linux: {
      userDir: { base: 'home', path: '.librewolf/native-messaging-hosts' },
      profileDirs: [{ base: 'home', path: '.librewolf' }],
      systemDir: '/usr/lib/librewolf/native-messaging-hosts',
      executables: ['librewolf'],
    },
    darwin: {
      userDir: `LibreWolf/${NMH}`,
      profileDirs: ['librewolf', 'LibreWolf'],
      systemDir: `/Library/Application Support/LibreWolf/${NMH}`,
      apps: ['LibreWolf.app'],
    },
    win32: {
      registryKey: 'Software\\LibreWolf\\NativeMessagingHosts',
      profileDirs: [{ base: 'appdata', path: 'librewolf' }],
    },
  },
  {
    id: 'waterfox',
    name: 'Waterfox',
    family: 'firefox',
    linux: {
      userDir: { base: 'home', path: '.waterfox/native-messaging-hosts' },
      profileDirs: [{ base: 'home', path: '.waterfox' }],
      systemDir: '/usr/lib/waterfox/native-messaging-hosts',
      executables: ['waterfox'],
    },
    darwin: {
      userDir: `Waterfox/${NMH}`,
      profileDirs: ['Waterfox'],
      systemDir: `/Library/Application Support/Waterfox/${NMH}`,
      apps: ['Waterfox.app'],
    },
    win32: {
      registryKey: 'Software\\Waterfox\\NativeMessagingHosts',
      profileDirs: [{ base: 'appdata', path: 'Waterfox' }],
    },
  },
];

export function isBrowserId(value: string): value is BrowserId {
  return (BROWSER_IDS as readonly string[]).includes(value);
}

export function browserSpec(id: BrowserId): BrowserSpec {
  const spec = BROWSERS.find((b) => b.id === id);
  if (!spec) throw new Error(`unknown browser ${id}`);
  return spec;
}

/** The path module of the platform under test (POSIX paths for macOS even when running on Linux). */
export function pathFor(os: OsName): typeof posix {
  return os === 'win32' ? win32 : posix;
}

/** $XDG_CONFIG_HOME when it is set and absolute (the XDG spec says to ignore a relative one), else ~/.config. */
export function xdgConfigHome(platform: InstallPlatform): string {
  const value = platform.env.XDG_CONFIG_HOME;
  return value && posix.isAbsolute(value) ? value : posix.join(platform.home, '.config');
}

/** A system-wide path under the platform's root prefix. */
export function systemPath(platform: InstallPlatform, absolute: string): string {
  const path = pathFor(platform.os);
  return platform.root ? path.join(platform.root, absolute) : absolute;
}

function macAppSupport(platform: InstallPlatform): string {
  return posix.join(platform.home, 'Library', 'Application Support');
}

function linuxBase(platform: InstallPlatform, base: 'xdg-config' | 'home'): string {
  return base === 'xdg-config' ? xdgConfigHome(platform) : platform.home;
}

/**
 * The folder where this browser reads host manifests, or undefined when the
 * browser has no such folder on this OS and scope (Windows uses the registry;
 * some browsers have no known system folder).
 */
export function manifestDir(spec: BrowserSpec, scope: Scope, platform: InstallPlatform): string | undefined {
  switch (platform.os) {
    case 'linux':
      if (scope === 'system') return spec.linux.systemDir && systemPath(platform, spec.linux.systemDir);
      return posix.join(linuxBase(platform, spec.linux.userDir.base), spec.linux.userDir.path);
    case 'darwin':
      if (scope === 'system') return spec.darwin.systemDir && systemPath(platform, spec.darwin.systemDir);
      return posix.join(macAppSupport(platform), spec.darwin.userDir);
    case 'win32':
      return undefined;
  }
  return unreachable(platform.os);
}

/** The full registry key (with hive) that names the host's manifest on Windows. */
export function registryKey(spec: BrowserSpec, scope: Scope, hostName: string): string {
  return `${scope === 'system' ? 'HKLM' : 'HKCU'}\\${spec.win32.registryKey}\\${hostName}`;
}

/** Paths whose existence shows that this browser is installed or has been used. */
export function detectionPaths(spec: BrowserSpec, platform: InstallPlatform): string[] {
  switch (platform.os) {
    case 'linux': {
      const profiles = spec.linux.profileDirs.map((d) => posix.join(linuxBase(platform, d.base), d.path));
      const dirs = (platform.env.PATH ?? '').split(':').filter((d) => posix.isAbsolute(d));
      const executables = dirs.flatMap((dir) => spec.linux.executables.map((exe) => posix.join(dir, exe)));
      return [...profiles, ...executables];
    }
    case 'darwin': {
      const support = macAppSupport(platform);
      return [
        ...spec.darwin.profileDirs.map((d) => posix.join(support, d)),
        ...spec.darwin.apps.map((app) => systemPath(platform, posix.join('/Applications', app))),
        ...spec.darwin.apps.map((app) => posix.join(platform.home, 'Applications', app)),
      ];
    }
    case 'win32': {
      const local = platform.env.LOCALAPPDATA ?? win32.join(platform.home, 'AppData', 'Local');
      const roaming = platform.env.APPDATA ?? win32.join(platform.home, 'AppData', 'Roaming');
      return spec.win32.profileDirs.map((d) => win32.join(d.base === 'appdata' ? roaming : local, d.path));
    }
  }
  return unreachable(platform.os);
}

export type Exists = (path: string) => boolean;

/** Every browser in the table that shows up on this machine. */
export function detectBrowsers(platform: InstallPlatform, exists: Exists): BrowserSpec[] {
  return BROWSERS.filter((spec) => detectionPaths(spec, platform).some((p) => exists(p)));
}

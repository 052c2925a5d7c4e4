/**
 * The executable a host manifest's `path` names. Browsers started from a desktop
 * session do not have nvm's or Homebrew's folders on PATH, and a manifest cannot
 * carry arguments, so the launcher runs the host bundle with the absolute path of
 * the Node that installed it, pins the settings the installer resolved
 * (configuration, data folder, ...) in environment variables, and passes the
 * browser's arguments through.
 */
import { createHash } from 'node:crypto';
import type { OsName } from './browsers.ts';

export interface LauncherSpec {
  os: OsName;
  /** Absolute path of the node executable (process.execPath of the installer). */
  nodePath: string;
  /** Absolute path of the bundled host (dist/devpay-companion.mjs); the same as nodePath for the packaged executable. */
  hostScript: string;
  /** Environment the host is started with (DEVPAY_CONFIG, DEVPAY_DATA_DIR, ...). */
  env: Record<string, string>;
}

export class UnsafePathError extends Error {
  override name = 'UnsafePathError';
}

/**
 * Browsers and the shells that run launchers mangle anything but plain ASCII in
 * paths (Windows code pages, registry values, manifest parsing), so we refuse it
 * up front with a message that says what to do.
 */
export function assertSafePath(what: string, path: string, os: OsName): void {
  if (!/^[\x20-\x7e]+$/.test(path)) {
    throw new UnsafePathError(
      `The ${what} path "${path.replace(/[^\x20-\x7e]/g, '?')}" contains non-ASCII or control characters, which browsers do not handle reliably. ` +
        'Install from a folder whose path has only plain ASCII letters, digits and punctuation (or pass --data-dir / --host-script with such a path).',
    );
  }
  // cmd.exe expands % and treats " as a delimiter even inside quotes.
  if (os === 'win32' && /["%^]/.test(path)) {
    throw new UnsafePathError(
      `The ${what} path "${path}" contains " % or ^, which a Windows batch launcher cannot quote. Use another folder.`,
    );
  }
}

/** POSIX shell single-quoting: everything literal, ' closed, escaped, reopened. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;

export function launcherFileName(hostName: string, os: OsName): string {
  return os === 'win32' ? `${hostName}.bat` : hostName;
}

export function buildLauncherScript(spec: LauncherSpec): string {
  assertSafePath('Node.js', spec.nodePath, spec.os);
  assertSafePath('host program', spec.hostScript, spec.os);
  const envEntries = Object.entries(spec.env).sort(([a], [b]) => a.localeCompare(b));
  // The packaged executable is its own runtime: it is started alone.
  const program = spec.hostScript === spec.nodePath ? [spec.nodePath] : [spec.nodePath, spec.hostScript];
  const starts =
    program.length === 1
      ? 'starts the packaged native messaging host'
      : 'starts the native messaging host with the Node.js that installed it';
  for (const [name, value] of envEntries) {
    if (!ENV_NAME.test(name)) throw new Error(`launcher: bad environment variable name ${name}`);
    assertSafePath(name, value, spec.os);
  }
  if (spec.os === 'win32') {
    return [
      '@echo off',
      `rem Written by "devpay-companion install": ${starts}.`,
      'setlocal',
      ...envEntries.map(([name, value]) => `set "${name}=${value}"`),
      `${program.map((p) => `"${p}"`).join(' ')} %*`,
      '',
    ].join('\r\n');
  }
  return [
    '#!/bin/sh',
    `# Written by "devpay-companion install": ${starts}.`,
    '# Browsers started from the desktop do not see nvm or Homebrew on PATH, hence the absolute paths.',
    ...envEntries.map(([name, value]) => `${name}=${shellQuote(value)}; export ${name}`),
    `exec ${program.map(shellQuote).join(' ')} "$@"`,
    '',
  ].join('\n');
}

/** A wrapper for a Flatpak browser: the sandbox cannot run host programs, flatpak-spawn --host can. */
export function buildFlatpakWrapper(launcherPath: string): string {
  assertSafePath('launcher', launcherPath, 'linux');
  return [
    '#!/bin/sh',
    '# Written by "devpay-companion install --flatpak": runs the native messaging host outside the Flatpak sandbox.',
    '# Needs: flatpak override --user --talk-name=org.freedesktop.Flatpak <app id>',
    `exec flatpak-spawn --host ${shellQuote(launcherPath)} "$@"`,
    '',
  ].join('\n');
}

export function sha256(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex');
}

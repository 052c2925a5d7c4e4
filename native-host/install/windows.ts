/**
 * Windows registers a host by a registry key whose default value is the full path
 * of the manifest: HKCU for the user, HKLM for every user (--system), under each
 * browser's key (see browsers.ts). The commands are built as argv arrays for
 * execFile (no shell, so no quoting), and run only on Windows.
 */
import { execFile } from 'node:child_process';
import { win32 } from 'node:path';
import type { InstallPlatform, Scope } from './browsers.ts';

export type RegArgv = readonly string[];

export const REG_EXE = 'reg.exe';

/** `reg add KEY /ve /t REG_SZ /d MANIFEST /f`: sets the key's default value, replacing any earlier one. */
export function regAddCommand(key: string, manifestPath: string): RegArgv {
  return [REG_EXE, 'ADD', key, '/ve', '/t', 'REG_SZ', '/d', manifestPath, '/f'];
}

/** `reg delete KEY /f`: removes the host's key (and only it: the key is named after the host). */
export function regDeleteCommand(key: string): RegArgv {
  return [REG_EXE, 'DELETE', key, '/f'];
}

/** `reg query KEY /ve`: prints the default value, to check the key is ours before deleting it. */
export function regQueryCommand(key: string): RegArgv {
  return [REG_EXE, 'QUERY', key, '/ve'];
}

/** Parses `reg query /ve` output: the REG_SZ default value, or undefined. */
export function parseRegQueryDefault(stdout: string): string | undefined {
  const match = /^\s+\(Default\)\s+REG_(?:EXPAND_)?SZ\s+(.*?)\s*$/m.exec(stdout);
  return match?.[1];
}

/** Where manifests live on Windows (the registry points at them): beside the launcher. */
export function windowsManifestPath(launcherDir: string, hostName: string, family: 'chromium' | 'firefox'): string {
  return win32.join(launcherDir, `${hostName}.${family}.json`);
}

/** Where the launcher goes for --system on Windows: readable by every user, writable by administrators. */
export function windowsSystemLauncherDir(platform: InstallPlatform, vendorId: string): string {
  const programData = platform.env.ProgramData ?? platform.env.PROGRAMDATA ?? 'C:\\ProgramData';
  return win32.join(programData, 'DevPay Companion', vendorId);
}

export function hiveOf(scope: Scope): 'HKCU' | 'HKLM' {
  return scope === 'system' ? 'HKLM' : 'HKCU';
}

export interface RegResult {
  ok: boolean;
  stdout: string;
  stderr: string;
}

export type RegRunner = (argv: RegArgv) => Promise<RegResult>;

/** Runs reg.exe (Windows only); never throws, a failure comes back as ok: false. */
export const runReg: RegRunner = (argv) =>
  new Promise((resolve) => {
    const [exe, ...args] = argv;
    execFile(exe!, args, { timeout: 15_000, windowsHide: true }, (error, stdout, stderr) => {
      resolve({ ok: !error, stdout, stderr });
    });
  });

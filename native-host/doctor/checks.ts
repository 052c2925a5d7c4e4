/**
 * Doctor's checks beyond the browser manifests, one function each: the vendor
 * configuration, sandboxed browsers, a browser-like start of the host (hello),
 * the keychain, the License Service over verified HTTPS, and the data folder's
 * permissions. Each returns its line(s) with the fix for a failure.
 */
import { existsSync } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { browserSpec, type InstallPlatform } from '../install/browsers.ts';
import { launcherPath } from '../install/layout.ts';
import { chromiumOrigin } from '../install/manifest.ts';
import { detectSandboxedBrowsers } from '../install/sandbox.ts';
import { caOf, type Settings } from '../settings.ts';
import { helloHandshake } from './handshake.ts';
import { installCommand } from './manifest-checks.ts';
import type { CheckResult, DoctorRun, KeychainProbeResult, LicenseServicePing } from './types.ts';

/** The configuration line: what was loaded, or why nothing could be. */
export function checkConfig(context: { ok: true; value: Settings } | { ok: false; message: string }): CheckResult {
  const base = { id: 'config', title: 'Vendor configuration', category: 'configuration' as const };
  if (!context.ok)
    return {
      ...base,
      status: 'fail',
      detail: context.message,
      fix: 'correct the file (each problem is listed), or pass --config FILE',
    };
  const { config, configPath } = context.value;
  return {
    ...base,
    status: 'ok',
    detail: `${configPath}: ${config.vendor.name}, ${config.products.length} product${config.products.length === 1 ? '' : 's'}, host ${config.nativeHostName}`,
  };
}

/** Snap and Flatpak browsers found here: whether they can reach the host, and the steps when not. */
export async function checkSandboxedBrowsers(run: DoctorRun): Promise<CheckResult[]> {
  const { input, settings } = run;
  return detectSandboxedBrowsers(
    input.platform,
    input.exists ?? existsSync,
    settings.config.nativeHostName,
    settings.config.loopbackPort,
  ).map((finding) => ({
    id: `sandbox:${finding.appId}`,
    title: `${browserSpec(finding.browser).name} (${finding.packaging} ${finding.appId})`,
    status: finding.support === 'works' ? 'ok' : 'warn',
    detail: finding.summary,
    ...(finding.support === 'works' ? {} : { fix: finding.steps.join(' ') }),
    category: 'browser',
  }));
}

/** The host answers hello when started the way a browser starts it (from a usable manifest). */
export async function checkHandshake(run: DoctorRun): Promise<CheckResult[]> {
  const { config } = run.settings;
  const base = { id: 'handshake', title: 'Host answers a browser', category: 'browser' as const };
  // Prefer a browser outside any sandbox; a Flatpak wrapper only works inside its sandbox, so for
  // those the launcher it relays to is started directly.
  const byPreference = [...run.usableManifests].sort((a, b) => Number(a.flatpak ?? false) - Number(b.flatpak ?? false));
  const chromiumTarget = byPreference.find((o) => o.family === 'chromium');
  const firefoxTarget = byPreference.find((o) => o.family === 'firefox');
  const firstId = config.extensions.chromium[0];
  const chosen = chromiumTarget && firstId ? chromiumTarget : firefoxTarget;
  const target = chosen?.flatpak ? { ...chosen, executable: launcherPath(run.layout) } : chosen;
  if (!target) {
    return [
      {
        ...base,
        status: 'fail',
        detail: 'no usable manifest to start the host from',
        fix: `fix the manifest lines above (launcher: ${launcherPath(run.layout)})`,
      },
    ];
  }
  const args =
    target.family === 'chromium' ? [chromiumOrigin(firstId!)] : [target.manifestPath, config.extensions.firefox[0]!];
  const result = await helloHandshake({
    executable: target.executable,
    args,
    timeoutMs: run.timeouts.handshakeMs,
    env: run.input.env,
  });
  if (result.ok) {
    const version = typeof result.reply.hostVersion === 'string' ? ` ${result.reply.hostVersion}` : '';
    return [
      { ...base, status: 'ok', detail: `host${version} answered hello in ${result.ms} ms (${target.executable})` },
    ];
  }
  return [
    {
      ...base,
      status: 'fail',
      detail: `${target.executable}: ${result.detail}`,
      fix:
        result.reason === 'spawn'
          ? `${installCommand()} to rewrite the launcher`
          : `run \`${target.executable} ${args.join(' ')}\` in a terminal to see what it prints, or ${installCommand()} to rewrite the launcher`,
    },
  ];
}

const KEYCHAIN_FIX: Record<string, Partial<Record<InstallPlatform['os'], string>> & { default: string }> = {
  KEYCHAIN_UNAVAILABLE: {
    linux:
      'start a Secret Service in your desktop session (GNOME Keyring or KWallet), e.g. install gnome-keyring and log out and in',
    darwin: 'open Keychain Access and check that a login keychain exists',
    default: 'check that the system credential store is available to your user',
  },
  KEYCHAIN_LOCKED: {
    linux: 'unlock your login keyring (Passwords and Keys / Seahorse), or log out and in',
    darwin: 'unlock the login keychain in Keychain Access',
    default: 'unlock the system credential store',
  },
};

const SERVICE_FIX: Record<string, string> = {
  SERVICE_UNTRUSTED:
    'the certificate is not trusted: check the computer clock and any HTTPS-inspecting proxy or antivirus (or pass --ca-file for a private CA)',
  SERVICE_UNAVAILABLE: 'check the network connection, proxy and firewall, then try again later',
  VENDOR_CONFIGURATION:
    'the License Service address is not usable: correct licenseService in the vendor configuration or --license-service',
  SERVICE_BAD_ANSWER:
    'something between you and the License Service answers instead of it (a captive portal or proxy?): check --license-service and the network',
};

/** The keychain: a probe entry written, read back and deleted. */
export async function checkKeychain(run: DoctorRun): Promise<CheckResult[]> {
  const { deps, settings, input } = run;
  const base = { id: 'keychain', title: 'Keychain', category: 'storage' as const };
  const keychain = await deps
    .probeKeychain(deps.keychainService(settings.config.vendor.id), run.timeouts.keychainMs)
    .catch((error: unknown): KeychainProbeResult => ({
      ok: false,
      code: 'KEYCHAIN_UNAVAILABLE',
      message: (error as Error).message,
    }));
  if (keychain.ok) return [{ ...base, status: 'ok', detail: 'a probe entry was written, read back and deleted' }];
  const fixes = KEYCHAIN_FIX[keychain.code] ?? KEYCHAIN_FIX.KEYCHAIN_UNAVAILABLE!;
  return [
    {
      ...base,
      status: 'fail',
      detail: `${keychain.code}: ${keychain.message}`,
      fix: fixes[input.platform.os] ?? fixes.default,
    },
  ];
}

/** The License Service answers over verified HTTPS (no key or token sent). */
export async function checkLicenseService(run: DoctorRun): Promise<CheckResult[]> {
  const { deps, settings } = run;
  const base = { id: 'license-service', title: 'License Service', category: 'license-service' as const };
  const ping = await caOf(settings)
    .then((caPem) =>
      deps.pingLicenseService(settings.licenseService, {
        ...(caPem !== undefined ? { caPem } : {}),
        timeoutMs: run.timeouts.licenseServiceMs,
      }),
    )
    .catch((error: unknown): LicenseServicePing => ({
      ok: false,
      code: 'SERVICE_UNAVAILABLE',
      message: (error as Error).message,
    }));
  if (ping.ok) {
    return [
      {
        ...base,
        status: 'ok',
        detail: `${settings.licenseService} answered over verified HTTPS${ping.requestId ? ` (request ${ping.requestId})` : ''}`,
      },
    ];
  }
  return [
    {
      ...base,
      status: 'fail',
      detail: `${settings.licenseService}: ${ping.code}: ${ping.message}`,
      fix: SERVICE_FIX[ping.code] ?? SERVICE_FIX.SERVICE_UNAVAILABLE!,
    },
  ];
}

/** The data folder and everything in it: yours alone (Linux, macOS). */
export async function checkDataFolder(run: DoctorRun): Promise<CheckResult[]> {
  return [await dataFolderCheck(run.settings.dataDir, run.input.platform.os)];
}

async function dataFolderCheck(dataDir: string, os: InstallPlatform['os']): Promise<CheckResult> {
  const base = { id: 'data-folder', title: 'Data folder permissions', category: 'storage' as const };
  if (os === 'win32')
    return { ...base, status: 'skip', detail: `${dataDir} (Windows: protected by the user profile's ACLs)` };
  let info;
  try {
    info = await lstat(dataDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      return { ...base, status: 'ok', detail: `${dataDir} does not exist yet (created 0700 at the first activation)` };
    return {
      ...base,
      status: 'fail',
      detail: `cannot read ${dataDir} (${(error as NodeJS.ErrnoException).code})`,
      fix: `check the folder's owner and permissions`,
    };
  }
  const fixAll = `run \`chmod -R go-rwx ${dataDir}\``;
  if (info.isSymbolicLink() || !info.isDirectory())
    return {
      ...base,
      status: 'fail',
      detail: `${dataDir} is not a folder`,
      fix: `move it away; it is recreated at the next activation`,
    };
  const uid = process.getuid?.();
  if (uid !== undefined && info.uid !== uid) {
    return {
      ...base,
      status: 'fail',
      detail: `${dataDir} belongs to user ${info.uid}, not to you (${uid})`,
      fix: `run \`sudo chown -R ${uid} ${dataDir}\``,
    };
  }
  const exposed: string[] = [];
  if ((info.mode & 0o077) !== 0) exposed.push(`${dataDir} (${(info.mode & 0o777).toString(8)})`);
  // Bounded walk: the folder holds a handful of files.
  const queue: { dir: string; depth: number }[] = [{ dir: dataDir, depth: 0 }];
  let seen = 0;
  while (queue.length > 0 && seen < 2000) {
    const { dir, depth } = queue.shift()!;
    let entries: string[];
    try {
      entries = await readdir(dir);
    } catch {
      exposed.push(`${dir} (unreadable)`);
      continue;
    }
    for (const name of entries) {
      seen++;
      const p = `${dir}/${name}`;
      const s = await lstat(p).catch(() => undefined);
      if (!s || s.isSymbolicLink()) continue;
      if ((s.mode & 0o077) !== 0) exposed.push(`${p} (${(s.mode & 0o777).toString(8)})`);
      if (s.isDirectory() && depth < 4) queue.push({ dir: p, depth: depth + 1 });
    }
  }
  if (exposed.length > 0) {
    const shown = exposed.slice(0, 3).join(', ') + (exposed.length > 3 ? ` and ${exposed.length - 3} more` : '');
    return { ...base, status: 'fail', detail: `readable by other users: ${shown}`, fix: fixAll };
  }
  return { ...base, status: 'ok', detail: `${dataDir}: only you can read it (folders 0700, files 0600)` };
}

/**
 * The native messaging host manifest each browser family reads. Chromium-family
 * browsers allow callers by origin (`allowed_origins`: `chrome-extension://ID/`,
 * trailing slash required); Firefox-family browsers by add-on ID
 * (`allowed_extensions`). Both come from the vendor configuration.
 */
import * as v from 'valibot';
import type { VendorConfig } from '../../shared/config.ts';
import type { BrowserFamily } from './browsers.ts';

export interface ChromiumHostManifest {
  name: string;
  description: string;
  path: string;
  type: 'stdio';
  allowed_origins: string[];
}

export interface FirefoxHostManifest {
  name: string;
  description: string;
  path: string;
  type: 'stdio';
  allowed_extensions: string[];
}

export type HostManifest = ChromiumHostManifest | FirefoxHostManifest;

export function chromiumOrigin(extensionId: string): string {
  return `chrome-extension://${extensionId}/`;
}

export function hostDescription(config: VendorConfig): string {
  return `${config.vendor.name} activation companion`;
}

export function buildChromiumManifest(config: VendorConfig, launcherPath: string): ChromiumHostManifest {
  return {
    name: config.nativeHostName,
    description: hostDescription(config),
    path: launcherPath,
    type: 'stdio',
    allowed_origins: config.extensions.chromium.map(chromiumOrigin),
  };
}

export function buildFirefoxManifest(config: VendorConfig, launcherPath: string): FirefoxHostManifest {
  return {
    name: config.nativeHostName,
    description: hostDescription(config),
    path: launcherPath,
    type: 'stdio',
    allowed_extensions: [...config.extensions.firefox],
  };
}

export function buildManifest(family: BrowserFamily, config: VendorConfig, launcherPath: string): HostManifest {
  return family === 'chromium'
    ? buildChromiumManifest(config, launcherPath)
    : buildFirefoxManifest(config, launcherPath);
}

/** Bytes as written to disk: stable formatting so that re-installing writes identical files. */
export function serializeManifest(manifest: HostManifest): string {
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

/** The file name browsers look for on Linux and macOS. */
export function manifestFileName(hostName: string): string {
  return `${hostName}.json`;
}

/** What an installed manifest must have to be usable; read leniently so the doctor can say what is wrong. */
const InstalledManifestSchema = v.looseObject({
  name: v.optional(v.unknown()),
  path: v.optional(v.unknown()),
  type: v.optional(v.unknown()),
  allowed_origins: v.optional(v.unknown()),
  allowed_extensions: v.optional(v.unknown()),
});

export interface ManifestProblems {
  /** Human-readable problems; empty when the manifest is right. */
  problems: string[];
  /** Configured callers the manifest does not allow. */
  missingIds: string[];
  /** Callers the manifest allows that the configuration does not list. */
  extraIds: string[];
  /** The launcher path the manifest names, when it is a string. */
  path: string | undefined;
}

/** Compares an installed manifest (parsed JSON) with what the configuration needs for this browser family. */
export function checkManifest(data: unknown, family: BrowserFamily, config: VendorConfig): ManifestProblems {
  const result = v.safeParse(InstalledManifestSchema, data);
  if (!result.success) return { problems: ['is not a JSON object'], missingIds: [], extraIds: [], path: undefined };
  const m = result.output;
  const problems: string[] = [];
  if (m.name !== config.nativeHostName)
    problems.push(`"name" is ${JSON.stringify(m.name)}, expected "${config.nativeHostName}"`);
  if (m.type !== 'stdio') problems.push(`"type" must be "stdio"`);
  const path = typeof m.path === 'string' ? m.path : undefined;
  if (path === undefined) problems.push(`"path" is missing`);

  const field = family === 'chromium' ? 'allowed_origins' : 'allowed_extensions';
  const listed = m[field];
  const expected = family === 'chromium' ? config.extensions.chromium.map(chromiumOrigin) : config.extensions.firefox;
  if (!Array.isArray(listed) || !listed.every((x) => typeof x === 'string')) {
    problems.push(`"${field}" is missing or not a list of strings`);
    return { problems, missingIds: expected, extraIds: [], path };
  }
  const missingIds = expected.filter((id) => !listed.includes(id));
  const extraIds = listed.filter((id) => !expected.includes(id));
  if (missingIds.length > 0) problems.push(`"${field}" lacks ${missingIds.join(', ')}`);
  return { problems, missingIds, extraIds, path };
}

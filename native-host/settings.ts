/**
 * Where the host's settings come from: flags, then DEVPAY_* environment
 * variables, then defaults. Every entry point (CLI, native messaging, the
 * loopback channel, api.ts) resolves them here, once; the extra trusted CA file
 * is read and checked here too, and its PEM carried in the settings.
 *
 * Defaults: the vendor configuration shipped beside the bundle
 * (dist/vendor-config.json), or the demo configuration when running from the
 * source tree; the data folder is the OS's per-user data folder
 * (env-paths 'devpay-companion') joined with the vendor id.
 */
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import envPaths from 'env-paths';
import { ConfigError, parseVendorConfig, type VendorConfig } from '../shared/config.ts';
import { licenseServiceUrlProblem, readCaFile } from './license-service/endpoint.ts';
import { LicenseServiceError } from './license-service/errors.ts';

/** What a caller may set; each falls back to its DEVPAY_* variable, then to the default. */
export interface SettingsOptions {
  config?: string;
  dataDir?: string;
  licenseService?: string;
  caFile?: string;
}

export interface Settings {
  config: VendorConfig;
  configPath: string;
  dataDir: string;
  /** https:// only; validated. */
  licenseService: string;
  /** Absolute path of the extra trusted CA file, when one is given. */
  caFile: string | undefined;
  /** Its PEM, as resolveSettings read it (left out in settings put together by hand: see caOf). */
  ca?: string | undefined;
}

export const ENV = {
  config: 'DEVPAY_CONFIG',
  dataDir: 'DEVPAY_DATA_DIR',
  licenseService: 'DEVPAY_LICENSE_SERVICE',
  caFile: 'DEVPAY_CA_FILE',
} as const;

const MAX_CONFIG_BYTES = 1024 * 1024;

/** The configuration a build ships with, or the demo one when running the TypeScript sources. */
export function defaultConfigPath(): string | undefined {
  const here = dirname(fileURLToPath(import.meta.url));
  const beside = join(here, 'vendor-config.json');
  if (existsSync(beside)) return beside;
  // Running from the source tree (native-host/settings.ts): the demo configuration.
  if (import.meta.url.endsWith('.ts')) {
    const demo = resolve(here, '../shared/config/demo.json');
    if (existsSync(demo)) return demo;
  }
  return undefined;
}

export function defaultDataDir(vendorId: string): string {
  return join(envPaths('devpay-companion', { suffix: '' }).data, vendorId);
}

function pick(
  flag: string | undefined,
  env: NodeJS.ProcessEnv,
  name: string,
): { value: string; from: string } | undefined {
  if (flag !== undefined && flag !== '')
    return {
      value: flag,
      from: `--${name
        .replace(/^DEVPAY_/, '')
        .toLowerCase()
        .replace(/_/g, '-')}`,
    };
  const fromEnv = env[name];
  if (fromEnv !== undefined && fromEnv !== '') return { value: fromEnv, from: name };
  return undefined;
}

export async function loadVendorConfig(path: string): Promise<VendorConfig> {
  let text: string;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new ConfigError(`The vendor configuration ${path} is not a file.`);
    if (info.size > MAX_CONFIG_BYTES)
      throw new ConfigError(`The vendor configuration ${path} is larger than 1 MiB; it cannot be right.`);
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(
      `The vendor configuration ${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}).`,
    );
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`The vendor configuration ${path} is not valid JSON (${(error as Error).message}).`);
  }
  return parseVendorConfig(data, `The vendor configuration ${path}`);
}

/** The configuration and data folder alone (what reading credentials needs). */
export async function resolveConfigAndDataDir(
  opts: Pick<SettingsOptions, 'config' | 'dataDir'>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ config: VendorConfig; configPath: string; dataDir: string }> {
  const configChoice = pick(opts.config, env, ENV.config);
  const configPath = configChoice ? resolve(configChoice.value) : defaultConfigPath();
  if (configPath === undefined) {
    throw new ConfigError(
      `No vendor configuration found: pass --config FILE or set ${ENV.config} (a vendor-config.json is expected beside the program).`,
    );
  }
  const config = await loadVendorConfig(configPath);
  const dataChoice = pick(opts.dataDir, env, ENV.dataDir);
  const dataDir = dataChoice ? resolve(dataChoice.value) : defaultDataDir(config.vendor.id);
  return { config, configPath, dataDir };
}

/** Every setting, checked; throws ConfigError naming where a bad value came from. */
export async function resolveSettings(opts: SettingsOptions, env: NodeJS.ProcessEnv = process.env): Promise<Settings> {
  const { config, configPath, dataDir } = await resolveConfigAndDataDir(opts, env);

  const serviceChoice = pick(opts.licenseService, env, ENV.licenseService);
  const licenseService = serviceChoice?.value ?? config.licenseService;
  const problem = licenseServiceUrlProblem(licenseService);
  if (problem !== undefined)
    throw new ConfigError(`The License Service URL from ${serviceChoice?.from ?? configPath} ${problem}.`);

  const caChoice = pick(opts.caFile, env, ENV.caFile);
  const caFile = caChoice ? resolve(caChoice.value) : undefined;
  const ca = caFile !== undefined && caChoice ? await readCaFileOrConfigError(caFile, caChoice.from) : undefined;

  return { config, configPath, dataDir, licenseService: new URL(licenseService).toString(), caFile, ca };
}

async function readCaFileOrConfigError(path: string, from: string): Promise<string> {
  try {
    return await readCaFile(path);
  } catch (error) {
    if (error instanceof LicenseServiceError) throw new ConfigError(`${from}: ${error.problem}`);
    throw error;
  }
}

/** The extra trusted CA (PEM): as resolveSettings read it, or read now for settings put together by hand. */
export async function caOf(settings: Settings): Promise<string | undefined> {
  if (settings.ca !== undefined) return settings.ca;
  return settings.caFile !== undefined ? readCaFile(settings.caFile) : undefined;
}

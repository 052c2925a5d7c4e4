/**
 * Where a command's settings come from: flags, then environment variables, then defaults.
 * (Implementation owned by the native host core; this signature is shared with install/doctor.)
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
import { ConfigError, parseVendorConfig, type VendorConfig } from '../../shared/config.ts';

export interface GlobalOptions {
  config?: string;
  dataDir?: string;
  licenseService?: string;
  caFile?: string;
}

export interface HostContext {
  config: VendorConfig;
  configPath: string;
  dataDir: string;
  /** https:// only; validated. */
  licenseService: string;
  caFile: string | undefined;
}

export const ENV = {
  config: 'DEVPAY_CONFIG',
  dataDir: 'DEVPAY_DATA_DIR',
  licenseService: 'DEVPAY_LICENSE_SERVICE',
  caFile: 'DEVPAY_CA_FILE',
} as const;

const MAX_CONFIG_BYTES = 1024 * 1024;
const MAX_CA_BYTES = 1024 * 1024;

/** The configuration a build ships with, or the demo one when running the TypeScript sources. */
export function defaultConfigPath(): string | undefined {
  const here = dirname(fileURLToPath(import.meta.url));
  const beside = join(here, 'vendor-config.json');
  if (existsSync(beside)) return beside;
  // Running from the source tree (native-host/cli/context.ts): the demo configuration.
  if (import.meta.url.endsWith('.ts')) {
    const demo = resolve(here, '../../shared/config/demo.json');
    if (existsSync(demo)) return demo;
  }
  return undefined;
}

export function defaultDataDir(vendorId: string): string {
  return join(envPaths('devpay-companion', { suffix: '' }).data, vendorId);
}

function pick(flag: string | undefined, env: NodeJS.ProcessEnv, name: string): { value: string; from: string } | undefined {
  if (flag !== undefined && flag !== '') return { value: flag, from: `--${name.replace(/^DEVPAY_/, '').toLowerCase().replace(/_/g, '-')}` };
  const fromEnv = env[name];
  if (fromEnv !== undefined && fromEnv !== '') return { value: fromEnv, from: name };
  return undefined;
}

export async function loadVendorConfig(path: string): Promise<VendorConfig> {
  let text: string;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new ConfigError(`The vendor configuration ${path} is not a file.`);
    if (info.size > MAX_CONFIG_BYTES) throw new ConfigError(`The vendor configuration ${path} is larger than 1 MiB; it cannot be right.`);
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`The vendor configuration ${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}).`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`The vendor configuration ${path} is not valid JSON (${(error as Error).message}).`);
  }
  return parseVendorConfig(data, `The vendor configuration ${path}`);
}

/** An https:// URL or a ConfigError saying why not. */
export function checkLicenseServiceUrl(value: string, from: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`The License Service URL from ${from} is not a URL: use https://host[:port]/.`);
  }
  if (url.protocol !== 'https:') {
    throw new ConfigError(`The License Service URL from ${from} must start with https:// (the License Service accepts HTTPS only; got ${url.protocol}//).`);
  }
  if (url.username || url.password) throw new ConfigError(`The License Service URL from ${from} must not contain a user name or password.`);
  return url.toString();
}

async function checkCaFile(path: string, from: string): Promise<string> {
  const absolute = resolve(path);
  let text: string;
  try {
    const info = await stat(absolute);
    if (!info.isFile() || info.size > MAX_CA_BYTES) throw new Error('not a certificate file');
    text = await readFile(absolute, 'utf8');
  } catch (error) {
    throw new ConfigError(`The CA file ${absolute} (from ${from}) cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}).`);
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----')) {
    throw new ConfigError(`The CA file ${absolute} (from ${from}) holds no PEM certificate (-----BEGIN CERTIFICATE-----).`);
  }
  return absolute;
}

/** The configuration and data folder alone (what reading credentials needs). */
export async function resolveConfigAndDataDir(
  opts: Pick<GlobalOptions, 'config' | 'dataDir'>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ config: VendorConfig; configPath: string; dataDir: string }> {
  const configChoice = pick(opts.config, env, ENV.config);
  const configPath = configChoice ? resolve(configChoice.value) : defaultConfigPath();
  if (configPath === undefined) {
    throw new ConfigError(`No vendor configuration found: pass --config FILE or set ${ENV.config} (a vendor-config.json is expected beside the program).`);
  }
  const config = await loadVendorConfig(configPath);
  const dataChoice = pick(opts.dataDir, env, ENV.dataDir);
  const dataDir = dataChoice ? resolve(dataChoice.value) : defaultDataDir(config.vendor.id);
  return { config, configPath, dataDir };
}

export async function resolveHostContext(opts: GlobalOptions, env: NodeJS.ProcessEnv = process.env): Promise<HostContext> {
  const { config, configPath, dataDir } = await resolveConfigAndDataDir(opts, env);

  const serviceChoice = pick(opts.licenseService, env, ENV.licenseService);
  const licenseService = checkLicenseServiceUrl(serviceChoice?.value ?? config.licenseService, serviceChoice?.from ?? configPath);

  const caChoice = pick(opts.caFile, env, ENV.caFile);
  const caFile = caChoice ? await checkCaFile(caChoice.value, caChoice.from) : undefined;

  return { config, configPath, dataDir, licenseService, caFile };
}

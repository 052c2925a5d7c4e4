/**
 * Where a command's settings come from: flags, then environment variables, then defaults.
 * (Implementation owned by the native host core; this signature is shared with install/doctor.)
 */
import type { VendorConfig } from '../../shared/config.ts';

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

export async function resolveHostContext(_opts: GlobalOptions, _env: NodeJS.ProcessEnv = process.env): Promise<HostContext> {
  throw new Error('not implemented yet');
}

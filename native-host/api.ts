/**
 * For vendors' desktop products written in TypeScript/JavaScript: read the
 * credentials the companion stored for a product. (Products in other languages
 * run `devpay-companion credentials --product CODE` instead.)
 *
 *   import { readCredentials, isActivated } from 'devpay-companion/native-host/api.ts';
 *   const creds = await readCredentials('ACMEBK01');
 *
 * Reads the same configuration and data folder as the CLI: options first, then
 * DEVPAY_CONFIG / DEVPAY_DATA_DIR, then the defaults. Also the loopback channel,
 * for products that want to hear when credentials change, and reactivation
 * (`reactivate`, `watchCredentials`) for a set that stopped working.
 */
import { ConfigError } from '../shared/config.ts';
import { NotActivatedError, readProductCredentials } from './activation/credentials.ts';
import { HostError } from './errors.ts';
import { resolveConfigAndDataDir } from './settings.ts';
import { CredentialStore } from './store/credential-store.ts';
import { keychainServiceName, openKeychain } from './store/keychain.ts';

export interface ProductCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  userToken: string;
  /** From the vendor configuration; send it with the user token in x-amz-security-token. */
  productToken: string;
  /** ISO-8601. */
  activatedAt: string;
}

/** The host's error codes readCredentials passes on as they are. */
const CREDENTIALS_ERROR_CODES = [
  'UNKNOWN_PRODUCT',
  'CREDENTIALS_UNREADABLE',
  'KEYCHAIN_UNAVAILABLE',
  'KEYCHAIN_LOCKED',
  'STORAGE_FAILED',
] as const;

export type CredentialsErrorCode =
  'NOT_ACTIVATED' | (typeof CREDENTIALS_ERROR_CODES)[number] | 'VENDOR_CONFIGURATION' | 'INTERNAL';

export class CredentialsError extends Error {
  override name = 'CredentialsError';
  constructor(
    readonly code: CredentialsErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface ReadCredentialsOptions {
  /** The vendor configuration file. */
  config?: string;
  /** The folder the companion keeps credentials in. */
  dataDir?: string;
  /** Default process.env. */
  env?: NodeJS.ProcessEnv;
}

/** The product's credentials; throws CredentialsError (NOT_ACTIVATED, CREDENTIALS_UNREADABLE: reactivate, KEYCHAIN_*...). */
export async function readCredentials(
  productCode: string,
  opts: ReadCredentialsOptions = {},
): Promise<ProductCredentials> {
  let resolved;
  try {
    resolved = await resolveConfigAndDataDir(
      {
        ...(opts.config !== undefined ? { config: opts.config } : {}),
        ...(opts.dataDir !== undefined ? { dataDir: opts.dataDir } : {}),
      },
      opts.env ?? process.env,
    );
  } catch (error) {
    if (error instanceof ConfigError) throw new CredentialsError('VENDOR_CONFIGURATION', error.message);
    throw error;
  }
  const { config, dataDir } = resolved;
  const store = new CredentialStore({
    vendorId: config.vendor.id,
    dataDir,
    keychain: openKeychain(keychainServiceName(config.vendor.id)),
  });
  let found;
  try {
    found = await readProductCredentials({ config, store }, productCode);
  } catch (error) {
    if (error instanceof NotActivatedError) throw new CredentialsError('NOT_ACTIVATED', error.message);
    if (error instanceof HostError && (CREDENTIALS_ERROR_CODES as readonly string[]).includes(error.code)) {
      throw new CredentialsError(error.code as CredentialsErrorCode, error.message);
    }
    throw new CredentialsError('INTERNAL', error instanceof Error ? error.message : String(error));
  }
  const { product, credentials: c } = found;
  return {
    accessKeyId: c.accessKeyId,
    secretAccessKey: c.secretAccessKey,
    userToken: c.userToken,
    productToken: product.productToken,
    activatedAt: c.activatedAt,
  };
}

/** True when a readable set is stored; false when none is, or it is unreadable (reactivate). Throws on keychain or configuration problems. */
export async function isActivated(productCode: string, opts: ReadCredentialsOptions = {}): Promise<boolean> {
  try {
    await readCredentials(productCode, opts);
    return true;
  } catch (error) {
    if (
      error instanceof CredentialsError &&
      (error.code === 'NOT_ACTIVATED' || error.code === 'CREDENTIALS_UNREADABLE')
    )
      return false;
    throw error;
  }
}

/** The loopback channel: run it in the desktop product, or connect to `devpay-companion serve` for credentials-changed events. */
export {
  connectLoopback,
  LoopbackUnavailableError,
  type LoopbackChannel,
  type ConnectLoopbackOptions,
  type LoopbackRequestInput,
} from './loopback/client.ts';
export { serveLoopback, type ServeLoopbackOptions } from './loopback/serve.ts';
export type { LoopbackServer } from './loopback/server.ts';

/** Reactivation started by the desktop product (see README, "Reactivating from the desktop product"). */
export {
  reactivate,
  ReactivationError,
  watchCredentials,
  type ReactivateOptions,
  type ReactivatedSet,
  type ReactivationErrorCode,
  type CredentialsWatch,
} from './api-reactivation.ts';

/**
 * The desktop product's side of a reactivation, for api.ts: `reactivate()`
 * (what `devpay-companion reactivate` does, without the paste prompt) and
 * `watchCredentials()` (the loopback channel's credentials-changed events for
 * one product). Failures reject with ReactivationError, whose code says what to do.
 */
import open from 'open';
import { ConfigError } from '../shared/config.ts';
import type { CredentialsEvent } from '../shared/messages.ts';
import { DEFAULT_REACTIVATION_MS, MAX_REACTIVATION_MS } from './activation/pending-reactivation.ts';
import { reactivateProduct, ReactivationEndedError, type ReactivatedSet } from './activation/reactivation.ts';
import { HostError } from './errors.ts';
import { connectLoopback, type ConnectLoopbackOptions } from './loopback/client.ts';
import { createHostServices } from './services.ts';
import { resolveSettings } from './settings.ts';

export type { ReactivatedSet };

/** TIMED_OUT / ABORTED: no new set, the old one untouched. The others are the host's error codes. */
export type ReactivationErrorCode =
  | 'TIMED_OUT'
  | 'ABORTED'
  | 'BAD_TIMEOUT'
  | 'UNKNOWN_PRODUCT'
  | 'VENDOR_CONFIGURATION'
  | 'KEYCHAIN_UNAVAILABLE'
  | 'KEYCHAIN_LOCKED'
  | 'STORAGE_FAILED'
  | 'INTERNAL';

export class ReactivationError extends Error {
  override name = 'ReactivationError';
  constructor(
    readonly code: ReactivationErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface ReactivateOptions {
  /** How long to wait for the new key: default 15 minutes, at most an hour. */
  timeoutMs?: number;
  /** Aborting it ends the wait (ABORTED); the old set stays. */
  signal?: AbortSignal;
  /** Open the activate page in the default browser (default true). */
  openBrowser?: boolean;
  config?: string;
  dataDir?: string;
  env?: NodeJS.ProcessEnv;
}

const PASSED_ON: readonly string[] = [
  'UNKNOWN_PRODUCT',
  'VENDOR_CONFIGURATION',
  'KEYCHAIN_UNAVAILABLE',
  'KEYCHAIN_LOCKED',
  'STORAGE_FAILED',
];

/**
 * Sends the customer to the activate page and resolves with the new set (masked)
 * once the extension handed its key over; the customer's request stands in for
 * the popup's confirmation. Rejects with ReactivationError.
 */
export async function reactivate(productCode: string, opts: ReactivateOptions = {}): Promise<ReactivatedSet> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_REACTIVATION_MS;
  if (!Number.isFinite(timeoutMs) || timeoutMs < 1000 || timeoutMs > MAX_REACTIVATION_MS) {
    throw new ReactivationError('BAD_TIMEOUT', `timeoutMs must be from 1000 to ${MAX_REACTIVATION_MS} (an hour).`);
  }
  try {
    const settings = await resolveSettings(
      {
        ...(opts.config !== undefined ? { config: opts.config } : {}),
        ...(opts.dataDir !== undefined ? { dataDir: opts.dataDir } : {}),
      },
      opts.env ?? process.env,
    );
    const services = await createHostServices(settings);
    return await reactivateProduct(services, productCode, {
      timeoutMs,
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.openBrowser !== false ? { openActivatePage: async (url: string) => void (await open(url)) } : {}),
    });
  } catch (error) {
    if (error instanceof ReactivationEndedError)
      throw new ReactivationError(error.reason === 'timed-out' ? 'TIMED_OUT' : 'ABORTED', error.message);
    if (error instanceof ConfigError) throw new ReactivationError('VENDOR_CONFIGURATION', error.message);
    if (error instanceof HostError && PASSED_ON.includes(error.code))
      throw new ReactivationError(error.code as ReactivationErrorCode, error.message);
    throw new ReactivationError('INTERNAL', error instanceof Error ? error.message : String(error));
  }
}

export interface CredentialsWatch {
  /** Settles when the loopback connection ends (the companion stopped, or stop()). */
  readonly closed: Promise<{ code: number; reason: string }>;
  stop(): Promise<void>;
}

/**
 * Calls `onChange` after every stored, replaced or forgotten set of the product,
 * whichever process made the change; needs `devpay-companion serve` running.
 * Rejects with LoopbackUnavailableError when it is not.
 */
export async function watchCredentials(
  productCode: string,
  onChange: (event: CredentialsEvent) => void,
  opts: ConnectLoopbackOptions = {},
): Promise<CredentialsWatch> {
  const channel = await connectLoopback(opts);
  channel.onEvent((event) => {
    if (event.product.code === productCode) onChange(event);
  });
  return { closed: channel.closed, stop: () => channel.close() };
}

/**
 * A reactivation the desktop product started: record the pending reactivation,
 * send the customer to the activate page, and wait until a new set is stored
 * for the product (by the host the browser started, or a key pasted meanwhile),
 * the time is up, or the caller gives up. The old set is never touched here:
 * only a new activation replaces it. The pending record goes when this ends.
 */
import { stat } from 'node:fs/promises';
import { maskIdentifier } from '../../shared/activation-key.ts';
import type { ProductRef } from '../errors.ts';
import type { HostServices } from '../services.ts';
import {
  clearPendingReactivation,
  MAX_REACTIVATION_MS,
  recordPendingReactivation,
  type PendingReactivation,
} from './pending-reactivation.ts';
import { productRef, requireProduct } from './products.ts';

/** How often the credentials file is looked at (a stat; the keychain only when the file changed). */
const POLL_MS = 250;

export interface ReactivatedSet {
  product: ProductRef;
  /** Masked. */
  accessKeyId: string;
  /** ISO-8601. */
  activatedAt: string;
}

/** The wait ended without a new set; the old one is as it was. */
export class ReactivationEndedError extends Error {
  override name = 'ReactivationEndedError';
  constructor(
    readonly reason: 'timed-out' | 'aborted',
    readonly product: ProductRef,
    message: string,
  ) {
    super(message);
  }
}

/** The one wording of a cancelled reactivation (the caller's signal, Ctrl+C at the CLI's prompt). */
export function reactivationCancelled(product: ProductRef): ReactivationEndedError {
  return new ReactivationEndedError(
    'aborted',
    product,
    `The reactivation of ${product.name} was cancelled; its stored credentials are as they were.`,
  );
}

export interface ReactivationOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /** Sends the customer to the activate page (left out: they are told where it is by the caller). */
  openActivatePage?: (url: string) => Promise<void>;
  /** Called once the record is written: the wait has begun. */
  onWaiting?: (record: PendingReactivation) => void;
  /** Another way to a new set, raced with the browser (the CLI's paste prompt); its signal fires when the race is over. */
  alsoWaitFor?: (signal: AbortSignal) => Promise<ReactivatedSet>;
}

export type ReactivationServices = Pick<HostServices, 'config' | 'dataDir' | 'store' | 'now' | 'log'>;

export async function reactivateProduct(
  services: ReactivationServices,
  productCode: string,
  options: ReactivationOptions,
): Promise<ReactivatedSet> {
  const product = requireProduct(services.config, productCode);
  const ref = productRef(product);
  const timeoutMs = Math.min(options.timeoutMs, MAX_REACTIVATION_MS);
  // Know the keychain works before the customer goes to get a key.
  await services.store.assertKeychainWorks();
  const record = await recordPendingReactivation(services.dataDir, product.code, { now: services.now(), timeoutMs });
  services.log.info('reactivation pending', { product: product.code, until: new Date(record.expiresAt).toISOString() });
  const done = new AbortController();
  try {
    options.onWaiting?.(record);
    const racers: Promise<ReactivatedSet>[] = [
      waitForNewSet(services, ref, record.createdAt, done.signal),
      endOfWait(ref, timeoutMs, options.signal, done.signal),
    ];
    if (options.alsoWaitFor) racers.push(options.alsoWaitFor(done.signal));
    if (options.openActivatePage) {
      await options
        .openActivatePage(services.config.activateUrl)
        .catch((error: unknown) => services.log.warn('could not open the activate page', { error: String(error) }));
    }
    return await Promise.race(racers);
  } finally {
    done.abort();
    await clearPendingReactivation(services.dataDir, product.code, record.id).catch(() => undefined);
  }
}

/** Resolves with the first readable set stored for the product since `since` (ms). */
async function waitForNewSet(
  services: ReactivationServices,
  product: ProductRef,
  since: number,
  signal: AbortSignal,
): Promise<ReactivatedSet> {
  const file = services.store.fileFor(product.code);
  let seen: string | null | undefined;
  while (!signal.aborted) {
    const identity = await stat(file).then(
      (s) => `${s.ino}:${s.size}:${s.mtimeMs}`,
      () => null,
    );
    if (identity !== seen && identity !== null) {
      const stored = await services.store.read(product.code);
      if (stored.state === 'activated' && Date.parse(stored.credentials.activatedAt) >= since) {
        return {
          product,
          accessKeyId: maskIdentifier(stored.credentials.accessKeyId),
          activatedAt: stored.credentials.activatedAt,
        };
      }
    }
    seen = identity;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  return new Promise(() => undefined); // the race is over
}

function endOfWait(
  product: ProductRef,
  timeoutMs: number,
  caller: AbortSignal | undefined,
  done: AbortSignal,
): Promise<never> {
  return new Promise((_, reject) => {
    const timer = setTimeout(() => {
      reject(
        new ReactivationEndedError(
          'timed-out',
          product,
          `No new key for ${product.name} arrived within ${Math.round(timeoutMs / 1000)} s; its stored credentials are as they were. Run the reactivation again when the customer is ready.`,
        ),
      );
    }, timeoutMs);
    const onAbort = () => {
      clearTimeout(timer);
      reject(reactivationCancelled(product));
    };
    if (caller?.aborted) onAbort();
    caller?.addEventListener('abort', onAbort, { once: true });
    done.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        caller?.removeEventListener('abort', onAbort);
      },
      { once: true },
    );
  });
}

/**
 * A pending reactivation: the customer asked the desktop product for a new set
 * (`devpay-companion reactivate`), so the next key taken from the activate page
 * for that product may replace the stored set without the popup's confirmation.
 *
 * One record per product (`<dataDir>/reactivation/<CODE>.json`, 0600 in a 0700
 * folder, replaced atomically). It holds no key: the product, an id and its
 * lifetime. This module is the one owner of the rule that lifts the
 * confirmation (`liftsConfirmation`); the host applies it, never the extension.
 */
import { randomUUID } from 'node:crypto';
import { chmod, mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import * as v from 'valibot';
import writeFileAtomic from 'write-file-atomic';
import type { KeySource, ProductStatus } from '../../shared/messages.ts';
import { isProductCode, ProductCodeSchema } from '../../shared/product-code.ts';
import { HostError } from '../errors.ts';

export const DEFAULT_REACTIVATION_MS = 15 * 60_000;
/** A key lives an hour: a reactivation waiting longer could only end with a stale key. */
export const MAX_REACTIVATION_MS = 60 * 60_000;
const MAX_RECORD_BYTES = 1024;

const PendingReactivationSchema = v.pipe(
  v.strictObject({
    version: v.literal(1),
    productCode: ProductCodeSchema,
    id: v.pipe(v.string(), v.uuid()),
    /** ms since the epoch. */
    createdAt: v.pipe(v.number(), v.integer(), v.minValue(0)),
    expiresAt: v.pipe(v.number(), v.integer(), v.minValue(0)),
  }),
  // A record that claims more than the maximum was not written by us: it lifts nothing.
  v.check((r) => r.expiresAt > r.createdAt && r.expiresAt - r.createdAt <= MAX_REACTIVATION_MS),
);
export type PendingReactivation = v.InferOutput<typeof PendingReactivationSchema>;

export function reactivationFolder(dataDir: string): string {
  return join(dataDir, 'reactivation');
}

function recordFile(dataDir: string, productCode: string): string {
  if (!isProductCode(productCode))
    throw new HostError('UNKNOWN_PRODUCT', 'Product codes are 1 to 32 letters and digits.');
  return join(reactivationFolder(dataDir), `${productCode}.json`);
}

/** Records (or replaces) the product's pending reactivation, lasting `timeoutMs` (capped at an hour). */
export async function recordPendingReactivation(
  dataDir: string,
  productCode: string,
  options: { now: number; timeoutMs: number },
): Promise<PendingReactivation> {
  const lasts = Math.min(Math.max(1, Math.round(options.timeoutMs)), MAX_REACTIVATION_MS);
  const record: PendingReactivation = {
    version: 1,
    productCode,
    id: randomUUID(),
    createdAt: options.now,
    expiresAt: options.now + lasts,
  };
  const folder = reactivationFolder(dataDir);
  try {
    await mkdir(folder, { recursive: true, mode: 0o700 });
    await chmod(folder, 0o700);
    await writeFileAtomic(recordFile(dataDir, productCode), JSON.stringify(record), { mode: 0o600, fsync: true });
  } catch (error) {
    if (error instanceof HostError) throw error;
    throw new HostError(
      'STORAGE_FAILED',
      `The pending reactivation could not be recorded in ${folder} (${(error as NodeJS.ErrnoException).code ?? 'error'}). Fix the folder's permissions and try again.`,
    );
  }
  return record;
}

/** The product's record as written, whether or not it still lasts; null when there is none or the file is not ours. */
async function readRecord(dataDir: string, productCode: string): Promise<PendingReactivation | null> {
  let text: string;
  try {
    text = await readFile(recordFile(dataDir, productCode), 'utf8');
  } catch {
    return null;
  }
  if (text.length > MAX_RECORD_BYTES) return null;
  try {
    const parsed = v.safeParse(PendingReactivationSchema, JSON.parse(text));
    return parsed.success && parsed.output.productCode === productCode ? parsed.output : null;
  } catch {
    return null;
  }
}

/** The product's pending reactivation while it lasts; null when there is none, it expired, or the file is not ours. */
export async function readPendingReactivation(
  dataDir: string,
  productCode: string,
  now: number,
): Promise<PendingReactivation | null> {
  const record = await readRecord(dataDir, productCode);
  return record !== null && now >= record.createdAt && now < record.expiresAt ? record : null;
}

/** Removes the product's record; with `id`, only while it is still that one (a second `reactivate` may have replaced it). */
export async function clearPendingReactivation(dataDir: string, productCode: string, id?: string): Promise<void> {
  if (id !== undefined && (await readRecord(dataDir, productCode))?.id !== id) return;
  await rm(recordFile(dataDir, productCode), { force: true });
}

/** Where a key came from, as the host judges it for lifting the confirmation. */
export interface KeyOrigin {
  keySource?: KeySource | undefined;
  pageUrl?: string | undefined;
}

/** Whether the page is the configured activate page (any port, http or https: Amazon moves between them). */
export function isActivatePage(pageUrl: string | undefined, activateUrl: string): boolean {
  if (pageUrl === undefined) return false;
  try {
    const page = new URL(pageUrl);
    const activate = new URL(activateUrl);
    return (
      /^https?:$/.test(page.protocol) &&
      page.hostname === activate.hostname &&
      page.pathname.startsWith(activate.pathname)
    );
  } catch {
    return false;
  }
}

/**
 * The rule: a pending reactivation lifts the confirmation only for a key a key page
 * showed (never one from a redirect URL), on the activate page, for that product,
 * while the record lasts. Returns the record that lifted it, or null.
 */
export async function liftsConfirmation(
  services: { dataDir: string; now: () => number; config: { activateUrl: string } },
  productCode: string,
  origin: KeyOrigin,
): Promise<PendingReactivation | null> {
  if (origin.keySource !== 'key-page' || !isActivatePage(origin.pageUrl, services.config.activateUrl)) return null;
  return readPendingReactivation(services.dataDir, productCode, services.now());
}

/** The status reply's products, each with until when a reactivation waits for its new key (the popup says so). */
export async function withPendingReactivations(
  services: { dataDir: string; now: () => number },
  products: ProductStatus[],
): Promise<ProductStatus[]> {
  const now = services.now();
  return Promise.all(
    products.map(async (p) => {
      const pending = await readPendingReactivation(services.dataDir, p.code, now);
      return { ...p, reactivationPendingUntil: pending ? new Date(pending.expiresAt).toISOString() : null };
    }),
  );
}

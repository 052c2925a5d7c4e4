/**
 * One activation, whoever asked for it (the extension over native messaging or
 * the loopback channel, the CLI): check the key, pick the product (trying each
 * product token in turn when none is named), call the License Service, store
 * the set; and forgetting a product's set. Throws HostError (LicenseServiceError
 * included); never logs the key or a credential (they are registered for
 * redaction as soon as they are known).
 */
import { maskIdentifier } from '../../shared/activation-key.ts';
import type { Product } from '../../shared/config.ts';
import { HostError, type ProductRef } from '../errors.ts';
import { activateDesktopProduct, DEFAULT_TOTAL_BUDGET_MS, type ActivationResult } from '../license-service/client.ts';
import { LicenseServiceError } from '../license-service/errors.ts';
import { checkActivationKey } from '../license-service/key-check.ts';
import type { HostServices } from '../services.ts';
import { clearPendingReactivation, liftsConfirmation, type KeyOrigin } from './pending-reactivation.ts';
import { productRef, requireProduct } from './products.ts';

/** What an activation uses of the host's services. */
export type ActivationServices = Pick<
  HostServices,
  'config' | 'dataDir' | 'store' | 'licenseService' | 'now' | 'events' | 'log'
>;

export interface ActivationRequest {
  /** As captured or pasted; normalised here. */
  key: string;
  productCode?: string;
  /** ms since the epoch. */
  capturedAt: number;
  /** The customer confirmed replacing an existing set. */
  replace: boolean;
  /** For the log only: where the key came from. */
  source: 'browser' | 'cli' | 'loopback';
  /** The page the key was found on; only its origin is logged (a redirect URL's query holds the key). */
  pageUrl?: string;
  /** Where the extension took the key (a pending reactivation may lift the confirmation: pending-reactivation.ts). */
  keySource?: KeyOrigin['keySource'];
  signal?: AbortSignal;
}

export interface ActivationOutcome {
  product: ProductRef;
  /** Masked. */
  accessKeyId: string;
  activatedAt: string;
  replaced: boolean;
  requestId: string | null;
}

export async function activate(services: ActivationServices, request: ActivationRequest): Promise<ActivationOutcome> {
  const { config, store, log } = services;
  const activateUrl = config.activateUrl;
  log.redact(request.key);

  // Refuse a malformed or stale key before the keychain or the network is touched.
  const key = checkActivationKey(request.key, { capturedAt: request.capturedAt, now: services.now(), activateUrl });
  log.redact(key);
  const candidates: Product[] =
    request.productCode !== undefined ? [requireProduct(config, request.productCode)] : [...config.products];

  // Know the keychain works before spending the customer's time on the network.
  await store.assertKeychainWorks();
  if (
    candidates.length === 1 &&
    !request.replace &&
    !(await liftsConfirmation(services, candidates[0]!.code, request))
  ) {
    const existing = await store.read(candidates[0]!.code);
    if (existing.state === 'activated') throw alreadyActivated(candidates[0]!);
  }

  log.info('activating', {
    source: request.source,
    page: pageOrigin(request.pageUrl),
    products: candidates.map((p) => p.code).join(','),
    replace: request.replace,
  });
  let result: ActivationResult | undefined;
  let product: Product | undefined;
  // One budget for the whole activation, however many product tokens it tries.
  const deadline = services.now() + (services.licenseService.totalBudgetMs ?? DEFAULT_TOTAL_BUDGET_MS);
  for (const candidate of candidates) {
    if (deadline - services.now() <= 0) {
      throw new HostError(
        'SERVICE_UNAVAILABLE',
        'The License Service did not answer in time for every product; nothing was changed. Try again in a few minutes.',
      );
    }
    try {
      result = await activateDesktopProduct({
        endpoint: services.licenseService.endpoint,
        productToken: candidate.productToken,
        activationKey: key,
        keyCapturedAt: request.capturedAt,
        activateUrl,
        product: productRef(candidate),
        ...(services.licenseService.ca !== undefined ? { ca: services.licenseService.ca } : {}),
        totalBudgetMs: Math.max(0, deadline - services.now()),
        ...(services.licenseService.requestTimeoutMs !== undefined
          ? { requestTimeoutMs: services.licenseService.requestTimeoutMs }
          : {}),
        ...(services.licenseService.retryBaseDelayMs !== undefined
          ? { retryBaseDelayMs: services.licenseService.retryBaseDelayMs }
          : {}),
        ...(request.signal ? { signal: request.signal } : {}),
        log: (line) => log.info(line, { product: candidate.code }),
        now: services.now,
      });
      product = candidate;
      break;
    } catch (error) {
      if (error instanceof LicenseServiceError && error.code === 'INCORRECT_KEY' && candidates.length > 1) {
        log.info('key belongs to another product; trying the next one', { product: candidate.code });
        continue;
      }
      throw error;
    }
  }
  if (!result || !product) {
    throw new HostError(
      'INCORRECT_KEY',
      `This activation key is for a DevPay product that is not one of ${config.vendor.name}'s products here (${config.products.map((p) => p.name).join(', ')}). Use the key shown when you bought the product, or get one at ${activateUrl}.`,
      { activateUrl },
    );
  }

  const { credentials } = result;
  log.redact(credentials.accessKeyId);
  log.redact(credentials.secretAccessKey);
  log.redact(credentials.userToken);
  const activatedAt = new Date(services.now()).toISOString();
  const requestId = result.requestId ?? null;
  // The customer asked the product for this reactivation: that is the confirmation (the rule is the record's own).
  const reactivation = request.replace ? null : await liftsConfirmation(services, product.code, request);
  // With the product found by trying tokens, an existing set is only replaced on confirmation: the new set is dropped.
  const { replaced } = await store
    .replace(
      product.code,
      {
        accessKeyId: credentials.accessKeyId,
        secretAccessKey: credentials.secretAccessKey,
        userToken: credentials.userToken,
        activatedAt,
        requestId,
      },
      { allowReplace: request.replace || reactivation !== null, product: productRef(product) },
    )
    .catch((error: unknown) => {
      if (error instanceof HostError && error.code === 'ALREADY_ACTIVATED') throw alreadyActivated(product);
      throw error;
    });
  log.info(replaced ? 'credentials replaced' : 'credentials stored', {
    product: product.code,
    requestId,
    reactivation: reactivation !== null,
  });
  // A new set is there, however it came: nothing is pending for the product any more.
  await clearPendingReactivation(services.dataDir, product.code).catch((error: unknown) =>
    log.warn('could not clear the pending reactivation', { product: product.code, error: String(error) }),
  );
  services.events.emit('credentials-changed', {
    type: 'credentials-changed',
    product: productRef(product),
    change: replaced ? 'replaced' : 'stored',
    at: activatedAt,
  });
  return {
    product: productRef(product),
    accessKeyId: maskIdentifier(credentials.accessKeyId),
    activatedAt,
    replaced,
    requestId,
  };
}

function pageOrigin(pageUrl: string | undefined): string | undefined {
  if (pageUrl === undefined) return undefined;
  try {
    return new URL(pageUrl).origin;
  } catch {
    return 'unparsable';
  }
}

function alreadyActivated(product: Product): HostError {
  return new HostError(
    'ALREADY_ACTIVATED',
    `${product.name} is already activated on this computer. Replace its credentials with this key's only if you meant to (for example, to switch to another Amazon account).`,
    { product: productRef(product) },
  );
}

/** Removes a product's set and says so to listeners. */
export async function forget(
  services: Pick<HostServices, 'config' | 'store' | 'now' | 'events' | 'log'>,
  productCode: string,
): Promise<{ product: ProductRef; removedFile: boolean; removedKey: boolean }> {
  const product = requireProduct(services.config, productCode);
  const outcome = await services.store.forget(product.code);
  if (outcome.removedFile || outcome.removedKey) {
    services.log.info('credentials forgotten', { product: product.code });
    services.events.emit('credentials-changed', {
      type: 'credentials-changed',
      product: productRef(product),
      change: 'forgotten',
      at: new Date(services.now()).toISOString(),
    });
  }
  return { product: productRef(product), ...outcome };
}

/**
 * One activation, whoever asked for it (the extension over native messaging, the
 * CLI, later the loopback channel): check the key, pick the product, call the
 * License Service, store the set. Throws HostError; never logs the key or a
 * credential (they are registered for redaction as soon as they are known).
 */
import { isWithinKeyLifetime, KEY_CHECK_MESSAGES, maskIdentifier, normaliseActivationKey } from '../../shared/activation-key.ts';
import { findProduct, type Product } from '../../shared/config.ts';
import { HostError, type ProductRef } from '../errors.ts';
import { activateDesktopProduct, DEFAULT_TOTAL_BUDGET_MS, type ActivationResult } from '../license-service/client.ts';
import { LicenseServiceError } from '../license-service/errors.ts';
import type { HostServices } from '../services.ts';

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

function ref(product: Product): ProductRef {
  return { code: product.code, name: product.name };
}

export async function activate(services: HostServices, request: ActivationRequest): Promise<ActivationOutcome> {
  const { config, store, log } = services;
  const activateUrl = config.activateUrl;
  log.redact(request.key);

  const checked = normaliseActivationKey(request.key);
  if (!checked.ok) {
    throw new HostError('MALFORMED_KEY', `${KEY_CHECK_MESSAGES[checked.reason]} Copy it again from the top frame of the confirmation page, or get a new one at ${activateUrl}.`, {
      activateUrl,
    });
  }
  const key = checked.key;
  log.redact(key);
  const now = services.now();
  if (request.capturedAt > now + 60_000) {
    throw new HostError('BAD_MESSAGE', 'The time the key was captured lies in the future; check the computer clock.');
  }
  if (!isWithinKeyLifetime(request.capturedAt, now)) {
    throw new HostError('KEY_TOO_OLD', `This activation key was shown over an hour ago, so it has expired. Get a new key at ${activateUrl} and activate again.`, {
      activateUrl,
    });
  }

  let candidates: Product[];
  if (request.productCode !== undefined) {
    const product = findProduct(config, request.productCode);
    if (!product) {
      throw new HostError('UNKNOWN_PRODUCT', `Product ${request.productCode} is not one of ${config.vendor.name}'s products here (${config.products.map((p) => p.code).join(', ')}).`);
    }
    candidates = [product];
  } else {
    candidates = [...config.products];
  }

  // Know the keychain works before spending the customer's time on the network.
  await store.assertKeychainWorks();
  if (candidates.length === 1 && !request.replace) {
    const existing = await store.read(candidates[0]!.code);
    if (existing.state === 'activated') throw alreadyActivated(candidates[0]!);
  }

  log.info('activating', { source: request.source, page: pageOrigin(request.pageUrl), products: candidates.map((p) => p.code).join(','), replace: request.replace });
  let result: ActivationResult | undefined;
  let product: Product | undefined;
  // One budget for the whole activation, however many product tokens it tries.
  const deadline = services.now() + (services.licenseService.totalBudgetMs ?? DEFAULT_TOTAL_BUDGET_MS);
  for (const candidate of candidates) {
    if (deadline - services.now() <= 0) {
      throw new HostError('SERVICE_UNAVAILABLE', 'The License Service did not answer in time for every product; nothing was changed. Try again in a few minutes.');
    }
    try {
      result = await activateDesktopProduct({
        endpoint: services.licenseService.endpoint,
        productToken: candidate.productToken,
        activationKey: key,
        keyCapturedAt: request.capturedAt,
        activateUrl,
        productName: candidate.name,
        ...(services.licenseService.ca !== undefined ? { ca: services.licenseService.ca } : {}),
        totalBudgetMs: Math.max(0, deadline - services.now()),
        ...(services.licenseService.requestTimeoutMs !== undefined ? { requestTimeoutMs: services.licenseService.requestTimeoutMs } : {}),
        ...(services.licenseService.retryBaseDelayMs !== undefined ? { retryBaseDelayMs: services.licenseService.retryBaseDelayMs } : {}),
        ...(request.signal ? { signal: request.signal } : {}),
        log: (line) => log.info(line, { product: candidate.code }),
        now: services.now,
      });
      product = candidate;
      break;
    } catch (error) {
      if (error instanceof LicenseServiceError) {
        if (error.code === 'INCORRECT_KEY' && candidates.length > 1) {
          log.info('key belongs to another product; trying the next one', { product: candidate.code });
          continue;
        }
        throw fromLicenseServiceError(error, candidate);
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
  // With the product found by trying tokens, an existing set is only replaced on confirmation: the new set is dropped.
  const { replaced } = await store.replace(
    product.code,
    { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey, userToken: credentials.userToken, activatedAt, requestId },
    { allowReplace: request.replace, product: ref(product) },
  ).catch((error: unknown) => {
    if (error instanceof HostError && error.code === 'ALREADY_ACTIVATED') throw alreadyActivated(product);
    throw error;
  });
  log.info(replaced ? 'credentials replaced' : 'credentials stored', { product: product.code, requestId });
  services.events.emit('credentials-changed', {
    type: 'credentials-changed',
    product: ref(product),
    change: replaced ? 'replaced' : 'stored',
    at: activatedAt,
  });
  return { product: ref(product), accessKeyId: maskIdentifier(credentials.accessKeyId), activatedAt, replaced, requestId };
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
    { product: ref(product) },
  );
}

function fromLicenseServiceError(error: LicenseServiceError, product: Product): HostError {
  const details: { product: ProductRef; activateUrl?: string } = { product: ref(product) };
  if (error.activateUrl !== undefined) details.activateUrl = error.activateUrl;
  return new HostError(error.code, error.message, details);
}

/** Removes a product's set and says so to listeners. */
export async function forget(services: HostServices, productCode: string): Promise<{ product: ProductRef; removedFile: boolean; removedKey: boolean }> {
  const product = findProduct(services.config, productCode);
  if (!product) {
    throw new HostError('UNKNOWN_PRODUCT', `Product ${productCode} is not one of ${services.config.vendor.name}'s products here (${services.config.products.map((p) => p.code).join(', ')}).`);
  }
  const outcome = await services.store.forget(product.code);
  if (outcome.removedFile || outcome.removedKey) {
    services.log.info('credentials forgotten', { product: product.code });
    services.events.emit('credentials-changed', { type: 'credentials-changed', product: ref(product), change: 'forgotten', at: new Date(services.now()).toISOString() });
  }
  return { product: ref(product), ...outcome };
}

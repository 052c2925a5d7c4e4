/**
 * What is stored for the vendor's products, as the CLI, the protocol and api.ts
 * report it: every product's status, and one product's credentials (with the
 * one wording of "not activated" and "unreadable: reactivate").
 */
import { maskIdentifier } from '../../shared/activation-key.ts';
import type { Product } from '../../shared/config.ts';
import type { ProductStatus } from '../../shared/messages.ts';
import type { ProductRef } from '../errors.ts';
import { HostError } from '../errors.ts';
import type { HostServices } from '../services.ts';
import { CREDENTIALS_UNREADABLE_MESSAGE, type StoredCredentials } from '../store/credential-store.ts';
import { productRef, requireProduct } from './products.ts';

/** No credentials are stored for the product (not an error code of the protocol: status says "not activated"). */
export class NotActivatedError extends Error {
  override name = 'NotActivatedError';
  constructor(readonly product: ProductRef) {
    super(
      `${product.name} (${product.code}) is not activated on this computer: run devpay-companion activate --product ${product.code}.`,
    );
  }
}

/** Each configured product's state; a broken keychain throws, it is not "not activated". */
export async function productStatuses(services: Pick<HostServices, 'config' | 'store'>): Promise<ProductStatus[]> {
  const out: ProductStatus[] = [];
  for (const product of services.config.products) {
    const stored = await services.store.read(product.code);
    out.push({
      code: product.code,
      name: product.name,
      activated: stored.state === 'activated',
      activatedAt: stored.state === 'activated' ? stored.credentials.activatedAt : null,
      accessKeyId: stored.state === 'activated' ? maskIdentifier(stored.credentials.accessKeyId) : null,
      state: stored.state,
    });
  }
  return out;
}

/**
 * The stored credentials of one product. Throws UNKNOWN_PRODUCT, NotActivatedError,
 * CREDENTIALS_UNREADABLE (reactivate), or the store's keychain and storage errors.
 */
export async function readProductCredentials(
  services: Pick<HostServices, 'config' | 'store'>,
  productCode: string,
): Promise<{ product: Product; credentials: StoredCredentials }> {
  const product = requireProduct(services.config, productCode);
  const stored = await services.store.read(product.code);
  if (stored.state === 'not-activated') throw new NotActivatedError(productRef(product));
  if (stored.state === 'unreadable') {
    throw new HostError(
      'CREDENTIALS_UNREADABLE',
      `${product.name}: ${CREDENTIALS_UNREADABLE_MESSAGE} (devpay-companion activate --product ${product.code}).`,
      { product: productRef(product) },
    );
  }
  return { product, credentials: stored.credentials };
}

/**
 * The vendor's products as every command and request names them: looking one up
 * by code (with the one "unknown product" message) and the reference replies carry.
 */
import { findProduct, type Product, type VendorConfig } from '../../shared/config.ts';
import { HostError, type ProductRef } from '../errors.ts';

/** The configured product with this code; UNKNOWN_PRODUCT, listing the codes there are, otherwise. */
export function requireProduct(config: VendorConfig, code: string): Product {
  const product = findProduct(config, code);
  if (!product) {
    throw new HostError(
      'UNKNOWN_PRODUCT',
      `Product ${code} is not one of ${config.vendor.name}'s products here; choose one of: ${config.products.map((p) => p.code).join(', ')}.`,
    );
  }
  return product;
}

export function productRef(product: Product): ProductRef {
  return { code: product.code, name: product.name };
}

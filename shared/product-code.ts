/**
 * The DevPay product code's format (`ProductCode` on Amazon's redirect URL, `code`
 * in the vendor configuration): 1 to 32 letters and digits. Every check of a
 * product code, on either side, uses this.
 */
import * as v from 'valibot';

export const PRODUCT_CODE_PATTERN = /^[A-Za-z0-9]{1,32}$/;

export const ProductCodeSchema = v.pipe(
  v.string(),
  v.regex(PRODUCT_CODE_PATTERN, 'must be 1 to 32 letters and digits'),
);

export function isProductCode(text: string): boolean {
  return PRODUCT_CODE_PATTERN.test(text);
}

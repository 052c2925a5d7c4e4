/**
 * The bottom frame of the split confirmation page is the vendor's redirect URL,
 * to which Amazon appends `ActivationKey` and `ProductCode`. Reads them, and
 * takes nothing when either is repeated with different values or malformed.
 */
import { normaliseActivationKey } from '../../shared/activation-key.ts';
import { isProductCode } from '../../shared/product-code.ts';

export type RedirectParams =
  | { ok: true; key: string; productCode?: string }
  | { ok: false; reason: 'no-key' | 'ambiguous' | 'malformed-key' | 'malformed-product' };

const MAX_URL_LENGTH = 8192;

/** Distinct values of a query parameter, its name compared without case. */
function valuesOf(params: URLSearchParams, name: string): string[] {
  const wanted = name.toLowerCase();
  const values = new Set<string>();
  for (const [key, value] of params) if (key.toLowerCase() === wanted) values.add(value);
  return [...values];
}

export function readRedirectParams(url: string): RedirectParams {
  if (url.length > MAX_URL_LENGTH) return { ok: false, reason: 'no-key' };
  let params: URLSearchParams;
  try {
    params = new URL(url).searchParams;
  } catch {
    return { ok: false, reason: 'no-key' };
  }
  const keys = valuesOf(params, 'ActivationKey');
  const codes = valuesOf(params, 'ProductCode');
  if (keys.length === 0) return { ok: false, reason: 'no-key' };
  if (keys.length > 1 || codes.length > 1) return { ok: false, reason: 'ambiguous' };
  const check = normaliseActivationKey(keys[0]!);
  if (!check.ok) return { ok: false, reason: 'malformed-key' };
  const [code] = codes;
  if (code === undefined || code === '') return { ok: true, key: check.key };
  if (!isProductCode(code)) return { ok: false, reason: 'malformed-product' };
  return { ok: true, key: check.key, productCode: code };
}

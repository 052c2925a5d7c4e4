/**
 * One rule per format, the same at every boundary: a product code the vendor
 * configuration accepts is one the protocol, the popup and the redirect URL
 * reader accept too, and the other way round; the same for the activation key.
 */
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { readRedirectParams } from '../extension/lib/redirect-params.ts';
import { KeyFoundMessageSchema, PopupRequestSchema, ProductViewSchema } from '../extension/lib/runtime-messages.ts';
import { ActivationKeySchema, normaliseActivationKey } from '../shared/activation-key.ts';
import { ProductSchema } from '../shared/config.ts';
import { parseRequest } from '../shared/messages.ts';

const KEY = 'ADMAY7DVLJTWHJ76MMBMQYT5LATA';
const TOKEN = '{ProductToken}vksyIC1SQh4GlF1i1Ip2DZWHR4ZfsFKmdZ52dh3AwxHTzpvfXml2mPVq9GDin5U/slaJ1+u49Xas=';

/** Whether each boundary takes `code` as a product code. */
function verdicts(code: string) {
  return {
    config: v.is(ProductSchema, { code, name: 'Acme Backup', productToken: TOKEN }),
    protocol: parseRequest({ type: 'activate', id: '1', key: KEY, productCode: code, capturedAt: 1 }).ok,
    contentScript: v.is(KeyFoundMessageSchema, {
      type: 'devpay:key-found',
      key: KEY,
      productCode: code,
      capturedAt: 1,
    }),
    popup: v.is(PopupRequestSchema, { type: 'popup:retry', product: code }),
    redirectUrl: readRedirectParams(`https://v.test/w?ActivationKey=${KEY}&ProductCode=${encodeURIComponent(code)}`).ok,
  };
}

describe('the product-code rule', () => {
  it.each(['A', 'ACMEBK01', 'acme2', 'A'.repeat(32)])('%s is a product code everywhere', (code) => {
    expect(verdicts(code)).toEqual({
      config: true,
      protocol: true,
      contentScript: true,
      popup: true,
      redirectUrl: true,
    });
  });

  it.each(['A'.repeat(33), 'ACME-BK01', 'ACME BK01', 'ACMÉ01'])('%s is refused everywhere', (code) => {
    expect(verdicts(code)).toEqual({
      config: false,
      protocol: false,
      contentScript: false,
      popup: false,
      redirectUrl: false,
    });
  });
});

describe('the activation-key rule', () => {
  it('what normalising accepts is what the extension may hold and show, and nothing else', () => {
    const view = (key: string) => ({
      code: 'ACMEBK01',
      name: 'Acme Backup',
      homepage: null,
      state: 'fallback',
      activatedAt: null,
      accessKeyId: null,
      error: null,
      keyHeld: true,
      keyExpiresAt: 1,
      key,
      route: 'paste',
    });
    for (const raw of [
      KEY,
      KEY.toLowerCase(),
      'A'.repeat(16),
      'A'.repeat(30),
      'A'.repeat(15),
      'A'.repeat(31),
      `${KEY}-`,
      '',
    ]) {
      const check = normaliseActivationKey(raw);
      expect(v.is(ActivationKeySchema, raw), raw).toBe(check.ok);
      expect(v.is(ProductViewSchema, view(raw)), raw).toBe(check.ok);
    }
  });
});

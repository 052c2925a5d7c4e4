/**
 * Who may hand the background a key: judged on hand-built senders as the
 * browser would report them, with the demo vendor configuration's pages.
 * Also the content script's own frame check, the redirect URL reader and the
 * pairing of the two frames of a confirmation page.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { extensionBuildConfig } from '../extension/build-config.ts';
import { createFramePolicy } from '../extension/lib/frame-policy.ts';
import { KeyPairing, type PairedKey } from '../extension/lib/key-pairing.ts';
import { readRedirectParams } from '../extension/lib/redirect-params.ts';
import {
  checkContentMessage,
  createSenderCheck,
  type AcceptedKey,
  type SenderLike,
} from '../extension/lib/sender-check.ts';
import { parseVendorConfig } from '../shared/config.ts';

const config = extensionBuildConfig(parseVendorConfig(JSON.parse(readFileSync('shared/config/demo.json', 'utf8'))));
const EXT = 'bjlnkhfkplkddabacdecopbmibdnkiic';
const KEY = 'ADMAY7DVLJTWHJ76MMBMQYT5LATA';
const OTHER_KEY = 'AC6PMWXPBRPDDB426RW4X76I2MXQ';
const CONFIRMATION = 'https://aws-portal.devpay.test/gp/aws/user/subscription/confirm.html?offeringCode=ABCDEFGH';
const REDIRECT = `https://vendor.devpay.test/welcome?ActivationKey=${KEY}&ProductCode=ACMEBK01`;
const now = 1_800_000_000_000;

const check = createSenderCheck({
  extensionId: EXT,
  extensionBaseUrl: `chrome-extension://${EXT}/`,
  keyPages: config.keyPages,
  redirectPages: config.redirectPages,
});

function pageSender(url: string, extra: Partial<SenderLike> = {}): SenderLike {
  return { id: EXT, url, origin: new URL(url).origin, tab: { id: 7 }, frameId: 1, ...extra };
}

const keyFound = (key = KEY, more: object = {}) => ({ type: 'devpay:key-found', key, capturedAt: now - 1000, ...more });

describe('sender check', () => {
  it('accepts our content script in a key page frame and in a redirect frame', () => {
    expect(check(pageSender(CONFIRMATION))).toMatchObject({
      kind: 'page',
      tabId: 7,
      frameId: 1,
      keyPage: true,
      redirectPage: false,
    });
    expect(check(pageSender(REDIRECT))).toMatchObject({ kind: 'page', keyPage: false, redirectPage: true });
    expect(check(pageSender('https://www.devpay.test/dp-activate?x=1'))).toMatchObject({ kind: 'page', keyPage: true });
  });

  it('ignores the port, as the manifest does', () => {
    expect(check(pageSender('https://aws-portal.devpay.test:8443/gp/aws/user/subscription/x'))).toMatchObject({
      kind: 'page',
    });
  });

  it('refuses other extensions, even on an allowed page', () => {
    expect(check(pageSender(CONFIRMATION, { id: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' }))).toEqual({
      kind: 'refused',
      reason: 'other-extension',
    });
    expect(check(pageSender(CONFIRMATION, { id: undefined }))).toEqual({ kind: 'refused', reason: 'other-extension' });
  });

  it('refuses a sender without a tab or without a URL', () => {
    expect(check(pageSender(CONFIRMATION, { tab: undefined }))).toEqual({ kind: 'refused', reason: 'no-tab' });
    expect(check({ id: EXT, tab: { id: 1 } })).toEqual({ kind: 'refused', reason: 'no-url' });
  });

  it('refuses pages outside the configuration, look-alike hosts and the wrong scheme', () => {
    for (const url of [
      'https://evil.test/gp/aws/user/subscription/confirm.html',
      'https://aws-portal.devpay.test.evil.test/gp/aws/user/subscription/x',
      'https://evil.test/?u=https://aws-portal.devpay.test/gp/aws/user/subscription/x',
      'http://aws-portal.devpay.test/gp/aws/user/subscription/x',
      'https://aws-portal.devpay.test/gp/aws/user/other',
      'https://vendor.devpay.test/other?ActivationKey=' + KEY,
    ]) {
      expect(check(pageSender(url)), url).toEqual({ kind: 'refused', reason: 'page-not-allowed' });
    }
  });

  it('refuses sandboxed frames and frames whose origin is not their URL', () => {
    expect(check(pageSender(CONFIRMATION, { origin: 'null' }))).toEqual({ kind: 'refused', reason: 'opaque-origin' });
    expect(check(pageSender(CONFIRMATION, { origin: 'https://evil.test' }))).toEqual({
      kind: 'refused',
      reason: 'origin-mismatch',
    });
  });

  it('knows our own extension pages, and nobody else’s', () => {
    expect(
      check({ id: EXT, url: `chrome-extension://${EXT}/popup.html`, origin: `chrome-extension://${EXT}` }),
    ).toEqual({ kind: 'extension-page' });
    // A popup opened in a tab has a tab: still our page.
    expect(check({ id: EXT, url: `chrome-extension://${EXT}/popup.html`, tab: { id: 3 } })).toEqual({
      kind: 'extension-page',
    });
    expect(check({ id: EXT, url: 'chrome-extension://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/popup.html' })).toMatchObject({
      kind: 'refused',
    });
  });
});

describe('content messages', () => {
  it('takes a key from a key page, never a product code it claims', () => {
    const verdict = checkContentMessage(
      keyFound(KEY, { productCode: 'ACMEPV02' }),
      check(pageSender(CONFIRMATION)),
      now,
    );
    expect(verdict).toEqual({
      kind: 'key',
      accepted: {
        key: KEY,
        source: 'key-page',
        tabId: 7,
        pageUrl: 'https://aws-portal.devpay.test/gp/aws/user/subscription/confirm.html',
        capturedAt: now - 1000,
      },
    });
  });

  it('takes key and product code from the redirect URL the browser reports, and keeps the key out of pageUrl', () => {
    const verdict = checkContentMessage(keyFound(KEY, { productCode: 'ACMEBK01' }), check(pageSender(REDIRECT)), now);
    expect(verdict).toMatchObject({
      kind: 'key',
      accepted: {
        key: KEY,
        productCode: 'ACMEBK01',
        source: 'redirect',
        pageUrl: 'https://vendor.devpay.test/welcome',
      },
    });
    expect(JSON.stringify(verdict).split(KEY).length).toBe(2);
  });

  it('refuses a redirect frame claiming a key or product its URL does not carry', () => {
    expect(checkContentMessage(keyFound(OTHER_KEY), check(pageSender(REDIRECT)), now)).toEqual({
      kind: 'refused',
      reason: 'key-not-in-url',
    });
    expect(checkContentMessage(keyFound(KEY, { productCode: 'ACMEPV02' }), check(pageSender(REDIRECT)), now)).toEqual({
      kind: 'refused',
      reason: 'product-not-in-url',
    });
    expect(checkContentMessage(keyFound(KEY), check(pageSender('https://vendor.devpay.test/welcome')), now)).toEqual({
      kind: 'refused',
      reason: 'key-not-in-url',
    });
  });

  it('refuses malformed messages, keys and times', () => {
    const role = check(pageSender(CONFIRMATION));
    expect(checkContentMessage(keyFound(KEY, { extra: 1 }), role, now)).toEqual({
      kind: 'refused',
      reason: 'bad-message',
    });
    expect(checkContentMessage({ type: 'popup:confirm-replace', product: 'ACMEBK01' }, role, now)).toEqual({
      kind: 'refused',
      reason: 'bad-message',
    });
    expect(checkContentMessage(keyFound('ADMAY7DV-LJTWHJ76'), role, now)).toEqual({
      kind: 'refused',
      reason: 'malformed-key',
    });
    expect(checkContentMessage(keyFound(KEY + 'ABC'), role, now)).toEqual({ kind: 'refused', reason: 'malformed-key' });
    expect(checkContentMessage({ ...keyFound(), capturedAt: now - 3_600_000 }, role, now)).toEqual({
      kind: 'refused',
      reason: 'implausible-time',
    });
    expect(checkContentMessage({ ...keyFound(), capturedAt: now + 600_000 }, role, now)).toEqual({
      kind: 'refused',
      reason: 'implausible-time',
    });
  });

  it('refuses everything from a refused sender, and popup-only senders for page messages', () => {
    expect(checkContentMessage(keyFound(), check(pageSender('https://evil.test/')), now)).toMatchObject({
      kind: 'refused',
    });
    expect(checkContentMessage(keyFound(), { kind: 'extension-page' }, now)).toMatchObject({ kind: 'refused' });
  });

  it('passes on "two keys, none taken" from a key page', () => {
    expect(
      checkContentMessage(
        { type: 'devpay:key-not-taken', reason: 'ambiguous', capturedAt: now },
        check(pageSender(CONFIRMATION)),
        now,
      ),
    ).toEqual({
      kind: 'not-taken',
      reason: 'ambiguous',
      tabId: 7,
    });
  });
});

describe('frame policy (content script)', () => {
  const policy = createFramePolicy(config);
  it('runs in allowed frames only', () => {
    expect(policy({ url: CONFIRMATION, origin: 'https://aws-portal.devpay.test' })).toEqual({
      keyPage: true,
      redirectPage: false,
    });
    expect(policy({ url: REDIRECT, origin: 'https://vendor.devpay.test' })).toEqual({
      keyPage: false,
      redirectPage: true,
    });
    expect(policy({ url: 'https://evil.test/', origin: 'https://evil.test' })).toBeNull();
  });
  it('bails out in sandboxed and srcdoc frames', () => {
    expect(policy({ url: CONFIRMATION, origin: 'null' })).toBeNull();
    expect(policy({ url: 'about:srcdoc', origin: 'https://aws-portal.devpay.test' })).toBeNull();
    expect(policy({ url: CONFIRMATION, origin: 'https://evil.test' })).toBeNull();
  });
});

describe('redirect URL', () => {
  it('reads ActivationKey and ProductCode', () => {
    expect(readRedirectParams(REDIRECT)).toEqual({ ok: true, key: KEY, productCode: 'ACMEBK01' });
    expect(readRedirectParams(`https://v.test/w?activationkey=%E2%80%8B${KEY}%20&productcode=ACMEBK01`)).toEqual({
      ok: true,
      key: KEY,
      productCode: 'ACMEBK01',
    });
    expect(readRedirectParams(`https://v.test/w?ActivationKey=${KEY}`)).toEqual({ ok: true, key: KEY });
  });
  it('takes nothing when unclear or malformed', () => {
    expect(readRedirectParams('https://v.test/w')).toEqual({ ok: false, reason: 'no-key' });
    expect(readRedirectParams(`https://v.test/w?ActivationKey=${KEY}&ActivationKey=${OTHER_KEY}`)).toEqual({
      ok: false,
      reason: 'ambiguous',
    });
    expect(readRedirectParams(`https://v.test/w?ActivationKey=${KEY}&ActivationKey=${KEY}`)).toEqual({
      ok: true,
      key: KEY,
    });
    expect(readRedirectParams(`https://v.test/w?ActivationKey=${KEY}XYZ`)).toEqual({
      ok: false,
      reason: 'malformed-key',
    });
    expect(readRedirectParams(`https://v.test/w?ActivationKey=${KEY}&ProductCode=A-B`)).toEqual({
      ok: false,
      reason: 'malformed-product',
    });
    expect(readRedirectParams('not a url')).toEqual({ ok: false, reason: 'no-key' });
  });
});

describe('pairing the two frames of a confirmation page', () => {
  function harness() {
    const sent: PairedKey[] = [];
    const mismatches: number[] = [];
    const timers: { fn: () => void; ms: number; cleared: boolean }[] = [];
    const pairing = new KeyPairing({
      onKey: (k) => sent.push(k),
      onMismatch: (tab) => mismatches.push(tab),
      now: () => now,
      setTimer: (fn, ms) => {
        const t = { fn, ms, cleared: false };
        timers.push(t);
        return t;
      },
      clearTimer: (t) => {
        (t as { cleared: boolean }).cleared = true;
      },
    });
    const fire = () => timers.filter((t) => !t.cleared).forEach((t) => t.fn());
    return { pairing, sent, mismatches, timers, fire };
  }
  const top = (key = KEY, tabId = 7): AcceptedKey => ({
    key,
    source: 'key-page',
    tabId,
    pageUrl: 'https://aws-portal.devpay.test/x',
    capturedAt: now,
  });
  const bottom = (key = KEY, tabId = 7): AcceptedKey => ({
    key,
    productCode: 'ACMEBK01',
    source: 'redirect',
    tabId,
    pageUrl: 'https://vendor.devpay.test/welcome',
    capturedAt: now,
  });

  const paired = {
    key: KEY,
    productCode: 'ACMEBK01',
    pageUrl: 'https://aws-portal.devpay.test/x',
    capturedAt: now,
    tabId: 7,
    trust: 'trusted',
  };

  it('top frame first: waits, then pairs with the bottom frame’s product code', () => {
    const h = harness();
    expect(h.pairing.offer(top())).toBe('waiting');
    expect(h.sent).toEqual([]);
    expect(h.pairing.offer(bottom())).toBe('paired');
    expect(h.sent).toEqual([paired]);
    h.fire();
    expect(h.sent).toHaveLength(1);
  });

  it('bottom frame first: waits for the top frame, then sends the vouched-for key with the product code', () => {
    const h = harness();
    expect(h.pairing.offer(bottom())).toBe('waiting');
    expect(h.sent).toEqual([]);
    expect(h.timers[0]!.ms).toBeLessThanOrEqual(3000);
    expect(h.pairing.offer(top())).toBe('paired');
    expect(h.sent).toEqual([paired]);
    h.fire();
    expect(h.pairing.offer(bottom())).toBe('repeat');
    expect(h.pairing.offer(top())).toBe('repeat');
    expect(h.sent).toHaveLength(1);
  });

  it('a redirect URL alone (a link anyone can craft) is only passed on for the customer to confirm', () => {
    const h = harness();
    expect(h.pairing.offer(bottom())).toBe('waiting');
    h.fire();
    expect(h.sent).toEqual([
      {
        key: KEY,
        productCode: 'ACMEBK01',
        pageUrl: 'https://vendor.devpay.test/welcome',
        capturedAt: now,
        tabId: 7,
        trust: 'needs-confirmation',
      },
    ]);
    // The key page showing the same key after the wait still vouches for it.
    expect(h.pairing.offer(top())).toBe('paired');
    expect(h.sent[1]).toEqual(paired);
  });

  it('a top frame alone is sent, trusted, without product code after the wait', () => {
    const h = harness();
    h.pairing.offer(top());
    expect(h.timers[0]!.ms).toBeLessThanOrEqual(3000);
    h.fire();
    expect(h.sent).toEqual([
      { key: KEY, pageUrl: 'https://aws-portal.devpay.test/x', capturedAt: now, tabId: 7, trust: 'trusted' },
    ]);
  });

  it('different keys in the frames of one tab: the bottom frame is ignored', () => {
    const h = harness();
    h.pairing.offer(top(KEY));
    expect(h.pairing.offer(bottom(OTHER_KEY))).toBe('mismatch');
    expect(h.mismatches).toEqual([7]);
    h.fire();
    expect(h.sent).toEqual([expect.objectContaining({ key: KEY, trust: 'trusted' })]);
    expect(h.sent[0]!.productCode).toBeUndefined();
  });

  it('different keys, bottom frame first: its key is dropped, the top frame’s goes without product code', () => {
    const h = harness();
    h.pairing.offer(bottom(OTHER_KEY));
    expect(h.pairing.offer(top(KEY))).toBe('mismatch');
    expect(h.mismatches).toEqual([7]);
    h.fire();
    expect(h.sent).toEqual([
      { key: KEY, pageUrl: 'https://aws-portal.devpay.test/x', capturedAt: now, tabId: 7, trust: 'trusted' },
    ]);
  });

  it('two redirect URLs with different keys in one tab: neither is taken', () => {
    const h = harness();
    h.pairing.offer(bottom(KEY));
    expect(h.pairing.offer(bottom(OTHER_KEY))).toBe('mismatch');
    h.fire();
    expect(h.sent).toEqual([]);
  });

  it('keeps tabs apart: a key page in another tab does not vouch for a redirect URL', () => {
    const h = harness();
    h.pairing.offer(top(KEY, 1));
    expect(h.pairing.offer(bottom(KEY, 2))).toBe('waiting');
    h.fire();
    expect(h.mismatches).toEqual([]);
    expect(h.sent.map((k) => [k.tabId, k.trust])).toEqual([
      [1, 'trusted'],
      [2, 'needs-confirmation'],
    ]);
  });

  it('a closed tab’s waiting redirect key is dropped', () => {
    const h = harness();
    h.pairing.offer(bottom());
    h.pairing.forgetTab(7);
    h.fire();
    expect(h.sent).toEqual([]);
  });
});

/**
 * Who sent a runtime message, decided from what the browser says about the
 * sender (`sender.id`, `sender.tab`, `sender.url`, `sender.origin`), never from
 * what the message claims. Pages judge URLs with the same match patterns as the
 * manifest (shared/match-pattern.ts).
 */
import * as v from 'valibot';
import { normaliseActivationKey } from '../../shared/activation-key.ts';
import { compileMatchPatterns } from '../../shared/match-pattern.ts';
import { readRedirectParams } from './redirect-params.ts';
import { ContentMessageSchema } from './runtime-messages.ts';

/** The parts of `runtime.MessageSender` this module reads. */
export interface SenderLike {
  id?: string;
  url?: string;
  origin?: string;
  tab?: { id?: number };
  frameId?: number;
}

export interface SenderPolicy {
  /** `browser.runtime.id`. */
  extensionId: string;
  /** `browser.runtime.getURL('/')`: where the extension's own pages live. */
  extensionBaseUrl: string;
  keyPages: readonly string[];
  redirectPages: readonly string[];
}

export type SenderRole =
  | { kind: 'page'; tabId: number; frameId: number; url: string; keyPage: boolean; redirectPage: boolean }
  | { kind: 'extension-page' }
  | {
      kind: 'refused';
      reason: 'other-extension' | 'no-url' | 'no-tab' | 'opaque-origin' | 'origin-mismatch' | 'page-not-allowed';
    };

export function createSenderCheck(policy: SenderPolicy): (sender: SenderLike) => SenderRole {
  const isKeyPage = compileMatchPatterns(policy.keyPages);
  const isRedirectPage = compileMatchPatterns(policy.redirectPages);
  const base = new URL(policy.extensionBaseUrl);
  // Spelled out: URL.origin is "null" for non-web schemes in some engines.
  const baseOrigin = `${base.protocol}//${base.host}`;
  return (sender) => {
    if (sender.id !== policy.extensionId) return { kind: 'refused', reason: 'other-extension' };
    if (typeof sender.url !== 'string') return { kind: 'refused', reason: 'no-url' };
    let url: URL;
    try {
      url = new URL(sender.url);
    } catch {
      return { kind: 'refused', reason: 'no-url' };
    }
    if (sender.origin === 'null') return { kind: 'refused', reason: 'opaque-origin' };
    if (url.protocol === base.protocol && url.host === base.host) {
      if (sender.origin !== undefined && sender.origin !== baseOrigin)
        return { kind: 'refused', reason: 'origin-mismatch' };
      return { kind: 'extension-page' };
    }
    const tabId = sender.tab?.id;
    if (typeof tabId !== 'number' || !Number.isInteger(tabId) || tabId < 0)
      return { kind: 'refused', reason: 'no-tab' };
    if (sender.origin !== undefined && sender.origin !== url.origin)
      return { kind: 'refused', reason: 'origin-mismatch' };
    const keyPage = isKeyPage(sender.url);
    const redirectPage = isRedirectPage(sender.url);
    if (!keyPage && !redirectPage) return { kind: 'refused', reason: 'page-not-allowed' };
    const frameId = typeof sender.frameId === 'number' && sender.frameId >= 0 ? sender.frameId : 0;
    return { kind: 'page', tabId, frameId, url: sender.url, keyPage, redirectPage };
  };
}

/** A key the background may act on, with where it came from as the browser reports it. */
export interface AcceptedKey {
  key: string;
  /** From the redirect URL the sender is on, never from the message alone. */
  productCode?: string;
  source: 'key-page' | 'redirect';
  tabId: number;
  /** Origin and path only: the query of a redirect URL holds the key. */
  pageUrl: string;
  capturedAt: number;
}

export type ContentVerdict =
  | { kind: 'key'; accepted: AcceptedKey }
  | { kind: 'not-taken'; reason: 'ambiguous'; tabId: number }
  | { kind: 'refused'; reason: string };

/** A capture that claims to be older than this, or from the future, is not believed. */
const MAX_CAPTURE_AGE_MS = 10 * 60 * 1000;
const MAX_CLOCK_SKEW_MS = 60 * 1000;

function pageUrlOf(url: string): string {
  const u = new URL(url);
  return u.origin + u.pathname;
}

/** Checks a message from a page's content script: the sender first, then the message. */
export function checkContentMessage(message: unknown, role: SenderRole, now: number): ContentVerdict {
  if (role.kind !== 'page') return { kind: 'refused', reason: role.kind === 'refused' ? role.reason : 'not-a-page' };
  const parsed = v.safeParse(ContentMessageSchema, message);
  if (!parsed.success) return { kind: 'refused', reason: 'bad-message' };
  const msg = parsed.output;
  if (msg.capturedAt > now + MAX_CLOCK_SKEW_MS || msg.capturedAt < now - MAX_CAPTURE_AGE_MS)
    return { kind: 'refused', reason: 'implausible-time' };
  if (msg.type === 'devpay:key-not-taken') return { kind: 'not-taken', reason: msg.reason, tabId: role.tabId };

  const check = normaliseActivationKey(msg.key);
  if (!check.ok) return { kind: 'refused', reason: 'malformed-key' };
  const base = { tabId: role.tabId, pageUrl: pageUrlOf(role.url), capturedAt: msg.capturedAt };

  if (role.redirectPage) {
    // The key and product code must be the ones in the URL the browser says this frame is on.
    const fromUrl = readRedirectParams(role.url);
    if (fromUrl.ok) {
      if (fromUrl.key !== check.key) return { kind: 'refused', reason: 'key-not-in-url' };
      if (msg.productCode !== undefined && msg.productCode !== fromUrl.productCode)
        return { kind: 'refused', reason: 'product-not-in-url' };
      return {
        kind: 'key',
        accepted: {
          ...base,
          key: check.key,
          source: 'redirect',
          ...(fromUrl.productCode ? { productCode: fromUrl.productCode } : {}),
        },
      };
    }
    if (!role.keyPage) return { kind: 'refused', reason: 'key-not-in-url' };
  }
  // A key page reports a key from its content; a product code it claims is not believed.
  return { kind: 'key', accepted: { ...base, key: check.key, source: 'key-page' } };
}

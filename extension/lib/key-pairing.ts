/**
 * Pairs the two frames of one split confirmation page: the top frame (a key
 * page) shows the key, the bottom frame's URL (the vendor's redirect URL)
 * carries the same key and the product code. Whichever frame reports first
 * waits briefly for the other; the keys must match.
 *
 * It also decides how far a key is trusted. A key page is Amazon's: it only
 * shows a signed-in customer their own key. The redirect URL is one anyone can
 * craft, with their own key in it: its key counts only when a key page in the
 * same tab shows the same key. Alone, it needs the customer's confirmation.
 * Repeats within the page are dropped here; repeats across pages are the
 * controller's job.
 */
import type { AcceptedKey } from './sender-check.ts';

/** `trusted`: shown by a key page. `needs-confirmation`: only a redirect URL said so. */
export type KeyTrust = 'trusted' | 'needs-confirmation';

export interface PairedKey {
  key: string;
  productCode?: string;
  pageUrl: string;
  capturedAt: number;
  tabId: number;
  trust: KeyTrust;
}

export type PairingOutcome = 'waiting' | 'paired' | 'repeat' | 'mismatch';

export interface PairingOptions {
  onKey(key: PairedKey): void;
  onMismatch(tabId: number): void;
  now(): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
  /** How long the first frame's key waits for the other frame. */
  waitMs?: number;
  /** How long a tab's frames are considered one page. */
  pageWindowMs?: number;
  maxTabs?: number;
}

interface TabRecord {
  key: string;
  /** Where the key last handed on came from (a key page, once one showed it). */
  source: AcceptedKey['source'];
  productCode?: string;
  at: number;
  waiting?: { timer: unknown; accepted: AcceptedKey };
}

export class KeyPairing {
  private readonly tabs = new Map<number, TabRecord>();
  private readonly waitMs: number;
  private readonly pageWindowMs: number;
  private readonly maxTabs: number;

  constructor(private readonly options: PairingOptions) {
    this.waitMs = options.waitMs ?? 1500;
    this.pageWindowMs = options.pageWindowMs ?? 30_000;
    this.maxTabs = options.maxTabs ?? 64;
  }

  offer(accepted: AcceptedKey): PairingOutcome {
    this.expire();
    const record = this.tabs.get(accepted.tabId);
    if (!record) {
      const timer = this.options.setTimer(() => this.flush(accepted.tabId), this.waitMs);
      this.remember(accepted.tabId, {
        key: accepted.key,
        source: accepted.source,
        at: this.options.now(),
        ...(accepted.productCode ? { productCode: accepted.productCode } : {}),
        waiting: { timer, accepted },
      });
      return 'waiting';
    }

    if (record.key !== accepted.key) {
      this.options.onMismatch(accepted.tabId);
      // Only the redirect URL's claim is dropped: a key page's own key still counts, without the product code.
      if (record.waiting?.accepted.source === 'redirect') this.stopWaiting(record);
      if (accepted.source === 'key-page' && record.source === 'redirect') {
        Object.assign(record, { key: accepted.key, source: 'key-page', at: this.options.now() });
        delete record.productCode;
        this.send(accepted, undefined, 'trusted');
      }
      return 'mismatch';
    }

    const waiting = record.waiting?.accepted;
    if (waiting && waiting.source !== accepted.source) {
      // The two frames agree: the key page vouches for the key, the redirect URL names the product.
      this.stopWaiting(record);
      const [keyPage, redirect] = accepted.source === 'redirect' ? [waiting, accepted] : [accepted, waiting];
      record.source = 'key-page';
      this.send(keyPage, redirect.productCode, 'trusted');
      return 'paired';
    }
    if (!waiting && record.source === 'redirect' && accepted.source === 'key-page') {
      // The key page showed the key late, after the redirect URL's key went to be confirmed: it is now vouched for.
      record.source = 'key-page';
      this.send(accepted, record.productCode, 'trusted');
      return 'paired';
    }
    return 'repeat';
  }

  forgetTab(tabId: number): void {
    const record = this.tabs.get(tabId);
    if (record?.waiting) this.options.clearTimer(record.waiting.timer);
    this.tabs.delete(tabId);
  }

  /** The wait is over with no other frame: a key page's key goes alone, a redirect URL's key is to be confirmed. */
  private flush(tabId: number): void {
    const record = this.tabs.get(tabId);
    if (!record?.waiting) return;
    const { accepted } = record.waiting;
    delete record.waiting;
    if (accepted.source === 'key-page') this.send(accepted, undefined, 'trusted');
    else this.send(accepted, accepted.productCode, 'needs-confirmation');
  }

  private stopWaiting(record: TabRecord): void {
    if (!record.waiting) return;
    this.options.clearTimer(record.waiting.timer);
    delete record.waiting;
  }

  private send(accepted: AcceptedKey, productCode: string | undefined, trust: KeyTrust): void {
    this.options.onKey({
      key: accepted.key,
      pageUrl: accepted.pageUrl,
      capturedAt: accepted.capturedAt,
      tabId: accepted.tabId,
      trust,
      ...(productCode ? { productCode } : {}),
    });
  }

  private remember(tabId: number, record: TabRecord): void {
    this.tabs.set(tabId, record);
    // Bounded: the oldest tab goes first.
    while (this.tabs.size > this.maxTabs) {
      const [oldest] = this.tabs.keys();
      if (oldest === undefined) break;
      this.forgetTab(oldest);
    }
  }

  private expire(): void {
    const cutoff = this.options.now() - this.pageWindowMs;
    for (const [tabId, record] of this.tabs) if (record.at < cutoff && !record.waiting) this.tabs.delete(tabId);
  }
}

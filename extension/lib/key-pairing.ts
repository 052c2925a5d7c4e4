/**
 * Pairs the two frames of one split confirmation page: the top frame shows the
 * key, the bottom frame's URL carries the same key and the product code. A key
 * from the top frame waits briefly for its product code; the keys must match,
 * otherwise the bottom frame's claim is ignored. Repeats within the page are
 * dropped here; repeats across pages are the controller's job.
 */
import type { AcceptedKey } from './sender-check.ts';

export interface PairedKey {
  key: string;
  productCode?: string;
  pageUrl: string;
  capturedAt: number;
  tabId: number;
}

export type PairingOutcome = 'sent' | 'waiting' | 'paired' | 'repeat' | 'mismatch';

export interface PairingOptions {
  onKey(key: PairedKey): void;
  onMismatch(tabId: number): void;
  now(): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
  /** How long a top-frame key waits for the bottom frame's product code. */
  waitMs?: number;
  /** How long a tab's frames are considered one page. */
  pageWindowMs?: number;
  maxTabs?: number;
}

interface TabRecord {
  key: string;
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
      if (accepted.source === 'redirect') {
        this.remember(accepted.tabId, { key: accepted.key, at: this.options.now() });
        this.send(accepted, accepted.productCode);
        return 'sent';
      }
      const timer = this.options.setTimer(() => this.flush(accepted.tabId), this.waitMs);
      this.remember(accepted.tabId, { key: accepted.key, at: this.options.now(), waiting: { timer, accepted } });
      return 'waiting';
    }
    if (record.key !== accepted.key) {
      this.options.onMismatch(accepted.tabId);
      return 'mismatch';
    }
    if (record.waiting && accepted.source === 'redirect') {
      this.options.clearTimer(record.waiting.timer);
      const { accepted: first } = record.waiting;
      delete record.waiting;
      this.send(first, accepted.productCode);
      return 'paired';
    }
    return 'repeat';
  }

  forgetTab(tabId: number): void {
    const record = this.tabs.get(tabId);
    if (record?.waiting) this.options.clearTimer(record.waiting.timer);
    this.tabs.delete(tabId);
  }

  private flush(tabId: number): void {
    const record = this.tabs.get(tabId);
    if (!record?.waiting) return;
    const { accepted } = record.waiting;
    delete record.waiting;
    this.send(accepted, undefined);
  }

  private send(accepted: AcceptedKey, productCode: string | undefined): void {
    this.options.onKey({
      key: accepted.key,
      pageUrl: accepted.pageUrl,
      capturedAt: accepted.capturedAt,
      tabId: accepted.tabId,
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

/**
 * What the activation controller needs from the browser and the rest of the
 * background, as interfaces: the background passes the real APIs, tests pass
 * their own (fake clock, in-memory storage, scripted transport).
 */
import type { HostTransport } from '../host-transport.ts';
import type { Badge } from './badge.ts';

/** `browser.storage.session`, as far as the controller uses it. */
export interface SessionArea {
  get(keys: string[]): Promise<Record<string, unknown>>;
  set(items: Record<string, unknown>): Promise<void>;
  remove(keys: string[]): Promise<void>;
}

/** `browser.alarms`, as far as the controller uses it: alarms outlive a stopped service worker and wake it. */
export interface ExpiryAlarms {
  /** At `when` (ms since the epoch) or soon after; the same name replaces an earlier alarm. */
  set(name: string, when: number): void | Promise<void>;
  clear(name: string): void | Promise<void>;
}

export interface ControllerUi {
  /** Toolbar badge: short text plus a title that says it in words. */
  setBadge(text: Badge['text'], title: string): void | Promise<void>;
  notify(id: string, title: string, message: string): void | Promise<void>;
  /** Something the popup shows changed. */
  stateChanged(): void;
}

export interface ControllerDeps {
  vendorName: string;
  activateUrl: string;
  products: readonly { code: string; name: string; homepage?: string }[];
  transport: HostTransport;
  session: SessionArea;
  ui: ControllerUi;
  /** Drops held keys at their expiry even when the worker was stopped; without it, only timers and wake-ups do. */
  alarms?: ExpiryAlarms;
  /** Sent in the hello, e.g. `devpay-extension/0.1.0`. */
  client: string;
  now?: () => number;
  newId?: () => string;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
  /** One-way digest used to recognise a key seen before without keeping it. */
  digest?: (text: string) => Promise<string>;
}

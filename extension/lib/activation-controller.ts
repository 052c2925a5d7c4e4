/**
 * The background's state: per product, what happened to the last key and what
 * the customer should do next; whether the host is reachable. Browser APIs come
 * in through `ControllerDeps`, so this runs the same in tests.
 *
 * The activation key is secret: it lives in memory and, so that it survives the
 * service worker being stopped, in `storage.session` (never `local`/`sync`,
 * never a log), and only until it is used, refused, or its hour is over. A
 * timer drops it at the end of its hour while the worker runs; an alarm
 * (`ExpiryAlarms`) wakes a stopped worker to drop it then too.
 */
import * as v from 'valibot';
import { ACTIVATION_KEY_LIFETIME_MS, isWithinKeyLifetime, maskIdentifier } from '../../shared/activation-key.ts';
import { PROTOCOL_VERSION, type ErrorCode, type ErrorReply, type Reply, type Request } from '../../shared/messages.ts';
import { HostUnavailableError, type HostTransport } from './host-transport.ts';
import type { KeyTrust } from './key-pairing.ts';
import {
  AttemptErrorSchema,
  HOST_ROUTES,
  HostViewSchema,
  NOTICE_KINDS,
  type AttemptError,
  type HostRoute,
  type HostView,
  type KeyRoute,
  type NextStep,
  type NoticeKind,
  type PopupState,
  type ProductView,
} from './runtime-messages.ts';
import { STRINGS } from './strings.ts';

/** `browser.storage.session`, as far as this module uses it. */
export interface SessionArea {
  get(keys: string[]): Promise<Record<string, unknown>>;
  set(items: Record<string, unknown>): Promise<void>;
  remove(keys: string[]): Promise<void>;
}

export interface ControllerUi {
  /** Toolbar badge: short text plus a title that says it in words. */
  setBadge(text: string, title: string): void | Promise<void>;
  notify(id: string, title: string, message: string): void | Promise<void>;
  /** Something the popup shows changed. */
  stateChanged(): void;
}

/** `browser.alarms`, as far as this module uses it: alarms outlive a stopped service worker and wake it. */
export interface ExpiryAlarms {
  /** At `when` (ms since the epoch) or soon after; the same name replaces an earlier alarm. */
  set(name: string, when: number): void | Promise<void>;
  clear(name: string): void | Promise<void>;
}

/** Alarm names: one per held key, `*` for the key whose product is not known yet. */
export const KEY_EXPIRY_ALARM_PREFIX = 'devpay.key-expiry:';

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

export interface IncomingKey {
  key: string;
  productCode?: string;
  pageUrl?: string;
  capturedAt: number;
  /** Decided by the pairing of the page's frames (key-pairing.ts): a key that needs confirmation waits for the customer. */
  trust: KeyTrust;
}

/** `held`: kept until the customer confirms it in the popup (or it expires). */
export type AcceptOutcome = 'started' | 'held' | 'repeat' | 'too-old' | 'unknown-product' | 'busy';

type Slot = string | null;
const PHASES = ['in-progress', 'failed', 'confirm-key', 'confirm-replace', 'fallback'] as const;
type Phase = (typeof PHASES)[number];
/** The questions the popup asks about a held key; yes sends it (replacing the credentials for `confirm-replace`). */
type Question = Extract<Phase, 'confirm-key' | 'confirm-replace'>;

// --- what is kept in storage.session (validated when read back) ---

const SLOT_STORAGE_KEY = (slot: Slot) => slot ?? '*';
const slotFromStorage = (key: string): Slot => (key === '*' ? null : key);
const productCode = v.pipe(v.string(), v.regex(/^[A-Za-z0-9]{1,32}$/));

const AttemptSchema = v.object({
  product: v.nullable(productCode),
  phase: v.picklist(PHASES),
  capturedAt: v.number(),
  error: v.nullable(AttemptErrorSchema),
  /** The way the host answered about this key (null before it answered, or when it could not be reached). */
  route: v.optional(v.nullable(v.picklist(HOST_ROUTES)), null),
});
type Attempt = v.InferOutput<typeof AttemptSchema>;

const HeldKeySchema = v.object({
  key: v.pipe(v.string(), v.regex(/^[A-Za-z0-9]{1,30}$/)),
  capturedAt: v.number(),
  pageUrl: v.optional(v.pipe(v.string(), v.maxLength(2048))),
});
type HeldKey = v.InferOutput<typeof HeldKeySchema>;

const ProductStatusSchema = v.object({
  state: v.picklist(['activated', 'not-activated', 'unreadable']),
  activatedAt: v.nullable(v.string()),
  accessKeyId: v.nullable(v.string()),
});
type ProductStatus = v.InferOutput<typeof ProductStatusSchema>;

const StoredSchema = v.object({
  attempts: v.optional(v.array(AttemptSchema), []),
  keys: v.optional(v.record(v.string(), HeldKeySchema), {}),
  seen: v.optional(v.record(v.string(), v.number()), {}),
  statuses: v.optional(v.record(v.string(), ProductStatusSchema), {}),
  activatedVia: v.optional(v.record(v.string(), v.picklist(HOST_ROUTES)), {}),
  host: v.optional(HostViewSchema),
  notice: v.optional(v.nullable(v.object({ kind: v.picklist(NOTICE_KINDS), at: v.number() }))),
  lastActivated: v.optional(v.nullable(productCode)),
});

export const SESSION_KEYS = {
  /** The only entry holding a secret. */
  keys: 'devpay.heldKeys',
  state: 'devpay.state',
} as const;

const MAX_SEEN = 200;
const MAX_MESSAGE = 500;

/** What each host error means for the key and for the customer. Exhaustive: a new code must be placed here. */
const ERROR_HANDLING: Record<ErrorCode, { phase: Exclude<Phase, 'in-progress' | 'confirm-key'>; keepKey: boolean; nextStep: NextStep }> = {
  MALFORMED_KEY: { phase: 'failed', keepKey: false, nextStep: 'new-key' },
  KEY_TOO_OLD: { phase: 'failed', keepKey: false, nextStep: 'new-key' },
  EXPIRED_KEY: { phase: 'failed', keepKey: false, nextStep: 'new-key' },
  INVALID_KEY: { phase: 'failed', keepKey: false, nextStep: 'new-key' },
  INCORRECT_KEY: { phase: 'failed', keepKey: false, nextStep: 'new-key' },
  UNKNOWN_PRODUCT: { phase: 'failed', keepKey: false, nextStep: 'contact-vendor' },
  ALREADY_ACTIVATED: { phase: 'confirm-replace', keepKey: true, nextStep: 'confirm' },
  BUSY: { phase: 'failed', keepKey: true, nextStep: 'retry' },
  SERVICE_UNAVAILABLE: { phase: 'failed', keepKey: true, nextStep: 'retry' },
  SERVICE_BAD_ANSWER: { phase: 'failed', keepKey: true, nextStep: 'retry' },
  SERVICE_UNTRUSTED: { phase: 'failed', keepKey: true, nextStep: 'doctor' },
  INTERNAL: { phase: 'failed', keepKey: true, nextStep: 'retry' },
  CREDENTIALS_UNREADABLE: { phase: 'failed', keepKey: true, nextStep: 'retry' },
  KEYCHAIN_LOCKED: { phase: 'failed', keepKey: true, nextStep: 'unlock' },
  KEYCHAIN_UNAVAILABLE: { phase: 'failed', keepKey: true, nextStep: 'doctor' },
  STORAGE_FAILED: { phase: 'failed', keepKey: true, nextStep: 'doctor' },
  VENDOR_CONFIGURATION: { phase: 'failed', keepKey: true, nextStep: 'contact-vendor' },
  CLIENT_BUG: { phase: 'failed', keepKey: true, nextStep: 'contact-vendor' },
  // The host cannot take the key from this extension, but `devpay-companion activate` can.
  CALLER_NOT_ALLOWED: { phase: 'fallback', keepKey: true, nextStep: 'install' },
  PROTOCOL_MISMATCH: { phase: 'fallback', keepKey: true, nextStep: 'update' },
  BAD_MESSAGE: { phase: 'fallback', keepKey: true, nextStep: 'update' },
  UNKNOWN_TYPE: { phase: 'fallback', keepKey: true, nextStep: 'update' },
};

async function sha256Hex(text: string): Promise<string> {
  const bytes = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function clip(text: string): string {
  return text.length > MAX_MESSAGE ? text.slice(0, MAX_MESSAGE - 1) + '…' : text;
}

export class ActivationController {
  private readonly attempts = new Map<Slot, Attempt>();
  private readonly keys = new Map<Slot, HeldKey>();
  private readonly expiryTimers = new Map<Slot, unknown>();
  private readonly seen = new Map<string, number>();
  private readonly statuses = new Map<string, ProductStatus>();
  /** Which way this browser's key activated each product (for the popup; not known for older activations). */
  private readonly activatedVia = new Map<string, HostRoute>();
  private host: HostView = { state: 'unknown', version: null, reason: null, route: null };
  private notice: { kind: NoticeKind; at: number } | null = null;
  private lastActivated: string | null = null;
  private refreshing: Promise<void> | null = null;
  private writes: Promise<void> = Promise.resolve();
  private readonly ready: Promise<void>;

  private readonly now: () => number;
  private readonly newId: () => string;
  private readonly setTimer: (fn: () => void, ms: number) => unknown;
  private readonly clearTimer: (handle: unknown) => void;
  private readonly digest: (text: string) => Promise<string>;

  constructor(private readonly deps: ControllerDeps) {
    this.now = deps.now ?? Date.now;
    this.newId = deps.newId ?? (() => crypto.randomUUID());
    this.setTimer = deps.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
    this.clearTimer = deps.clearTimer ?? ((handle) => clearTimeout(handle as ReturnType<typeof setTimeout>));
    this.digest = deps.digest ?? sha256Hex;
    this.ready = this.restore();
  }

  /** Resolves once the state kept in storage.session (if any) is loaded. */
  whenReady(): Promise<void> {
    return this.ready;
  }

  // --- keys from pages ---

  async acceptKey(incoming: IncomingKey): Promise<AcceptOutcome> {
    await this.ready;
    if (!isWithinKeyLifetime(incoming.capturedAt, this.now())) return 'too-old';
    const digest = await this.digest(incoming.key);
    this.sweep();
    if (this.seen.has(digest)) {
      // A key page showed a key that a link gave earlier: it is the customer's own, so the question is settled.
      const asked = incoming.trust === 'trusted' ? this.slotAskingAbout(incoming.key) : undefined;
      if (asked === undefined) return 'repeat';
      await this.activate(asked, false, 'page');
      return 'started';
    }

    let slot: Slot = incoming.productCode ?? null;
    if (slot !== null && !this.product(slot)) {
      this.setNotice('unknown-product');
      return 'unknown-product';
    }
    const [only] = this.deps.products;
    if (slot === null && this.deps.products.length === 1 && only) slot = only.code;
    const current = this.attempts.get(slot)?.phase;
    if (current === 'in-progress') return 'busy';
    // A key to be confirmed never pushes aside one the customer is already dealing with.
    if (incoming.trust === 'needs-confirmation' && this.keys.has(slot) && current !== 'confirm-key') return 'busy';

    this.rememberSeen(digest, incoming.capturedAt);
    this.holdKey(slot, { key: incoming.key, capturedAt: incoming.capturedAt, ...(incoming.pageUrl ? { pageUrl: incoming.pageUrl } : {}) });
    if (incoming.trust === 'needs-confirmation') {
      this.attempts.set(slot, { product: slot, phase: 'confirm-key', capturedAt: incoming.capturedAt, error: null, route: null });
      const name = this.nameOf(slot);
      void this.deps.ui.notify(`devpay-attention-${slot ?? 'unknown'}`, STRINGS.notification.attentionTitle(name), STRINGS.notification.confirmKeyBody);
      this.changed();
      return 'held';
    }
    this.attempts.set(slot, { product: slot, phase: 'in-progress', capturedAt: incoming.capturedAt, error: null, route: null });
    this.changed();
    await this.activate(slot, false, 'page');
    return 'started';
  }

  /** A page showed something the customer should know about (two keys, mismatched frames, another product). */
  noteNotice(kind: NoticeKind): void {
    this.setNotice(kind);
  }

  // --- the customer's choices in the popup ---

  async retry(slot: Slot): Promise<void> {
    await this.ready;
    const attempt = this.attempts.get(slot);
    if (!attempt || (attempt.phase !== 'failed' && attempt.phase !== 'fallback') || !this.keys.has(slot)) return;
    await this.activate(slot, false, 'customer');
  }

  /** Replaces the current credentials with ones for the held key. */
  confirmReplace(slot: Slot): Promise<void> {
    return this.confirm(slot, 'confirm-replace');
  }

  /** Keeps the current credentials: the key that would have replaced them is forgotten. */
  cancelReplace(slot: Slot): Promise<void> {
    return this.decline(slot, 'confirm-replace');
  }

  /** The customer says the key a link gave is theirs: it goes to the host like any other. */
  confirmKey(slot: Slot): Promise<void> {
    return this.confirm(slot, 'confirm-key');
  }

  /** The customer does not know the key a link gave: it is forgotten. */
  ignoreKey(slot: Slot): Promise<void> {
    return this.decline(slot, 'confirm-key');
  }

  async dismiss(slot: Slot): Promise<void> {
    await this.ready;
    const attempt = this.attempts.get(slot);
    if (!attempt || attempt.phase === 'in-progress') return;
    this.dropKey(slot);
    this.attempts.delete(slot);
    this.changed();
  }

  /** Asks the host who it is and what is activated; at most one check at a time. */
  refreshHost(): Promise<void> {
    this.refreshing ??= this.checkHost().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  /**
   * A `browser.alarms` alarm went off. For a key-expiry alarm: drops every key whose
   * hour is over (the popup is told) and returns true; other alarms return false.
   */
  async handleAlarm(name: string): Promise<boolean> {
    if (!name.startsWith(KEY_EXPIRY_ALARM_PREFIX)) return false;
    await this.ready;
    this.sweep();
    // Early or stale: a key still held under this name gets its alarm again.
    const slot = slotFromStorage(name.slice(KEY_EXPIRY_ALARM_PREFIX.length));
    const held = this.keys.get(slot);
    if (held) this.armExpiryAlarm(slot, held);
    return true;
  }

  // --- what the popup shows ---

  async snapshot(): Promise<PopupState> {
    await this.ready;
    this.sweep();
    const rows: ProductView[] = this.deps.products.map((p) => this.view(p.code));
    if (this.attempts.has(null)) rows.push(this.view(null));
    return {
      type: 'devpay:state',
      vendorName: this.deps.vendorName,
      activateUrl: this.deps.activateUrl,
      host: { ...this.host },
      products: rows,
      notice: this.notice ? { ...this.notice } : null,
    };
  }

  // --- internals ---

  private async confirm(slot: Slot, question: Question): Promise<void> {
    await this.ready;
    if (this.attempts.get(slot)?.phase !== question || !this.keys.has(slot)) return;
    await this.activate(slot, question === 'confirm-replace', 'customer');
  }

  private async decline(slot: Slot, question: Question): Promise<void> {
    await this.ready;
    if (this.attempts.get(slot)?.phase !== question) return;
    this.dropKey(slot);
    this.attempts.delete(slot);
    this.changed();
  }

  /** The slot whose held key is waiting for the customer's confirmation and is this key, if any. */
  private slotAskingAbout(key: string): Slot | undefined {
    for (const [slot, held] of this.keys) if (held.key === key && this.attempts.get(slot)?.phase === 'confirm-key') return slot;
    return undefined;
  }

  private product(code: string) {
    return this.deps.products.find((p) => p.code === code);
  }

  private nameOf(slot: Slot): string {
    return (slot !== null && this.product(slot)?.name) || STRINGS.unknownProductName;
  }

  private view(slot: Slot): ProductView {
    const attempt = this.attempts.get(slot);
    const held = this.keys.get(slot);
    const status = slot === null ? undefined : this.statuses.get(slot);
    const homepage = slot === null ? undefined : this.product(slot)?.homepage;
    const state = attempt?.phase ?? status?.state ?? 'unknown';
    const route: KeyRoute | null =
      state === 'fallback' ? 'paste' : attempt ? attempt.route : state === 'activated' && slot !== null ? (this.activatedVia.get(slot) ?? null) : null;
    return {
      code: slot,
      name: this.nameOf(slot),
      homepage: homepage ?? null,
      state,
      activatedAt: status?.activatedAt ?? null,
      accessKeyId: status?.accessKeyId ?? null,
      error: attempt?.error ?? null,
      keyHeld: held !== undefined,
      keyExpiresAt: held ? held.capturedAt + ACTIVATION_KEY_LIFETIME_MS : null,
      key: attempt?.phase === 'fallback' && held ? held.key : null,
      route,
    };
  }

  private async activate(slot: Slot, replace: boolean, by: 'page' | 'customer'): Promise<void> {
    const held = this.keys.get(slot);
    if (!held) return;
    if (!isWithinKeyLifetime(held.capturedAt, this.now())) {
      this.expireKey(slot);
      return;
    }
    this.attempts.set(slot, { product: slot, phase: 'in-progress', capturedAt: held.capturedAt, error: null, route: null });
    this.changed();
    const request: Request = {
      type: 'activate',
      id: this.newId(),
      key: held.key,
      capturedAt: held.capturedAt,
      replace,
      ...(slot !== null ? { productCode: slot } : {}),
      ...(held.pageUrl ? { pageUrl: held.pageUrl } : {}),
    };
    let reply: Reply;
    try {
      reply = await this.deps.transport.request(request);
    } catch (error) {
      this.hostFailed(slot, error, by);
      return;
    }
    const route = this.deps.transport.routeOf?.(request.id) ?? null;
    this.host = { state: 'reachable', version: this.host.version, reason: null, route };
    if (reply.type === 'activated') {
      this.succeeded(slot, reply.product.code, reply.activatedAt, reply.accessKeyId, route);
    } else if (reply.type === 'error') {
      this.refused(slot, reply, by, route);
    } else {
      this.fail(slot, 'failed', { code: 'HOST_BAD_REPLY', message: STRINGS.localError.badReply, nextStep: 'retry' }, by, route);
    }
    // Fresh version and product states after the host acted; failures here only mark it unreachable.
    await this.refreshHost();
  }

  private succeeded(slot: Slot, code: string, activatedAt: string, accessKeyId: string, route: HostRoute | null): void {
    this.dropKey(slot);
    this.attempts.delete(slot);
    if (this.product(code)) {
      this.attempts.delete(code);
      this.dropKey(code);
      this.statuses.set(code, { state: 'activated', activatedAt, accessKeyId: maskIdentifier(accessKeyId) });
      if (route) this.activatedVia.set(code, route);
      else this.activatedVia.delete(code);
      this.lastActivated = code;
    }
    const name = this.product(code)?.name ?? code;
    void this.deps.ui.notify(`devpay-activated-${code}`, STRINGS.notification.activatedTitle(name), STRINGS.notification.activatedBody(name));
    this.changed();
  }

  private refused(slot: Slot, reply: ErrorReply, by: 'page' | 'customer', route: HostRoute | null): void {
    // The host names the product when the page did not: the attempt moves to it.
    let target = slot;
    if (slot === null && reply.product && this.product(reply.product.code)) {
      target = reply.product.code;
      const attempt = this.attempts.get(null);
      const held = this.keys.get(null);
      this.attempts.delete(null);
      this.dropKey(null);
      if (attempt) this.attempts.set(target, { ...attempt, product: target });
      if (held) this.holdKey(target, held);
    }
    const handling = ERROR_HANDLING[reply.code];
    if (reply.code === 'CALLER_NOT_ALLOWED') this.host = { state: 'unreachable', version: this.host.version, reason: 'forbidden', route: null };
    if (reply.code === 'PROTOCOL_MISMATCH') this.host = { state: 'unreachable', version: this.host.version, reason: 'protocol-mismatch', route: null };
    if (!handling.keepKey) this.dropKey(target);
    this.fail(target, handling.phase, { code: reply.code, message: clip(reply.message), nextStep: handling.nextStep }, by, route);
  }

  private hostFailed(slot: Slot, error: unknown, by: 'page' | 'customer'): void {
    if (!(error instanceof HostUnavailableError)) {
      this.fail(slot, 'failed', { code: 'INTERNAL', message: STRINGS.localError.badReply, nextStep: 'retry' }, by);
      return;
    }
    this.host = { state: 'unreachable', version: null, reason: error.reason, route: null };
    if (error.reason === 'timeout') {
      // The host exists but did not answer: the key stays for a Retry.
      this.fail(slot, 'failed', { code: 'HOST_TIMEOUT', message: STRINGS.localError.timeout, nextStep: 'retry' }, by);
      return;
    }
    const nextStep: NextStep = error.reason === 'protocol-mismatch' ? 'update' : 'install';
    this.fail(slot, 'fallback', { code: 'HOST_UNAVAILABLE', message: STRINGS.hostUnavailable(error.reason), nextStep }, by);
  }

  private fail(slot: Slot, phase: Exclude<Phase, 'in-progress' | 'confirm-key'>, error: AttemptError, by: 'page' | 'customer', route: HostRoute | null = null): void {
    const current = this.attempts.get(slot);
    this.attempts.set(slot, { product: slot, phase, capturedAt: current?.capturedAt ?? this.now(), error, route });
    // The customer who just clicked in the popup sees the result there; a page's key gets a notification.
    if (by === 'page') {
      const name = this.nameOf(slot);
      const body =
        phase === 'confirm-replace'
          ? STRINGS.notification.confirmBody
          : phase === 'fallback'
            ? STRINGS.notification.fallbackBody
            : STRINGS.notification.failedBody(error.message);
      void this.deps.ui.notify(`devpay-attention-${slot ?? 'unknown'}`, STRINGS.notification.attentionTitle(name), body);
    }
    this.changed();
  }

  private async checkHost(): Promise<void> {
    this.host = { ...this.host, state: 'checking' };
    this.changed();
    try {
      const hello = await this.deps.transport.request({ type: 'hello', id: this.newId(), protocol: PROTOCOL_VERSION, client: this.deps.client });
      if (hello.type !== 'hello') throw new HostUnavailableError(hello.type === 'error' && hello.code === 'CALLER_NOT_ALLOWED' ? 'forbidden' : 'bad-reply');
      const statusId = this.newId();
      const status = await this.deps.transport.request({ type: 'status', id: statusId });
      if (status.type !== 'status') throw new HostUnavailableError('bad-reply');
      const route = this.deps.transport.routeOf?.(statusId) ?? null;
      this.host = { state: 'reachable', version: status.hostVersion || hello.hostVersion, reason: null, route };
      for (const p of status.products) {
        if (!this.product(p.code)) continue;
        // Forgotten or re-activated elsewhere since: how this browser activated it no longer says anything.
        const known = this.statuses.get(p.code);
        if (p.state !== 'activated' || (known?.activatedAt && known.activatedAt !== p.activatedAt)) this.activatedVia.delete(p.code);
        this.statuses.set(p.code, {
          state: p.state,
          activatedAt: p.activatedAt,
          accessKeyId: p.accessKeyId === null ? null : maskIdentifier(p.accessKeyId),
        });
      }
    } catch (error) {
      this.host = { state: 'unreachable', version: null, reason: error instanceof HostUnavailableError ? error.reason : 'bad-reply', route: null };
    }
    this.changed();
  }

  private holdKey(slot: Slot, held: HeldKey): void {
    this.keys.set(slot, held);
    const existing = this.expiryTimers.get(slot);
    if (existing !== undefined) this.clearTimer(existing);
    const remaining = held.capturedAt + ACTIVATION_KEY_LIFETIME_MS - this.now();
    this.expiryTimers.set(
      slot,
      this.setTimer(() => this.expireKey(slot), Math.max(0, remaining)),
    );
    this.armExpiryAlarm(slot, held);
  }

  private dropKey(slot: Slot): void {
    const wasHeld = this.keys.delete(slot);
    const timer = this.expiryTimers.get(slot);
    if (timer !== undefined) this.clearTimer(timer);
    this.expiryTimers.delete(slot);
    if (wasHeld && this.deps.alarms) void Promise.resolve(this.deps.alarms.clear(KEY_EXPIRY_ALARM_PREFIX + SLOT_STORAGE_KEY(slot))).catch(() => {});
  }

  /** The timer above dies with the service worker; the alarm wakes it to drop the key on time. */
  private armExpiryAlarm(slot: Slot, held: HeldKey): void {
    if (!this.deps.alarms) return;
    const when = held.capturedAt + ACTIVATION_KEY_LIFETIME_MS;
    void Promise.resolve(this.deps.alarms.set(KEY_EXPIRY_ALARM_PREFIX + SLOT_STORAGE_KEY(slot), when)).catch(() => {});
  }

  /** The key's hour is over: it is forgotten, and the customer is told to get a new one. */
  private expireKey(slot: Slot): void {
    if (!this.keys.has(slot)) return;
    this.dropKey(slot);
    const attempt = this.attempts.get(slot);
    // A key nobody confirmed just goes: "get a new key" would be wrong advice for a key that may not be the customer's.
    if (attempt?.phase === 'confirm-key') this.attempts.delete(slot);
    // An activation under way ends on its own (the host refuses old keys).
    else if (attempt && attempt.phase !== 'in-progress') {
      this.attempts.set(slot, { ...attempt, phase: 'failed', error: { code: 'KEY_EXPIRED_LOCAL', message: STRINGS.localError.keyExpired, nextStep: 'new-key' } });
    }
    this.changed();
  }

  /** Drops keys whose hour is over and repeat markers that no longer matter. */
  private sweep(): void {
    const now = this.now();
    for (const [slot, held] of [...this.keys]) if (!isWithinKeyLifetime(held.capturedAt, now)) this.expireKey(slot);
    for (const [digest, until] of [...this.seen]) if (until <= now) this.seen.delete(digest);
  }

  private rememberSeen(digest: string, capturedAt: number): void {
    this.seen.set(digest, capturedAt + ACTIVATION_KEY_LIFETIME_MS);
    while (this.seen.size > MAX_SEEN) {
      const [oldest] = this.seen.keys();
      if (oldest === undefined) break;
      this.seen.delete(oldest);
    }
  }

  private setNotice(kind: NoticeKind): void {
    this.notice = { kind, at: this.now() };
    this.changed();
  }

  private changed(): void {
    this.updateBadge();
    this.persist();
    // Tell the popup only once the state is saved: what it shows has been written (and a used key erased).
    void this.writes.then(() => this.deps.ui.stateChanged());
  }

  private updateBadge(): void {
    const attempts = [...this.attempts.values()];
    const attention = attempts.find((a) => a.phase !== 'in-progress');
    const busy = attempts.find((a) => a.phase === 'in-progress');
    if (attention) void this.deps.ui.setBadge('!', STRINGS.badge.attention(this.nameOf(attention.product)));
    else if (busy) void this.deps.ui.setBadge('…', STRINGS.badge.inProgress(this.nameOf(busy.product)));
    else if (this.lastActivated) void this.deps.ui.setBadge('✓', STRINGS.badge.activated(this.nameOf(this.lastActivated)));
    else void this.deps.ui.setBadge('', STRINGS.badge.idle);
  }

  /** Writes the state to storage.session, one write after another; failures leave memory as the truth. */
  private persist(): void {
    const keys = Object.fromEntries([...this.keys].map(([slot, held]) => [SLOT_STORAGE_KEY(slot), held]));
    const state = {
      attempts: [...this.attempts.values()],
      seen: Object.fromEntries(this.seen),
      statuses: Object.fromEntries(this.statuses),
      activatedVia: Object.fromEntries(this.activatedVia),
      host: this.host,
      notice: this.notice,
      lastActivated: this.lastActivated,
    };
    const { session } = this.deps;
    this.writes = this.writes
      .then(async () => {
        await session.set({ [SESSION_KEYS.state]: state });
        if (Object.keys(keys).length > 0) await session.set({ [SESSION_KEYS.keys]: keys });
        else await session.remove([SESSION_KEYS.keys]);
      })
      .catch(() => {});
  }

  /** Resolves when every state change so far is written (for tests and shutdown). */
  flushed(): Promise<void> {
    return this.writes;
  }

  private async restore(): Promise<void> {
    let stored: Record<string, unknown> = {};
    try {
      stored = await this.deps.session.get([SESSION_KEYS.state, SESSION_KEYS.keys]);
    } catch {
      return;
    }
    const parsed = v.safeParse(StoredSchema, { ...(stored[SESSION_KEYS.state] as object | undefined), keys: stored[SESSION_KEYS.keys] ?? {} });
    if (!parsed.success) return;
    const data = parsed.output;
    for (const attempt of data.attempts) {
      if (attempt.product !== null && !this.product(attempt.product)) continue;
      // The worker stopped while the host was working: the outcome is unknown, the key still held.
      const restored: Attempt =
        attempt.phase === 'in-progress'
          ? { ...attempt, phase: 'failed', error: { code: 'INTERRUPTED', message: STRINGS.localError.interrupted, nextStep: 'retry' } }
          : attempt;
      this.attempts.set(attempt.product, restored);
    }
    for (const [storageKey, held] of Object.entries(data.keys)) {
      const slot = slotFromStorage(storageKey);
      if (this.attempts.has(slot)) this.holdKey(slot, held);
    }
    for (const [digest, until] of Object.entries(data.seen)) this.seen.set(digest, until);
    for (const [code, status] of Object.entries(data.statuses)) if (this.product(code)) this.statuses.set(code, status);
    for (const [code, route] of Object.entries(data.activatedVia)) if (this.product(code)) this.activatedVia.set(code, route);
    if (data.host) this.host = data.host.state === 'checking' ? { ...data.host, state: 'unknown' } : data.host;
    this.notice = data.notice ?? null;
    this.lastActivated = data.lastActivated ?? null;
    this.sweep();
    this.updateBadge();
  }
}

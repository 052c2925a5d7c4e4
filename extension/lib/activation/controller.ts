/**
 * The background's phase machine: per product, what happened to the last key
 * and what the customer should do next (in progress, failed, confirm the key,
 * confirm replacing credentials, fallback). Browser APIs come in through
 * `ControllerDeps`, so this runs the same in tests.
 *
 * The activation key is secret: it lives in memory (held-keys.ts) and, so that
 * it survives the service worker being stopped, in `storage.session`
 * (session-state.ts; never `local`/`sync`, never a log), and only until it is
 * used, refused, or its hour is over.
 */
import { isWithinKeyLifetime } from '../../../shared/activation-key.ts';
import type { ErrorReply, Reply } from '../../../shared/messages.ts';
import type { KeyTrust } from '../key-pairing.ts';
import type { AttemptError, HostRoute, Notice, NoticeKind, PopupState } from '../runtime-messages.ts';
import { STRINGS } from '../strings.ts';
import { newAttempt, slotFromKey, type Attempt, type FailedPhase, type Question, type Slot } from './attempt.ts';
import { badgeFor } from './badge.ts';
import { LOCAL_ERRORS, refusalOutcome, unreachableOutcome } from './error-policy.ts';
import { activateRequest, HeldKeys, slotOfAlarm } from './held-keys.ts';
import { HostStatus } from './host-status.ts';
import { activatedNotification, attentionNotification, type Notification } from './notifications.ts';
import type { ControllerDeps } from './ports.ts';
import { popupState } from './popup-state.ts';
import { SeenKeys, sha256Hex } from './seen-keys.ts';
import { SessionStore } from './session-state.ts';

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

export class ActivationController {
  private readonly attempts = new Map<Slot, Attempt>();
  private readonly keys: HeldKeys;
  private readonly seen = new SeenKeys();
  private readonly host: HostStatus;
  private readonly store: SessionStore;
  private notice: Notice | null = null;
  private lastActivated: string | null = null;
  private refreshing: Promise<void> | null = null;
  private readonly ready: Promise<void>;

  private readonly now: () => number;
  private readonly newId: () => string;
  private readonly digest: (text: string) => Promise<string>;

  constructor(private readonly deps: ControllerDeps) {
    this.now = deps.now ?? Date.now;
    this.newId = deps.newId ?? (() => crypto.randomUUID());
    this.digest = deps.digest ?? sha256Hex;
    this.keys = new HeldKeys({
      now: this.now,
      setTimer: deps.setTimer ?? ((fn, ms) => setTimeout(fn, ms)),
      clearTimer: deps.clearTimer ?? ((handle) => clearTimeout(handle as ReturnType<typeof setTimeout>)),
      ...(deps.alarms ? { alarms: deps.alarms } : {}),
      onExpired: (slot) => this.expireKey(slot),
    });
    this.host = new HostStatus((code) => this.product(code) !== undefined);
    this.store = new SessionStore(deps.session);
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
      this.keys.shownByKeyPage(asked, incoming.pageUrl);
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

    this.seen.remember(digest, incoming.capturedAt);
    this.keys.hold(slot, {
      key: incoming.key,
      capturedAt: incoming.capturedAt,
      keySource: incoming.trust === 'trusted' ? 'key-page' : 'redirect-url',
      ...(incoming.pageUrl ? { pageUrl: incoming.pageUrl } : {}),
    });
    if (incoming.trust === 'needs-confirmation') {
      this.attempts.set(slot, newAttempt(slot, 'confirm-key', incoming.capturedAt));
      this.notify(attentionNotification(slot, this.nameOf(slot), 'confirm-key'));
      this.changed();
      return 'held';
    }
    this.attempts.set(slot, newAttempt(slot, 'in-progress', incoming.capturedAt));
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
    this.keys.drop(slot);
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
    const slot = slotOfAlarm(name);
    if (slot === undefined) return false;
    await this.ready;
    this.sweep();
    // Early or stale: a key still held under this name gets its alarm again.
    this.keys.armAlarm(slot);
    return true;
  }

  // --- what the popup shows ---

  async snapshot(): Promise<PopupState> {
    await this.ready;
    this.sweep();
    const { attempts, keys, host, notice } = this;
    return popupState({ config: this.deps, attempts, keys, host, notice, nameOf: (slot) => this.nameOf(slot) });
  }

  /** Resolves when every state change so far is written (for tests and shutdown). */
  flushed(): Promise<void> {
    return this.store.flushed();
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
    this.keys.drop(slot);
    this.attempts.delete(slot);
    this.changed();
  }

  /** The slot whose held key is waiting for the customer's confirmation and is this key, if any. */
  private slotAskingAbout(key: string): Slot | undefined {
    for (const [slot, held] of this.keys.entries())
      if (held.key === key && this.attempts.get(slot)?.phase === 'confirm-key') return slot;
    return undefined;
  }

  private product(code: string) {
    return this.deps.products.find((p) => p.code === code);
  }

  private nameOf(slot: Slot): string {
    return (slot !== null && this.product(slot)?.name) || STRINGS.unknownProductName;
  }

  private async activate(slot: Slot, replace: boolean, by: 'page' | 'customer'): Promise<void> {
    const held = this.keys.get(slot);
    if (!held) return;
    if (!isWithinKeyLifetime(held.capturedAt, this.now())) {
      this.expireKey(slot);
      return;
    }
    this.attempts.set(slot, newAttempt(slot, 'in-progress', held.capturedAt));
    this.changed();
    const request = activateRequest(this.newId(), slot, held, replace);
    let reply: Reply;
    try {
      reply = await this.deps.transport.request(request);
    } catch (error) {
      this.hostFailed(slot, error, by);
      return;
    }
    const route = this.deps.transport.routeOf?.(request.id) ?? null;
    this.host.reached(route);
    if (reply.type === 'activated') {
      this.succeeded(slot, reply.product.code, reply.activatedAt, reply.accessKeyId, route);
    } else if (reply.type === 'error') {
      this.refused(slot, reply, by, route);
    } else {
      this.fail(slot, 'failed', LOCAL_ERRORS.badReply(), by, route);
    }
    // Fresh version and product states after the host acted; failures here only mark it unreachable.
    await this.refreshHost();
  }

  private succeeded(slot: Slot, code: string, activatedAt: string, accessKeyId: string, route: HostRoute | null): void {
    this.keys.drop(slot);
    this.attempts.delete(slot);
    if (this.product(code)) {
      this.attempts.delete(code);
      this.keys.drop(code);
      this.host.activated(code, activatedAt, accessKeyId, route);
      this.lastActivated = code;
    }
    this.notify(activatedNotification(code, this.product(code)?.name ?? code));
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
      this.keys.drop(null);
      if (attempt) this.attempts.set(target, { ...attempt, product: target });
      if (held) this.keys.hold(target, held);
    }
    const outcome = refusalOutcome(reply);
    if (outcome.hostUnreachable) this.host.lost(outcome.hostUnreachable, true);
    if (!outcome.keepKey) this.keys.drop(target);
    this.fail(target, outcome.phase, outcome.error, by, route);
  }

  private hostFailed(slot: Slot, error: unknown, by: 'page' | 'customer'): void {
    const outcome = unreachableOutcome(error);
    if (outcome.hostUnreachable) this.host.lost(outcome.hostUnreachable);
    this.fail(slot, outcome.phase, outcome.error, by);
  }

  private fail(
    slot: Slot,
    phase: FailedPhase,
    error: AttemptError,
    by: 'page' | 'customer',
    route: HostRoute | null = null,
  ): void {
    const current = this.attempts.get(slot);
    this.attempts.set(slot, { product: slot, phase, capturedAt: current?.capturedAt ?? this.now(), error, route });
    // The customer who just clicked in the popup sees the result there; a page's key gets a notification.
    if (by === 'page') this.notify(attentionNotification(slot, this.nameOf(slot), phase, error.message));
    this.changed();
  }

  private async checkHost(): Promise<void> {
    this.host.checking();
    this.changed();
    await this.host.check({ transport: this.deps.transport, client: this.deps.client, newId: this.newId });
    this.changed();
  }

  /** The key's hour is over: it is forgotten, and the customer is told to get a new one. */
  private expireKey(slot: Slot): void {
    if (!this.keys.has(slot)) return;
    this.keys.drop(slot);
    const attempt = this.attempts.get(slot);
    // A key nobody confirmed just goes: "get a new key" would be wrong advice for a key that may not be the customer's.
    if (attempt?.phase === 'confirm-key') this.attempts.delete(slot);
    // An activation under way ends on its own (the host refuses old keys).
    else if (attempt && attempt.phase !== 'in-progress')
      this.attempts.set(slot, { ...attempt, phase: 'failed', error: LOCAL_ERRORS.keyExpired() });
    this.changed();
  }

  /** Drops keys whose hour is over and repeat markers that no longer matter. */
  private sweep(): void {
    const now = this.now();
    for (const [slot, held] of this.keys.entries())
      if (!isWithinKeyLifetime(held.capturedAt, now)) this.expireKey(slot);
    this.seen.sweep(now);
  }

  private notify({ id, title, message }: Notification): void {
    void this.deps.ui.notify(id, title, message);
  }

  private setNotice(kind: NoticeKind): void {
    this.notice = { kind, at: this.now() };
    this.changed();
  }

  private changed(): void {
    this.updateBadge();
    this.persist();
    // Tell the popup only once the state is saved: what it shows has been written (and a used key erased).
    void this.store.flushed().then(() => this.deps.ui.stateChanged());
  }

  private updateBadge(): void {
    const badge = badgeFor(this.attempts.values(), this.lastActivated, (slot) => this.nameOf(slot));
    void this.deps.ui.setBadge(badge.text, badge.title);
  }

  private persist(): void {
    this.store.save(
      {
        attempts: [...this.attempts.values()],
        seen: this.seen.toStored(),
        ...this.host.toStored(),
        notice: this.notice,
        lastActivated: this.lastActivated,
      },
      this.keys.toStored(),
    );
  }

  private async restore(): Promise<void> {
    const data = await this.store.load();
    if (!data) return;
    for (const attempt of data.attempts) {
      if (attempt.product !== null && !this.product(attempt.product)) continue;
      // The worker stopped while the host was working: the outcome is unknown, the key still held.
      const restored: Attempt =
        attempt.phase === 'in-progress' ? { ...attempt, phase: 'failed', error: LOCAL_ERRORS.interrupted() } : attempt;
      this.attempts.set(attempt.product, restored);
    }
    for (const [storageKey, held] of Object.entries(data.keys)) {
      const slot = slotFromKey(storageKey);
      if (this.attempts.has(slot)) this.keys.hold(slot, held);
    }
    this.seen.restore(data.seen);
    this.host.restore(data);
    this.notice = data.notice ?? null;
    this.lastActivated = data.lastActivated ?? null;
    this.sweep();
    this.updateBadge();
  }
}

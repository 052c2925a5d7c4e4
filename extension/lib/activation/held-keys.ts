/**
 * The activation keys the background holds, one per slot, until they are used,
 * refused, or their hour is over. A timer reports a key's expiry while the
 * service worker runs; an alarm (`ExpiryAlarms`) outlives a stopped worker and
 * wakes it to drop the key then too. What to do about an expired key is the
 * controller's call (`onExpired`).
 */
import * as v from 'valibot';
import { ACTIVATION_KEY_LIFETIME_MS, ActivationKeySchema } from '../../../shared/activation-key.ts';
import { KEY_SOURCES, PageUrlSchema, type Request } from '../../../shared/messages.ts';
import { slotFromKey, slotKey, type Slot } from './attempt.ts';
import type { ExpiryAlarms } from './ports.ts';

/** Alarm names: one per held key, `*` for the key whose product is not known yet. */
export const KEY_EXPIRY_ALARM_PREFIX = 'devpay.key-expiry:';

/** The slot a key-expiry alarm is for; undefined for any other alarm. */
export function slotOfAlarm(name: string): Slot | undefined {
  return name.startsWith(KEY_EXPIRY_ALARM_PREFIX) ? slotFromKey(name.slice(KEY_EXPIRY_ALARM_PREFIX.length)) : undefined;
}

export const HeldKeySchema = v.object({
  key: ActivationKeySchema,
  capturedAt: v.number(),
  pageUrl: v.optional(PageUrlSchema),
  /** Where it was taken; the host decides what that allows (a pending reactivation, for key-page keys). */
  keySource: v.optional(v.picklist(KEY_SOURCES)),
});
export type HeldKey = v.InferOutput<typeof HeldKeySchema>;

export interface HeldKeysOptions {
  now: () => number;
  setTimer: (fn: () => void, ms: number) => unknown;
  clearTimer: (handle: unknown) => void;
  /** Without alarms, only timers and wake-ups notice an expiry. */
  alarms?: ExpiryAlarms;
  onExpired: (slot: Slot) => void;
}

export class HeldKeys {
  private readonly keys = new Map<Slot, HeldKey>();
  private readonly timers = new Map<Slot, unknown>();

  constructor(private readonly options: HeldKeysOptions) {}

  get(slot: Slot): HeldKey | undefined {
    return this.keys.get(slot);
  }

  has(slot: Slot): boolean {
    return this.keys.has(slot);
  }

  entries(): [Slot, HeldKey][] {
    return [...this.keys];
  }

  /** Holds the key (replacing any in the slot) and arms its expiry. */
  /** A key page showed the key a link gave earlier: from now on it counts as the page's own. */
  shownByKeyPage(slot: Slot, pageUrl: string | undefined): void {
    const held = this.get(slot);
    if (held) this.hold(slot, { ...held, keySource: 'key-page', ...(pageUrl ? { pageUrl } : {}) });
  }

  hold(slot: Slot, held: HeldKey): void {
    const { setTimer, clearTimer, now, onExpired } = this.options;
    this.keys.set(slot, held);
    const existing = this.timers.get(slot);
    if (existing !== undefined) clearTimer(existing);
    const remaining = held.capturedAt + ACTIVATION_KEY_LIFETIME_MS - now();
    this.timers.set(
      slot,
      setTimer(() => onExpired(slot), Math.max(0, remaining)),
    );
    this.armAlarm(slot);
  }

  drop(slot: Slot): void {
    const wasHeld = this.keys.delete(slot);
    const timer = this.timers.get(slot);
    if (timer !== undefined) this.options.clearTimer(timer);
    this.timers.delete(slot);
    const { alarms } = this.options;
    if (wasHeld && alarms) void Promise.resolve(alarms.clear(KEY_EXPIRY_ALARM_PREFIX + slotKey(slot))).catch(() => {});
  }

  /** The timer dies with the service worker; the alarm wakes it to drop the key on time. Nothing held, nothing set. */
  armAlarm(slot: Slot): void {
    const held = this.keys.get(slot);
    const { alarms } = this.options;
    if (!held || !alarms) return;
    const when = held.capturedAt + ACTIVATION_KEY_LIFETIME_MS;
    void Promise.resolve(alarms.set(KEY_EXPIRY_ALARM_PREFIX + slotKey(slot), when)).catch(() => {});
  }

  /** For storage.session: the slot's storage key to its held key. */
  toStored(): Record<string, HeldKey> {
    return Object.fromEntries([...this.keys].map(([slot, held]) => [slotKey(slot), held]));
  }
}

/** The host request that activates a held key (for `slot`'s product, or whichever the host finds). */
export function activateRequest(
  id: string,
  slot: Slot,
  held: HeldKey,
  replace: boolean,
): Extract<Request, { type: 'activate' }> {
  return {
    type: 'activate',
    id,
    key: held.key,
    capturedAt: held.capturedAt,
    replace,
    ...(slot !== null ? { productCode: slot } : {}),
    ...(held.pageUrl ? { pageUrl: held.pageUrl } : {}),
    ...(held.keySource ? { keySource: held.keySource } : {}),
  };
}

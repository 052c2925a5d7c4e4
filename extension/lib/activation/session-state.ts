/**
 * What the background keeps in `storage.session` so that its state survives the
 * service worker being stopped: the schema it is checked against when read back,
 * and the writer that saves one change after another. The held keys go in an
 * entry of their own, the only one holding a secret, removed when none is held.
 */
import * as v from 'valibot';
import { ProductCodeSchema } from '../../../shared/product-code.ts';
import { HOST_ROUTES, HostViewSchema, NoticeSchema } from '../runtime-messages.ts';
import { AttemptSchema } from './attempt.ts';
import { HeldKeySchema, type HeldKey } from './held-keys.ts';
import { LastKnownStatusSchema } from './host-status.ts';
import type { SessionArea } from './ports.ts';

export const SESSION_KEYS = {
  /** The only entry holding a secret. */
  keys: 'devpay.heldKeys',
  state: 'devpay.state',
} as const;

const SessionStateSchema = v.object({
  attempts: v.optional(v.array(AttemptSchema), []),
  keys: v.optional(v.record(v.string(), HeldKeySchema), {}),
  seen: v.optional(v.record(v.string(), v.number()), {}),
  statuses: v.optional(v.record(v.string(), LastKnownStatusSchema), {}),
  activatedVia: v.optional(v.record(v.string(), v.picklist(HOST_ROUTES)), {}),
  host: v.optional(HostViewSchema),
  notice: v.optional(v.nullable(NoticeSchema)),
  lastActivated: v.optional(v.nullable(ProductCodeSchema)),
});
export type StoredSession = v.InferOutput<typeof SessionStateSchema>;

/** Everything but the keys, as written. */
export type SessionState = Omit<v.InferInput<typeof SessionStateSchema>, 'keys'>;

export class SessionStore {
  private writes: Promise<void> = Promise.resolve();

  constructor(private readonly session: SessionArea) {}

  /** What was saved, or null when nothing usable was (missing, unreadable, or not matching the schema). */
  async load(): Promise<StoredSession | null> {
    let stored: Record<string, unknown>;
    try {
      stored = await this.session.get([SESSION_KEYS.state, SESSION_KEYS.keys]);
    } catch {
      return null;
    }
    const parsed = v.safeParse(SessionStateSchema, {
      ...(stored[SESSION_KEYS.state] as object | undefined),
      keys: stored[SESSION_KEYS.keys] ?? {},
    });
    return parsed.success ? parsed.output : null;
  }

  /** Queues a write after the ones before; failures leave memory as the truth. */
  save(state: SessionState, keys: Record<string, HeldKey>): void {
    const { session } = this;
    this.writes = this.writes
      .then(async () => {
        await session.set({ [SESSION_KEYS.state]: state });
        if (Object.keys(keys).length > 0) return session.set({ [SESSION_KEYS.keys]: keys });
        return session.remove([SESSION_KEYS.keys]);
      })
      .catch(() => {});
  }

  /** Resolves when every write queued so far is done. */
  flushed(): Promise<void> {
    return this.writes;
  }
}

/**
 * One activation attempt: which product it is for (its slot), the phase it is
 * in, and what went wrong. The phases are the states of the controller's
 * machine; the schema checks attempts read back from storage.session.
 */
import * as v from 'valibot';
import { AttemptErrorSchema, HOST_ROUTES, ProductSlotSchema } from '../runtime-messages.ts';

/** A product code, or null for the key whose product is not known yet. */
export type Slot = string | null;

/** How a slot is named in storage and alarm names. */
export const slotKey = (slot: Slot): string => slot ?? '*';
export const slotFromKey = (key: string): Slot => (key === '*' ? null : key);

export const PHASES = ['in-progress', 'failed', 'confirm-key', 'confirm-replace', 'fallback'] as const;
export type Phase = (typeof PHASES)[number];
/** The phases an attempt can end in when the host did not activate the key. */
export type FailedPhase = Exclude<Phase, 'in-progress' | 'confirm-key'>;
/** The questions the popup asks about a held key; yes sends it (replacing the credentials for `confirm-replace`). */
export type Question = Extract<Phase, 'confirm-key' | 'confirm-replace'>;

export const AttemptSchema = v.object({
  product: ProductSlotSchema,
  phase: v.picklist(PHASES),
  capturedAt: v.number(),
  error: v.nullable(AttemptErrorSchema),
  /** The way the host answered about this key (null before it answered, or when it could not be reached). */
  route: v.optional(v.nullable(v.picklist(HOST_ROUTES)), null),
});
export type Attempt = v.InferOutput<typeof AttemptSchema>;

/** An attempt that has just begun: being activated, or waiting for the customer to confirm its key. */
export function newAttempt(product: Slot, phase: 'in-progress' | 'confirm-key', capturedAt: number): Attempt {
  return { product, phase, capturedAt, error: null, route: null };
}

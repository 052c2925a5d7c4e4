/**
 * The activation key as both sides must agree on it: its format, how a pasted
 * key is cleaned up, how long it lives; and how identifiers are masked for display.
 *
 * Every known key is 28 upper-case letters and digits; the License Service
 * documents "maximum 30 characters; the length of this key could increase in
 * the future". We accept letters and digits up to 30, and never change case:
 * the service, not us, decides whether a key is valid.
 */
import * as v from 'valibot';

export const ACTIVATION_KEY_MAX_LENGTH = 30;
/** Shorter strings are far more likely to be a word than a key. */
export const ACTIVATION_KEY_MIN_LENGTH = 16;
/** Keys expire one hour after Amazon creates them. */
export const ACTIVATION_KEY_LIFETIME_MS = 60 * 60 * 1000;

const KEY_CHARACTER = '[A-Za-z0-9]';
const ONLY_KEY_CHARACTERS = new RegExp(`^${KEY_CHARACTER}+$`);

export const ACTIVATION_KEY_PATTERN = new RegExp(
  `^${KEY_CHARACTER}{${ACTIVATION_KEY_MIN_LENGTH},${ACTIVATION_KEY_MAX_LENGTH}}$`,
);

/** A key after `normaliseActivationKey`: the only form the extension holds or shows. */
export const ActivationKeySchema = v.pipe(v.string(), v.regex(ACTIVATION_KEY_PATTERN));

/** A key as a page or a caller gave it, before normalising: bounded, checked later. */
export const RawActivationKeySchema = v.pipe(v.string(), v.minLength(1), v.maxLength(ACTIVATION_KEY_MAX_LENGTH * 4));

// Spaces, NBSP, soft hyphen, zero-width and bidi marks, BOM: what a paste or a page may wrap around a key.
// Each of them is removed on its own, so the joiner and variation selectors in the class are meant.
const PASTE_NOISE =
  // oxlint-disable-next-line no-misleading-character-class
  /[\s\u00A0\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180E\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0]/gu;

export type KeyCheck =
  { ok: true; key: string } | { ok: false; reason: 'empty' | 'too-long' | 'too-short' | 'bad-characters' };

/** Trims what a customer may have pasted around a key and checks its shape. Never echoes the key. */
export function normaliseActivationKey(raw: string): KeyCheck {
  const key = raw.replace(PASTE_NOISE, '');
  if (key.length === 0) return { ok: false, reason: 'empty' };
  if (!ONLY_KEY_CHARACTERS.test(key)) return { ok: false, reason: 'bad-characters' };
  if (key.length > ACTIVATION_KEY_MAX_LENGTH) return { ok: false, reason: 'too-long' };
  if (key.length < ACTIVATION_KEY_MIN_LENGTH) return { ok: false, reason: 'too-short' };
  return { ok: true, key };
}

export const KEY_CHECK_MESSAGES: Record<Exclude<KeyCheck, { ok: true }>['reason'], string> = {
  empty: 'No activation key was given.',
  'too-long': `That is not an activation key: it is longer than ${ACTIVATION_KEY_MAX_LENGTH} characters.`,
  'too-short': `That is not an activation key: keys are ${ACTIVATION_KEY_MIN_LENGTH} to ${ACTIVATION_KEY_MAX_LENGTH} letters and digits.`,
  'bad-characters': 'That is not an activation key: keys hold only letters and digits.',
};

/** True while a key captured at `capturedAt` may still be valid. */
export function isWithinKeyLifetime(capturedAt: number, now = Date.now()): boolean {
  return now - capturedAt < ACTIVATION_KEY_LIFETIME_MS && capturedAt <= now + 60_000;
}

/** Shows enough of an identifier to recognise it, never enough to use it: `AKIA************WXYZ`. */
export function maskIdentifier(value: string): string {
  if (value.length <= 8) return '*'.repeat(value.length);
  return value.slice(0, 4) + '*'.repeat(value.length - 8) + value.slice(-4);
}

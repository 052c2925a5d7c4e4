/**
 * The one local check of an activation key before it may be sent: its shape
 * (normalised as shared/activation-key.ts says) and its age (keys live an hour).
 * The activation checks it before touching the keychain, the client again before
 * sending, with the same messages.
 */
import { isWithinKeyLifetime, KEY_CHECK_MESSAGES, normaliseActivationKey } from '../../shared/activation-key.ts';
import { HostError, type ProductRef } from '../errors.ts';
import { LicenseServiceError } from './errors.ts';

/** A captured-at time this far ahead of our clock is a clock problem, not a fresh key. */
const MAX_CLOCK_SKEW_MS = 60_000;

export interface KeyCheckContext {
  /** When the key was captured (ms since the epoch); undefined: unknown, age not checked. */
  capturedAt: number | undefined;
  now: number;
  /** Where the customer gets a new key; named in the messages. */
  activateUrl: string;
  /** The product being activated, when known: carried by the error. */
  product?: ProductRef | undefined;
}

/**
 * The key as it is sent (paste noise removed). Throws a LicenseServiceError
 * (MALFORMED_KEY, KEY_TOO_OLD: nothing was sent) or BAD_MESSAGE for a capture time in the future.
 */
export function checkActivationKey(raw: string, ctx: KeyCheckContext): string {
  const { activateUrl, product } = ctx;
  const checked = normaliseActivationKey(raw);
  if (!checked.ok) {
    throw new LicenseServiceError(
      'MALFORMED_KEY',
      KEY_CHECK_MESSAGES[checked.reason],
      `Copy it again from the top frame of the confirmation page, or get a new one at ${activateUrl}.`,
      {
        activateUrl,
        product,
      },
    );
  }
  if (ctx.capturedAt !== undefined) {
    if (ctx.capturedAt > ctx.now + MAX_CLOCK_SKEW_MS) {
      throw new HostError('BAD_MESSAGE', 'The time the key was captured lies in the future; check the computer clock.');
    }
    if (!isWithinKeyLifetime(ctx.capturedAt, ctx.now)) {
      throw new LicenseServiceError(
        'KEY_TOO_OLD',
        'This activation key was shown over an hour ago, so it has expired.',
        `Get a new key at ${activateUrl} and activate again.`,
        {
          activateUrl,
          product,
        },
      );
    }
  }
  return checked.key;
}

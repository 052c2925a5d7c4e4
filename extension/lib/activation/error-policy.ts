/**
 * What each failure means for the held key and for the customer: the table for
 * the host's error codes, and the extension's own errors (host unreachable, a
 * bad reply, a key that expired here, an activation cut short).
 */
import type { ErrorCode, ErrorReply } from '../../../shared/messages.ts';
import { HostUnavailableError } from '../host-transport.ts';
import {
  MAX_ERROR_MESSAGE_LENGTH,
  type AttemptError,
  type HostUnavailableReason,
  type NextStep,
} from '../runtime-messages.ts';
import { STRINGS } from '../strings.ts';
import type { FailedPhase } from './attempt.ts';

export interface Outcome {
  phase: FailedPhase;
  error: AttemptError;
  /** The host cannot be used from here, for this reason. */
  hostUnreachable?: HostUnavailableReason;
}

interface Handling {
  phase: FailedPhase;
  keepKey: boolean;
  nextStep: NextStep;
  /** The reply also says the host cannot be used from here (it answered, so its version stays known). */
  hostUnreachable?: HostUnavailableReason;
}

/** Exhaustive: a new code must be placed here. */
const ERROR_HANDLING: Record<ErrorCode, Handling> = {
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
  CALLER_NOT_ALLOWED: { phase: 'fallback', keepKey: true, nextStep: 'install', hostUnreachable: 'forbidden' },
  PROTOCOL_MISMATCH: { phase: 'fallback', keepKey: true, nextStep: 'update', hostUnreachable: 'protocol-mismatch' },
  BAD_MESSAGE: { phase: 'fallback', keepKey: true, nextStep: 'update' },
  UNKNOWN_TYPE: { phase: 'fallback', keepKey: true, nextStep: 'update' },
};

/** The extension's own errors, as the popup shows them. */
export const LOCAL_ERRORS = {
  badReply: (code: 'HOST_BAD_REPLY' | 'INTERNAL' = 'HOST_BAD_REPLY'): AttemptError => ({
    code,
    message: STRINGS.localError.badReply,
    nextStep: 'retry',
  }),
  keyExpired: (): AttemptError => ({
    code: 'KEY_EXPIRED_LOCAL',
    message: STRINGS.localError.keyExpired,
    nextStep: 'new-key',
  }),
  /** The worker stopped while the host was working: the outcome is unknown, the key still held. */
  interrupted: (): AttemptError => ({
    code: 'INTERRUPTED',
    message: STRINGS.localError.interrupted,
    nextStep: 'retry',
  }),
};

function clip(text: string): string {
  return text.length > MAX_ERROR_MESSAGE_LENGTH ? text.slice(0, MAX_ERROR_MESSAGE_LENGTH - 1) + '…' : text;
}

/** The host refused the key. */
export function refusalOutcome(reply: ErrorReply): Outcome & { keepKey: boolean } {
  const { phase, keepKey, nextStep, hostUnreachable } = ERROR_HANDLING[reply.code];
  return {
    phase,
    keepKey,
    error: { code: reply.code, message: clip(reply.message), nextStep },
    ...(hostUnreachable ? { hostUnreachable } : {}),
  };
}

/** The request never got an answer (`error` is what the transport threw). */
export function unreachableOutcome(error: unknown): Outcome {
  if (!(error instanceof HostUnavailableError)) return { phase: 'failed', error: LOCAL_ERRORS.badReply('INTERNAL') };
  const hostUnreachable = error.reason;
  // The host exists but did not answer: the key stays for a Retry.
  if (error.reason === 'timeout') {
    return {
      phase: 'failed',
      error: { code: 'HOST_TIMEOUT', message: STRINGS.localError.timeout, nextStep: 'retry' },
      hostUnreachable,
    };
  }
  const nextStep: NextStep = error.reason === 'protocol-mismatch' ? 'update' : 'install';
  return {
    phase: 'fallback',
    error: { code: 'HOST_UNAVAILABLE', message: STRINGS.hostUnavailable(error.reason), nextStep },
    hostUnreachable,
  };
}

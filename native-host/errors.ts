/**
 * HostError: a failure the caller must hear about, with a stable code from
 * shared/messages.ts and a message fit for the customer (never a key or secret).
 * The protocol handler turns it into an error reply, the CLI into an exit code.
 * Kinds with more to say extend it (LicenseServiceError, KeychainError).
 */
import type { ErrorCode } from '../shared/messages.ts';

export interface ProductRef {
  code: string;
  name: string;
}

export interface HostErrorDetails {
  /** The product the failure is about, when there is one. */
  product?: ProductRef;
  /** Set for key errors: where the customer gets a new key. */
  activateUrl?: string;
}

export class HostError extends Error {
  override name = 'HostError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: HostErrorDetails = {},
  ) {
    super(message);
  }
}

export function isHostError(error: unknown): error is HostError {
  return error instanceof HostError;
}

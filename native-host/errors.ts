/**
 * The one error type the host's own code throws: a stable code from
 * shared/messages.ts and a message fit for the customer (never a key or secret).
 */
import type { ErrorCode } from '../shared/messages.ts';
import { EXIT, type ExitCode } from './cli/exit-codes.ts';

export interface ProductRef {
  code: string;
  name: string;
}

export class HostError extends Error {
  override name = 'HostError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: { product?: ProductRef; activateUrl?: string } = {},
  ) {
    super(message);
  }
}

export function isHostError(error: unknown): error is HostError {
  return error instanceof HostError;
}

/** How each error code ends the CLI (see EXIT). */
export function exitCodeFor(code: ErrorCode): ExitCode {
  switch (code) {
    case 'MALFORMED_KEY':
    case 'KEY_TOO_OLD':
    case 'EXPIRED_KEY':
    case 'INVALID_KEY':
    case 'INCORRECT_KEY':
      return EXIT.KEY_REFUSED;
    case 'SERVICE_UNAVAILABLE':
    case 'SERVICE_UNTRUSTED':
    case 'SERVICE_BAD_ANSWER':
      return EXIT.SERVICE;
    case 'KEYCHAIN_UNAVAILABLE':
    case 'KEYCHAIN_LOCKED':
    case 'STORAGE_FAILED':
    case 'CREDENTIALS_UNREADABLE':
    case 'BUSY':
      return EXIT.STORAGE;
    case 'UNKNOWN_PRODUCT':
    case 'VENDOR_CONFIGURATION':
    case 'BAD_MESSAGE':
      return EXIT.USAGE;
    default:
      return EXIT.OTHER;
  }
}

/** A CLI-only failure with its own exit code (usage problems, a cancelled prompt). */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
  }
}

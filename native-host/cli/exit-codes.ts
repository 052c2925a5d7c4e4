/**
 * How `devpay-companion` ends: its exit codes (documented in --help and the
 * README; stable), the code each host error code gives, and CliError for the
 * failures only the command line has (usage, a cancelled prompt).
 */
import type { ErrorCode } from '../../shared/messages.ts';

export const EXIT = {
  OK: 0,
  OTHER: 1,
  /** Usage or configuration (an http:// License Service included). */
  USAGE: 2,
  /** The key was refused: malformed, expired, invalid, for another product. */
  KEY_REFUSED: 3,
  /** The License Service could not be used: down after retries, untrusted certificate, unusable answer. */
  SERVICE: 4,
  /** Keychain or storage. */
  STORAGE: 5,
  /** `check`: the stored set is missing, incomplete or unreadable: run `reactivate`. */
  REACTIVATE: 6,
  /** `reactivate`: no new key arrived in time (or it was cancelled); the old set is untouched. */
  NO_NEW_KEY: 7,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

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

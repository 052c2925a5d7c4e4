/** Process exit codes of `devpay-companion`, documented in --help and the README. Stable. */
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
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

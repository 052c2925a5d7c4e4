/**
 * The host's side of pairing: the pairings it keeps (a 0600 file in the data
 * folder: an id and a 256-bit secret for each paired browser) and the one-time
 * code `serve --pair` shows. A code lives for `PAIRING_CODE_TTL_MS` and allows
 * `PAIRING_ATTEMPTS` tries, after which it is void: the code cannot be guessed
 * online, and a stretched proof of it cannot be guessed offline (50 bits, PBKDF2).
 */
import { join } from 'node:path';
import * as v from 'valibot';
import { type Bytes, fromBase64Url, newPairingCode, randomBase64Url, toBase64Url } from '../../shared/loopback-auth.ts';
import { readPrivateFile, writePrivateFile } from '../store/private-file.ts';

export const PAIRING_CODE_TTL_MS = 5 * 60_000;
export const PAIRING_ATTEMPTS = 5;
/** Pairings kept; the oldest is dropped when a new one would exceed this. */
export const MAX_PAIRINGS = 8;

const PairingFileSchema = v.strictObject({
  version: v.literal(1),
  pairings: v.pipe(
    v.array(
      v.strictObject({
        id: v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{16,64}$/)),
        secret: v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{43}$/)),
        created: v.string(),
      }),
    ),
    v.maxLength(MAX_PAIRINGS),
  ),
});
type PairingFile = v.InferOutput<typeof PairingFileSchema>;

export function pairingsFile(dataDir: string): string {
  return join(dataDir, 'loopback-pairings.json');
}

export class PairingStore {
  constructor(readonly file: string) {}

  private async load(): Promise<PairingFile> {
    const text = await readPrivateFile(this.file, 64 * 1024);
    if (text === undefined) return { version: 1, pairings: [] };
    const parsed = v.safeParse(PairingFileSchema, JSON.parse(text));
    // A damaged file pairs nothing: the customer pairs again.
    return parsed.success ? parsed.output : { version: 1, pairings: [] };
  }

  /** The secret of a pairing, or undefined for an unknown one. */
  async secretOf(id: string): Promise<Bytes | undefined> {
    const found = (await this.load()).pairings.find((p) => p.id === id);
    return found ? fromBase64Url(found.secret) : undefined;
  }

  async count(): Promise<number> {
    return (await this.load()).pairings.length;
  }

  /** Keeps a new pairing; returns its id. */
  async add(secret: Bytes, now = new Date()): Promise<string> {
    const file = await this.load();
    const id = randomBase64Url(18);
    const pairings = [...file.pairings, { id, secret: toBase64Url(secret), created: now.toISOString() }].slice(
      -MAX_PAIRINGS,
    );
    await writePrivateFile(this.file, `${JSON.stringify({ version: 1, pairings }, null, 2)}\n`);
    return id;
  }

  async forgetAll(): Promise<void> {
    await writePrivateFile(this.file, `${JSON.stringify({ version: 1, pairings: [] }, null, 2)}\n`);
  }
}

/** The one-time code `serve --pair` shows: expires, and is void after a few wrong tries. */
export class PairingCode {
  readonly code = newPairingCode();
  private attemptsLeft = PAIRING_ATTEMPTS;
  private used = false;
  readonly expiresAt: number;

  constructor(
    private readonly now: () => number = Date.now,
    ttlMs = PAIRING_CODE_TTL_MS,
  ) {
    this.expiresAt = now() + ttlMs;
  }

  /** True while the code may still be tried. */
  get open(): boolean {
    return !this.used && this.attemptsLeft > 0 && this.now() < this.expiresAt;
  }

  /** Takes one try (before the proof is checked, so a try cannot be retracted); false when none are left. */
  takeAttempt(): boolean {
    if (!this.open) return false;
    this.attemptsLeft--;
    return true;
  }

  /** False once the code has been used or its time is over (tries left do not matter). */
  get unexpired(): boolean {
    return !this.used && this.now() < this.expiresAt;
  }

  /** A successful pairing uses the code up. */
  consume(): void {
    this.used = true;
  }
}

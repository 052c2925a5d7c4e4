/**
 * Keys seen in the last hour, remembered only as a one-way digest, so a key
 * shown again (a reload, a second frame, another tab) is recognised without
 * keeping the key itself. Bounded in number; each entry lasts the key's hour.
 */
import { ACTIVATION_KEY_LIFETIME_MS } from '../../../shared/activation-key.ts';

const MAX_SEEN = 200;

export async function sha256Hex(text: string): Promise<string> {
  const bytes = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export class SeenKeys {
  /** Digest to the time it stops mattering. */
  private readonly until = new Map<string, number>();

  has(digest: string): boolean {
    return this.until.has(digest);
  }

  remember(digest: string, capturedAt: number): void {
    this.until.set(digest, capturedAt + ACTIVATION_KEY_LIFETIME_MS);
    while (this.until.size > MAX_SEEN) {
      const [oldest] = this.until.keys();
      if (oldest === undefined) break;
      this.until.delete(oldest);
    }
  }

  /** Forgets the digests whose key's hour is over. */
  sweep(now: number): void {
    for (const [digest, until] of this.until) if (until <= now) this.until.delete(digest);
  }

  toStored(): Record<string, number> {
    return Object.fromEntries(this.until);
  }

  restore(stored: Record<string, number>): void {
    for (const [digest, until] of Object.entries(stored)) this.until.set(digest, until);
  }
}

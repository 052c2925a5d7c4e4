/**
 * The extension's half of the loopback channel's mutual authentication
 * (protocol in shared/loopback-auth.ts): the pairing it keeps in
 * `storage.local` (an id and a 256-bit secret; never the activation key), the
 * client handshake every connection runs before anything else, and pairing
 * itself from the code the customer types. The handshake sends nothing that
 * matters until the server has proved it knows the secret: a program squatting
 * on the port learns a random nonce and the pairing's id, no more.
 */
import * as v from 'valibot';
import {
  AuthChallengeSchema,
  AuthOkSchema,
  authProof,
  fromBase64Url,
  pairingSecret,
  proofsMatch,
  randomBase64Url,
  stretchPairingCode,
  toBase64Url,
  type AuthHello,
  type Bytes,
} from '../../shared/loopback-auth.ts';

export const PAIRING_STORAGE_KEY = 'devpay:loopback-pairing';

const StoredPairingSchema = v.strictObject({
  id: v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{16,64}$/)),
  secret: v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{43}$/)),
});

export interface LoopbackPairing {
  id: string;
  secret: Bytes;
}

/** The parts of `browser.storage.local` used. */
export interface PairingStorageArea {
  get(key: string): Promise<Record<string, unknown>>;
  set(items: Record<string, unknown>): Promise<void>;
  remove(key: string): Promise<void>;
}

export async function loadPairing(storage: PairingStorageArea): Promise<LoopbackPairing | undefined> {
  const stored = v.safeParse(StoredPairingSchema, (await storage.get(PAIRING_STORAGE_KEY))[PAIRING_STORAGE_KEY]);
  return stored.success ? { id: stored.output.id, secret: fromBase64Url(stored.output.secret) } : undefined;
}

export async function savePairing(storage: PairingStorageArea, pairing: LoopbackPairing): Promise<void> {
  await storage.set({ [PAIRING_STORAGE_KEY]: { id: pairing.id, secret: toBase64Url(pairing.secret) } });
}

export type HandshakeStep = { send: object } | { done: string } | { fail: string };

/**
 * One connection's client handshake. `start()` gives the first message; each
 * message from the server goes to `receive()`, which says what to send next,
 * or that the handshake is over (the pairing's id) or failed.
 */
export class ClientHandshake {
  private readonly hello: AuthHello;
  private stage: 'challenge' | 'ok' | 'over' = 'challenge';
  private key: Bytes | undefined;
  private serverNonce = '';

  constructor(private readonly how: { mode: 'session'; pairing: LoopbackPairing } | { mode: 'pair'; code: string }) {
    this.hello = {
      type: 'auth-hello',
      mode: how.mode,
      nonce: randomBase64Url(),
      ...(how.mode === 'session' ? { pairing: how.pairing.id } : {}),
    };
  }

  start(): object {
    return this.hello;
  }

  async receive(message: unknown): Promise<HandshakeStep> {
    if (this.stage === 'challenge') {
      this.stage = 'over';
      const challenge = v.safeParse(AuthChallengeSchema, message);
      if (!challenge.success) return { fail: 'the server did not answer the authentication' };
      const { nonce, salt, proof } = challenge.output;
      if (this.how.mode === 'session') this.key = this.how.pairing.secret;
      else if (salt !== undefined) this.key = await stretchPairingCode(this.how.code, salt);
      // The server proves first; a server that cannot is not ours and gets nothing.
      if (!this.key || !proofsMatch(proof, await authProof(this.key, 'server', this.hello, nonce)))
        return { fail: 'the server could not prove it is the paired companion' };
      this.serverNonce = nonce;
      this.stage = 'ok';
      return { send: { type: 'auth-proof', proof: await authProof(this.key, 'client', this.hello, nonce) } };
    }
    if (this.stage === 'ok') {
      this.stage = 'over';
      const ok = v.safeParse(AuthOkSchema, message);
      return ok.success ? { done: ok.output.pairing } : { fail: 'the server refused our proof' };
    }
    return { fail: 'unexpected message' };
  }

  /** After a successful pairing: the long-term pairing both sides now share. */
  async pairing(id: string): Promise<LoopbackPairing> {
    if (this.how.mode === 'session') return this.how.pairing;
    return { id, secret: await pairingSecret(this.key!, this.hello.nonce, this.serverNonce) };
  }
}

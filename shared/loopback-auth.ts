/**
 * Mutual authentication on the loopback channel, the part both sides share:
 * the messages (valibot schemas) and the cryptography (WebCrypto, which both
 * the browser and Node have, so both sides run the very same code).
 *
 * Pairing: `devpay-companion serve --pair` shows a one-time code (10 characters,
 * 50 bits); the customer types it into the popup. Both sides stretch it with
 * PBKDF2 (a random salt from the host), and derive the long-term pairing secret
 * from that and both nonces with HKDF. Every later connection proves knowledge of
 * that secret in both directions, server first, before any request:
 *
 *   client -> { type: 'auth-hello', mode, pairing?, nonce }
 *   server -> { type: 'auth-challenge', nonce, salt?, proof }   proof = HMAC(K, 'server' ...)
 *   client -> { type: 'auth-proof', proof }                      (only if the server's proof holds)
 *   server -> { type: 'auth-ok', pairing }                       (only if the client's proof holds)
 *
 * A server that cannot prove it (a program squatting on the port) gets nothing
 * but a random nonce; a client that cannot prove it gets no answer to anything.
 */
import * as v from 'valibot';

/** Crockford base32 without the confusable letters; codes are typed by people. */
export const PAIRING_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
export const PAIRING_CODE_LENGTH = 10;
export const PBKDF2_ITERATIONS = 200_000;

const B64 = /^[A-Za-z0-9_-]{16,128}$/;
const Nonce = v.pipe(v.string(), v.regex(B64));
const PairingId = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{16,64}$/));

export const AuthHelloSchema = v.strictObject({
  type: v.literal('auth-hello'),
  mode: v.picklist(['pair', 'session']),
  /** Which pairing (session mode). */
  pairing: v.optional(PairingId),
  nonce: Nonce,
});
export const AuthChallengeSchema = v.strictObject({
  type: v.literal('auth-challenge'),
  nonce: Nonce,
  /** Pair mode: the salt for stretching the code. */
  salt: v.optional(Nonce),
  proof: Nonce,
});
export const AuthProofSchema = v.strictObject({ type: v.literal('auth-proof'), proof: Nonce });
export const AuthOkSchema = v.strictObject({ type: v.literal('auth-ok'), pairing: PairingId });

export type AuthHello = v.InferOutput<typeof AuthHelloSchema>;
export type AuthChallenge = v.InferOutput<typeof AuthChallengeSchema>;

export function toBase64Url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function fromBase64Url(text: string): Bytes {
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

export function randomBase64Url(bytes = 32): string {
  return toBase64Url(crypto.getRandomValues(new Uint8Array(bytes)));
}

/** A new pairing code, uniformly from the alphabet (32 letters: no modulo bias). */
export function newPairingCode(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(PAIRING_CODE_LENGTH));
  return Array.from(bytes, (b) => PAIRING_ALPHABET[b % 32]).join('');
}

/** What the customer typed, as the code: case, spaces and dashes ignored, O/I/L read as 0/1/1. Null if it cannot be one. */
export function normalisePairingCode(typed: string): string | null {
  const code = typed.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
  if (code.length !== PAIRING_CODE_LENGTH) return null;
  return code.split('').every((c) => PAIRING_ALPHABET.includes(c)) ? code : null;
}

/** Bytes WebCrypto accepts (not backed by a SharedArrayBuffer). */
export type Bytes = Uint8Array<ArrayBuffer>;

const utf8 = (text: string) => new TextEncoder().encode(text);

/** The pairing key: the code stretched with PBKDF2-SHA-256, so a captured proof cannot be brute-forced. */
export async function stretchPairingCode(code: string, salt: string): Promise<Bytes> {
  const base = await crypto.subtle.importKey('raw', utf8(code), 'PBKDF2', false, ['deriveBits']);
  const bits = await crypto.subtle.deriveBits(
    { name: 'PBKDF2', hash: 'SHA-256', salt: fromBase64Url(salt), iterations: PBKDF2_ITERATIONS },
    base,
    256,
  );
  return new Uint8Array(bits);
}

/** The long-term secret a completed pairing leaves on both sides (HKDF from the pairing key and both nonces). */
export async function pairingSecret(pairingKey: Bytes, clientNonce: string, serverNonce: string): Promise<Bytes> {
  const base = await crypto.subtle.importKey('raw', pairingKey, 'HKDF', false, ['deriveBits']);
  const bits = await crypto.subtle.deriveBits(
    {
      name: 'HKDF',
      hash: 'SHA-256',
      salt: utf8(`${clientNonce}.${serverNonce}`),
      info: utf8('devpay loopback pairing secret v1'),
    },
    base,
    256,
  );
  return new Uint8Array(bits);
}

/** Who proves what: the role is part of the MAC, so one side's proof never passes for the other's. */
export async function authProof(
  key: Bytes,
  role: 'server' | 'client',
  hello: Pick<AuthHello, 'mode' | 'nonce'>,
  serverNonce: string,
): Promise<string> {
  const hmac = await crypto.subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = await crypto.subtle.sign(
    'HMAC',
    hmac,
    utf8(`devpay loopback auth v1|${role}|${hello.mode}|${hello.nonce}|${serverNonce}`),
  );
  return toBase64Url(new Uint8Array(mac));
}

/** Constant-time comparison of two proofs. */
export function proofsMatch(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

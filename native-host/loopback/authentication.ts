/**
 * The server's half of the loopback channel's mutual authentication (protocol
 * in shared/loopback-auth.ts). Runs on a freshly upgraded WebSocket before the
 * connection is handed to the request handler: the client's first message must
 * be `auth-hello`; the server proves first; the client's proof must hold; only
 * then does anything else get an answer. Every step is bounded by the caller's
 * deadline (the whole handshake, from the TCP connection on).
 */
import * as v from 'valibot';
import type { RawData, WebSocket } from 'ws';
import {
  type Bytes,
  AuthHelloSchema,
  AuthProofSchema,
  authProof,
  pairingSecret,
  proofsMatch,
  randomBase64Url,
  stretchPairingCode,
} from '../../shared/loopback-auth.ts';
import type { PairingCode, PairingStore } from './pairing.ts';
import { messageBytes } from './message-bytes.ts';

export interface AuthenticationDeps {
  pairings: PairingStore;
  /** The code `serve --pair` is showing, if any. */
  pairingCode(): PairingCode | undefined;
  /** False when this identity (a pairing) already has all the connections it may have. */
  hasRoomFor(pairing: string): boolean;
}

export type AuthOutcome = { ok: true; pairing: string; paired: boolean } | { ok: false; reason: string; busy?: true };

/** The next text message, parsed against `schema`; undefined on anything else, a close, or the deadline. */
function nextMessage<T extends v.GenericSchema>(
  ws: WebSocket,
  schema: T,
  deadline: number,
): Promise<v.InferOutput<T> | undefined> {
  return new Promise((resolve) => {
    const done = (value: v.InferOutput<T> | undefined) => {
      clearTimeout(timer);
      ws.off('message', onMessage);
      ws.off('close', onClose);
      resolve(value);
    };
    const onMessage = (data: RawData, isBinary: boolean) => {
      if (isBinary) return done(undefined);
      try {
        const parsed = v.safeParse(schema, JSON.parse(messageBytes(data).toString('utf8')));
        done(parsed.success ? parsed.output : undefined);
      } catch {
        done(undefined);
      }
    };
    const onClose = () => done(undefined);
    const timer = setTimeout(() => done(undefined), Math.max(0, deadline - Date.now()));
    ws.on('message', onMessage);
    ws.once('close', onClose);
  });
}

export async function authenticate(ws: WebSocket, deps: AuthenticationDeps, deadline: number): Promise<AuthOutcome> {
  const hello = await nextMessage(ws, AuthHelloSchema, deadline);
  if (!hello) return { ok: false, reason: 'no auth-hello' };

  let key: Bytes | undefined;
  let salt: string | undefined;
  let code: PairingCode | undefined;
  if (hello.mode === 'session') {
    key = hello.pairing !== undefined ? await deps.pairings.secretOf(hello.pairing) : undefined;
    if (!key) return { ok: false, reason: 'unknown pairing' };
  } else {
    code = deps.pairingCode();
    // The try is counted before anything is proved: a guesser spends one whatever happens next.
    if (!code?.takeAttempt()) return { ok: false, reason: 'no pairing code open (or no tries left)' };
    salt = randomBase64Url();
    key = await stretchPairingCode(code.code, salt);
  }

  const nonce = randomBase64Url();
  const proof = await authProof(key, 'server', hello, nonce);
  if (ws.readyState !== ws.OPEN) return { ok: false, reason: 'closed' };
  ws.send(JSON.stringify({ type: 'auth-challenge', nonce, ...(salt !== undefined ? { salt } : {}), proof }));

  const answer = await nextMessage(ws, AuthProofSchema, deadline);
  if (!answer) return { ok: false, reason: 'no auth-proof' };
  if (!proofsMatch(answer.proof, await authProof(key, 'client', hello, nonce)))
    return { ok: false, reason: 'wrong proof' };

  let pairing = hello.pairing;
  if (code) {
    if (!code.unexpired) return { ok: false, reason: 'pairing code expired meanwhile' };
    code.consume();
    pairing = await deps.pairings.add(await pairingSecret(key, hello.nonce, nonce));
  }
  if (ws.readyState !== ws.OPEN || pairing === undefined) return { ok: false, reason: 'closed' };
  if (!deps.hasRoomFor(pairing)) return { ok: false, reason: 'too many open', busy: true };
  ws.send(JSON.stringify({ type: 'auth-ok', pairing }));
  return { ok: true, pairing, paired: code !== undefined };
}

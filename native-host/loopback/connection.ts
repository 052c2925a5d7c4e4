/**
 * One admitted WebSocket: text messages in, each decoded and handed to the
 * transport-independent request handler (the one native messaging uses), its
 * reply sent back. Only the framing differs from native messaging: a WebSocket
 * text message instead of a length-prefixed stdio frame. Bounded: message size
 * (ws' maxPayload), requests in flight, message rate, idle time.
 */
import type { RawData, WebSocket } from 'ws';
import type { CredentialsEvent, ErrorReply, Reply } from '../../shared/messages.ts';
import type { Logger } from '../log.ts';
import { BadJsonFrame } from '../protocol/bad-json.ts';
import type { LoopbackClient } from './admission.ts';
import { messageBytes } from './message-bytes.ts';

/** Close codes a client may see, besides ws' own 1009 (message too big) and 1006 (gone). */
export const CLOSE_CODES = {
  /** The server is shutting down. */
  shuttingDown: 1001,
  /** A binary message: this channel carries JSON text only. */
  binary: 1003,
  /** Too many messages in too short a time. */
  rateLimited: 1008,
  /** No request for longer than the idle timeout. */
  idle: 4000,
  /** No answer to our ping: the peer is gone. */
  unresponsive: 4001,
  /** Authenticated, but its identity (or the server) has all the connections it may have. */
  tooMany: 1013,
  /** The client did not prove it is paired (authentication.ts). */
  unauthenticated: 4003,
} as const;

export interface ConnectionLimits {
  /** Requests handled at once on one connection; more get BUSY (as with native messaging). */
  maxInFlight: number;
  /** Sustained messages per second, and the burst allowed above it. */
  messagesPerSecond: number;
  messageBurst: number;
  /** Browser connections without a request for this long are closed (local programs listen for events, so they are exempt). */
  idleTimeoutMs: number;
}

export type RequestHandler = (message: unknown) => Promise<Reply>;

function idOf(message: unknown): string | null {
  const id = typeof message === 'object' && message !== null ? (message as { id?: unknown }).id : undefined;
  return typeof id === 'string' ? id.slice(0, 64) : null;
}

function isHello(message: unknown): boolean {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === 'hello';
}

/** A token bucket: `burst` messages at once, refilled at `perSecond`. */
class RateLimit {
  private tokens: number;
  private last = Date.now();
  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
  }
  take(): boolean {
    const now = Date.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

export class LoopbackConnection {
  private inFlight = 0;
  private readonly rate: RateLimit;
  private idle: ReturnType<typeof setTimeout> | undefined;
  private awaitingPong = false;
  private readonly pending = new Set<Promise<void>>();
  readonly closed: Promise<void>;

  constructor(
    readonly ws: WebSocket,
    readonly client: LoopbackClient,
    /** Whom the connection authenticated as: a pairing's id, or 'local' for the token's holders. */
    readonly identity: string,
    private readonly handle: RequestHandler,
    private readonly limits: ConnectionLimits,
    private readonly log: Logger,
  ) {
    this.rate = new RateLimit(limits.messagesPerSecond, limits.messageBurst);
    this.closed = new Promise((resolve) => ws.once('close', () => resolve()));
    ws.on('message', (data, isBinary) => this.receive(data, isBinary));
    ws.on('pong', () => (this.awaitingPong = false));
    // ws reports oversize messages and protocol violations here, then closes (1009, 1002): nothing to crash on.
    ws.on('error', (error: Error & { code?: string }) =>
      log.warn('loopback connection error', { code: error.code ?? error.name }),
    );
    ws.once('close', (code) => {
      if (this.idle !== undefined) clearTimeout(this.idle);
      log.info('loopback connection closed', { client: this.client.kind, code });
    });
    this.armIdle();
  }

  /** Receives `credentials-changed` events: the desktop product, not the browser. */
  get wantsEvents(): boolean {
    return this.client.kind === 'local';
  }

  sendEvent(event: CredentialsEvent): void {
    this.send(event);
  }

  /** Called by the server's heartbeat: a peer that did not answer the last ping is dropped. */
  heartbeat(): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    if (this.awaitingPong) {
      this.log.info('loopback peer unresponsive; closing');
      this.ws.close(CLOSE_CODES.unresponsive, 'no answer to ping');
      this.ws.terminate();
      return;
    }
    this.awaitingPong = true;
    this.ws.ping();
  }

  /** Resolves when the requests being handled have been answered. */
  async drain(): Promise<void> {
    await Promise.allSettled(this.pending);
  }

  close(code: number, reason: string): void {
    if (this.ws.readyState === this.ws.OPEN || this.ws.readyState === this.ws.CONNECTING) this.ws.close(code, reason);
  }

  private receive(data: RawData, isBinary: boolean): void {
    if (!this.rate.take()) {
      this.log.warn('loopback client exceeded the message rate; closing', { client: this.client.kind });
      this.close(CLOSE_CODES.rateLimited, 'too many messages');
      return;
    }
    if (isBinary) {
      this.close(CLOSE_CODES.binary, 'send JSON text messages');
      return;
    }
    const bytes = messageBytes(data);
    // Exactly what native messaging hands the handler: the parsed JSON, or a BadJsonFrame it answers BAD_MESSAGE.
    let message: unknown;
    try {
      message = JSON.parse(bytes.toString('utf8'));
    } catch {
      message = new BadJsonFrame(bytes.length);
    }
    if (this.inFlight >= this.limits.maxInFlight) {
      this.send({
        type: 'error',
        id: idOf(message),
        code: 'BUSY',
        message: 'Too many requests at once; wait for the earlier ones to be answered.',
      } satisfies ErrorReply);
      return;
    }
    // The token proves only "a program of this user": it may listen for events, never act.
    if (this.client.kind === 'local' && !isHello(message)) {
      this.send({
        type: 'error',
        id: idOf(message),
        code: 'CALLER_NOT_ALLOWED',
        message:
          'Local programs may only listen for credentials-changed events; activations come from the paired extension.',
      } satisfies ErrorReply);
      return;
    }
    this.inFlight++;
    this.disarmIdle();
    const task = this.handle(message)
      .then(
        (reply) => this.send(reply),
        (error: unknown) => {
          // The handler never throws; if it somehow did, the caller still gets an answer.
          this.log.error('handler failed', { error: error instanceof Error ? error.message : String(error) });
          this.send({
            type: 'error',
            id: idOf(message),
            code: 'INTERNAL',
            message: 'The desktop companion hit an internal error.',
          } satisfies ErrorReply);
        },
      )
      .finally(() => {
        this.inFlight--;
        this.pending.delete(task);
        this.armIdle();
      });
    this.pending.add(task);
  }

  private send(message: Reply | CredentialsEvent): void {
    if (this.ws.readyState !== this.ws.OPEN) return; // the caller went away; nothing to tell
    this.ws.send(JSON.stringify(message));
  }

  private disarmIdle(): void {
    if (this.idle !== undefined) clearTimeout(this.idle);
    this.idle = undefined;
  }

  private armIdle(): void {
    this.disarmIdle();
    if (this.wantsEvents || this.inFlight > 0 || this.ws.readyState !== this.ws.OPEN) return;
    this.idle = setTimeout(() => {
      this.log.info('loopback connection idle; closing', { client: this.client.kind });
      this.close(CLOSE_CODES.idle, 'idle');
    }, this.limits.idleTimeoutMs);
  }
}

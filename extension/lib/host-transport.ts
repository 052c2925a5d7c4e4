/**
 * How the background talks to the host. `HostTransport` is all the rest of the
 * extension knows; the native messaging implementation below is one of them (the
 * loopback one in loopback-transport.ts is the same over a WebSocket, and
 * fallback-transport.ts tries the two in order).
 *
 * Every reply is validated against shared/messages.ts; every wait has a limit.
 * Failures to reach the host reject with `HostUnavailableError`, whose reason
 * says what the customer should be told.
 */
import * as v from 'valibot';
import { PROTOCOL_VERSION, ReplySchema, type HelloReply, type Reply, type Request } from '../../shared/messages.ts';
import type { HostRoute, HostUnavailableReason } from './runtime-messages.ts';

export interface HostTransport {
  /** Resolves with the host's reply (an `error` reply included); rejects with `HostUnavailableError`. */
  request(message: Request): Promise<Reply>;
  /** Transports with more than one way to the host: which way the reply to this request (by id) came. */
  routeOf?(requestId: string): HostRoute | undefined;
}

export class HostUnavailableError extends Error {
  override name = 'HostUnavailableError';
  /**
   * False only when the request certainly never reached the host (the connection
   * failed before it was posted): then another way to the host may be tried
   * without risking the request being acted on twice.
   */
  readonly requestSent: boolean;
  constructor(
    readonly reason: HostUnavailableReason,
    options: { requestSent?: boolean } = {},
  ) {
    super(`Companion app unavailable: ${reason}`);
    this.requestSent = options.requestSent ?? true;
  }
}

/** The same failure, known to have happened before the request was posted. */
function beforeSending(error: unknown): unknown {
  return error instanceof HostUnavailableError ? new HostUnavailableError(error.reason, { requestSent: false }) : error;
}

/**
 * The browsers' own words for a host that cannot be used. Chromium's are
 * exact; Firefox's vary by version, hence the looser patterns after them.
 */
export function unavailableReasonOf(message: string | undefined): HostUnavailableReason {
  const text = message ?? '';
  if (text.includes('Specified native messaging host not found')) return 'not-installed';
  if (text.includes('Access to the specified native messaging host is forbidden')) return 'forbidden';
  if (text.includes('Native host has exited')) return 'exited';
  if (/No such native application|not found|Invalid native messaging host name/i.test(text)) return 'not-installed';
  if (/permission|forbidden|not allowed/i.test(text)) return 'forbidden';
  if (/Error when communicating with the native messaging host|Failed to start native messaging host/i.test(text))
    return 'failed-to-start';
  return 'exited';
}

/** The parts of `runtime.Port` a native connection uses. */
export interface NativePortLike {
  postMessage(message: unknown): void;
  disconnect(): void;
  onMessage: { addListener(listener: (message: unknown) => void): void };
  onDisconnect: { addListener(listener: (port: NativePortLike) => void): void };
  /** Firefox reports why a port closed here. */
  error?: { message?: string } | null;
}

export interface NativeTransportOptions {
  /** `() => browser.runtime.connectNative(hostName)`; may throw. */
  connect(): NativePortLike;
  /** Chromium reports why a port closed in `runtime.lastError`, read inside onDisconnect. */
  lastErrorMessage(): string | undefined;
  newId: () => string;
  /** Told to the host in the handshake, e.g. `devpay-extension/0.1.0`. */
  client: string;
  handshakeTimeoutMs?: number;
  /** Per request type; `activate` waits for the License Service and the host's own retries. */
  requestTimeoutMs?: Partial<Record<Request['type'], number>>;
  /** Close the connection (and let the host exit) after this long without requests. */
  idleMs?: number;
}

const DEFAULT_TIMEOUTS: Record<Request['type'], number> = { hello: 5_000, status: 10_000, activate: 90_000 };

interface Pending {
  resolve(reply: Reply): void;
  reject(error: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

interface Connection {
  port: NativePortLike;
  pending: Map<string, Pending>;
  hello?: HelloReply;
  closed: boolean;
  idle?: ReturnType<typeof setTimeout>;
}

export class NativeHostTransport implements HostTransport {
  private current: Connection | null = null;
  private opening: Promise<Connection> | null = null;
  private readonly timeouts: Record<Request['type'], number>;

  constructor(private readonly options: NativeTransportOptions) {
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...options.requestTimeoutMs };
  }

  async request(message: Request): Promise<Reply> {
    const live = this.current && !this.current.closed ? this.current : null;
    if (message.type === 'hello') {
      // A hello is answered by the handshake: sent as the handshake on a new connection, from its reply otherwise.
      if (live) return { ...live.hello!, id: message.id };
      if (this.opening) return { ...(await this.opening).hello!, id: message.id };
      return (await this.connect(message)).hello!;
    }
    let connection: Connection;
    try {
      connection = live ?? (await (this.opening ?? this.connect(undefined)));
    } catch (error) {
      // The connection (and its handshake) failed: this request was never posted.
      throw beforeSending(error);
    }
    return this.send(connection, message, this.timeouts[message.type]);
  }

  /** Closes the connection (the browser then ends the host); pending requests fail as `exited`. */
  close(): void {
    if (this.current) this.shutdown(this.current, 'exited', true);
  }

  private connect(hello: Extract<Request, { type: 'hello' }> | undefined): Promise<Connection> {
    const attempt = this.open(hello).then(
      (connection) => {
        this.opening = null;
        this.current = connection;
        return connection;
      },
      (error: unknown) => {
        this.opening = null;
        throw error;
      },
    );
    this.opening = attempt;
    return attempt;
  }

  private async open(hello: Extract<Request, { type: 'hello' }> | undefined): Promise<Connection> {
    let port: NativePortLike;
    try {
      port = this.options.connect();
    } catch (error) {
      throw new HostUnavailableError(unavailableReasonOf(error instanceof Error ? error.message : String(error)), {
        requestSent: false,
      });
    }
    const connection: Connection = { port, pending: new Map(), closed: false };
    port.onMessage.addListener((data) => this.receive(connection, data));
    port.onDisconnect.addListener((p) => {
      // Read the reason at once: Chromium only keeps lastError during this callback.
      const reason = unavailableReasonOf(p.error?.message ?? port.error?.message ?? this.options.lastErrorMessage());
      this.shutdown(connection, reason, false);
    });

    const request = hello ?? {
      type: 'hello' as const,
      id: this.options.newId(),
      protocol: PROTOCOL_VERSION,
      client: this.options.client,
    };
    let reply: Reply;
    try {
      reply = await this.send(connection, request, this.options.handshakeTimeoutMs ?? this.timeouts.hello);
    } catch (error) {
      this.shutdown(connection, error instanceof HostUnavailableError ? error.reason : 'exited', true);
      throw error;
    }
    if (reply.type === 'hello' && reply.protocol === PROTOCOL_VERSION) {
      connection.hello = reply;
      this.armIdle(connection);
      return connection;
    }
    const reason: HostUnavailableReason =
      reply.type === 'hello' || (reply.type === 'error' && reply.code === 'PROTOCOL_MISMATCH')
        ? 'protocol-mismatch'
        : reply.type === 'error' && reply.code === 'CALLER_NOT_ALLOWED'
          ? 'forbidden'
          : 'bad-reply';
    this.shutdown(connection, reason, true);
    throw new HostUnavailableError(reason);
  }

  private send(connection: Connection, message: Request, timeoutMs: number): Promise<Reply> {
    if (connection.closed) return Promise.reject(new HostUnavailableError('exited', { requestSent: false }));
    if (connection.idle !== undefined) clearTimeout(connection.idle);
    connection.idle = undefined;
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        connection.pending.delete(message.id);
        // A host that does not answer is not trusted with the next request either.
        this.shutdown(connection, 'timeout', true);
        reject(new HostUnavailableError('timeout'));
      }, timeoutMs);
      connection.pending.set(message.id, {
        resolve: (reply) => {
          clearTimeout(timer);
          resolve(reply);
          this.armIdle(connection);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
        timer,
      });
      try {
        // A runtime.Port (or the loopback socket behind one), not window.postMessage: it has no target origin.
        // oxlint-disable-next-line unicorn/require-post-message-target-origin
        connection.port.postMessage(message);
      } catch {
        // The port closed under us; onDisconnect says why, or this does.
        this.shutdown(connection, 'exited', false);
      }
    });
  }

  private receive(connection: Connection, data: unknown): void {
    const parsed = v.safeParse(ReplySchema, data);
    if (!parsed.success) {
      // A host that sends what the protocol does not allow is not talked to further.
      this.shutdown(connection, 'bad-reply', true);
      return;
    }
    const reply = parsed.output;
    // An error about a request too broken to carry an id: only attributable when one request is waiting.
    const id = reply.id ?? (connection.pending.size === 1 ? [...connection.pending.keys()][0] : undefined);
    const pending = id === undefined ? undefined : connection.pending.get(id);
    if (!pending || id === undefined) return;
    connection.pending.delete(id);
    pending.resolve(reply);
  }

  private armIdle(connection: Connection): void {
    if (connection.closed || connection.pending.size > 0) return;
    if (connection.idle !== undefined) clearTimeout(connection.idle);
    connection.idle = setTimeout(() => {
      if (connection.pending.size === 0) this.shutdown(connection, 'exited', true);
    }, this.options.idleMs ?? 15_000);
  }

  private shutdown(connection: Connection, reason: HostUnavailableReason, disconnect: boolean): void {
    if (connection.closed) return;
    connection.closed = true;
    if (connection.idle !== undefined) clearTimeout(connection.idle);
    for (const pending of connection.pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(new HostUnavailableError(reason));
    }
    connection.pending.clear();
    if (disconnect) {
      try {
        connection.port.disconnect();
      } catch {
        // Already gone.
      }
    }
    if (this.current === connection) this.current = null;
  }
}

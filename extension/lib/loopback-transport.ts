/**
 * The loopback channel as a `HostTransport`: for browsers that cannot start a
 * native host (Snap or Flatpak Chromium), tried after native messaging fails.
 *
 * The host speaks the same messages on both, so this is the native messaging
 * transport itself (handshake, time limits, reply validation, idle close) over
 * a different port: a browser WebSocket to ws://127.0.0.1:PORT/ dressed as a
 * `runtime.Port`. The browser adds `Origin: chrome-extension://<our ID>`, which
 * is how the host admits us.
 *
 * Nothing listening rejects with `HostUnavailableError('not-installed')`, a
 * host that does not answer with 'timeout', a closed channel with 'exited'.
 */
import { NativeHostTransport, type HostTransport, type NativePortLike } from './host-transport.ts';

/** The parts of the browser `WebSocket` used here (tests pass the `ws` package's). */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

const OPEN = 1;
/** Messages posted while the socket is still connecting: the handshake and a request or two. */
const MAX_QUEUED = 8;
/** Event (not reply) type the host sends only to local programs; ignored should one ever arrive. */
const EVENT_TYPE = 'credentials-changed';

/** Error texts chosen so that host-transport's `unavailableReasonOf` maps them to the right reason. */
export const LOOPBACK_NOT_FOUND = 'Loopback companion not found (nothing accepted the connection)';
export const LOOPBACK_EXITED = 'Loopback companion has exited';

export function loopbackUrl(port: number): string {
  return `ws://127.0.0.1:${port}/`;
}

/** A WebSocket that behaves like the `runtime.Port` of `runtime.connectNative`. */
export class WebSocketPort implements NativePortLike {
  error: { message?: string } | null = null;
  private readonly queue: string[] = [];
  private opened = false;
  private disconnected = false;
  private readonly messageListeners: ((message: unknown) => void)[] = [];
  private readonly disconnectListeners: ((port: NativePortLike) => void)[] = [];

  readonly onMessage = { addListener: (listener: (message: unknown) => void) => void this.messageListeners.push(listener) };
  readonly onDisconnect = { addListener: (listener: (port: NativePortLike) => void) => void this.disconnectListeners.push(listener) };

  constructor(private readonly socket: WebSocketLike) {
    socket.onopen = () => {
      this.opened = true;
      for (const text of this.queue.splice(0)) socket.send(text);
    };
    socket.onmessage = (event) => {
      let message: unknown;
      try {
        message = typeof event.data === 'string' ? JSON.parse(event.data) : undefined;
      } catch {
        message = undefined; // not JSON: the transport refuses it as a bad reply
      }
      if (typeof message === 'object' && message !== null && (message as { type?: unknown }).type === EVENT_TYPE) return;
      for (const listener of this.messageListeners) listener(message);
    };
    socket.onclose = (event) => {
      // A socket that never opened: nothing listens (the browser hides whether it was refused or absent).
      this.error = { message: this.opened ? `${LOOPBACK_EXITED} (${event.code}${event.reason ? `: ${event.reason}` : ''})` : LOOPBACK_NOT_FOUND };
      this.finish();
    };
    socket.onerror = () => undefined; // followed by close, which says what happened
  }

  postMessage(message: unknown): void {
    if (this.disconnected) throw new Error(LOOPBACK_EXITED);
    const text = JSON.stringify(message);
    if (this.opened && this.socket.readyState === OPEN) {
      this.socket.send(text);
      return;
    }
    if (this.queue.length >= MAX_QUEUED) throw new Error(LOOPBACK_EXITED);
    this.queue.push(text);
  }

  /** Like `Port.disconnect()`: no onDisconnect for the side that disconnects. */
  disconnect(): void {
    if (this.disconnected) return;
    this.disconnected = true;
    this.queue.length = 0;
    try {
      this.socket.close(1000, 'done');
    } catch {
      // Already closing.
    }
  }

  private finish(): void {
    if (this.disconnected) return;
    this.disconnected = true;
    for (const listener of this.disconnectListeners) listener(this);
  }
}

export interface LoopbackTransportOptions {
  /** The vendor configuration's loopbackPort (in the extension's build config). */
  port: number;
  newId(): string;
  /** Told to the host in the handshake, e.g. `devpay-extension/0.1.0`. */
  client: string;
  /** Default: the browser's WebSocket. */
  openSocket?: (url: string) => WebSocketLike;
  /** Also bounds the connection attempt: the handshake is queued until the socket opens. */
  handshakeTimeoutMs?: number;
  requestTimeoutMs?: Partial<Record<'hello' | 'status' | 'activate', number>>;
  idleMs?: number;
}

export type LoopbackTransport = HostTransport & { close(): void };

export function createLoopbackTransport(options: LoopbackTransportOptions): LoopbackTransport {
  const url = loopbackUrl(options.port);
  const open = options.openSocket ?? ((u: string) => new WebSocket(u) as unknown as WebSocketLike);
  return new NativeHostTransport({
    connect: () => new WebSocketPort(open(url)),
    lastErrorMessage: () => undefined,
    newId: options.newId,
    client: options.client,
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? 3_000,
    ...(options.requestTimeoutMs ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
    ...(options.idleMs !== undefined ? { idleMs: options.idleMs } : {}),
  });
}

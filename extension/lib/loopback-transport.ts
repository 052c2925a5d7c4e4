/**
 * The loopback channel as a `HostTransport`: for browsers that cannot start a
 * native host (Snap or Flatpak Chromium), tried after native messaging fails.
 *
 * The host speaks the same messages on both, so this is the native messaging
 * transport itself (handshake, time limits, reply validation, idle close) over
 * a different port: a browser WebSocket to ws://127.0.0.1:PORT/ dressed as a
 * `runtime.Port`. The browser adds `Origin: chrome-extension://<our ID>`, which
 * keeps web pages out; what lets us in, and tells us the server is the real
 * companion, is the pairing: every connection first runs the mutual handshake
 * (loopback-pairing.ts), and no message of ours, the key least of all, is sent
 * before it succeeds. Unpaired, no connection is even attempted.
 *
 * Nothing listening, no pairing, or a server that cannot prove it is ours
 * rejects with `HostUnavailableError('not-installed')` (the customer is offered
 * copy and paste); a host that does not answer with 'timeout', a closed
 * channel with 'exited'.
 */
import { NativeHostTransport, type HostTransport, type NativePortLike } from './host-transport.ts';
import {
  ClientHandshake,
  loadPairing,
  savePairing,
  type LoopbackPairing,
  type PairingStorageArea,
} from './loopback-pairing.ts';

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
export const LOOPBACK_NOT_PAIRED = 'Loopback companion not found (this browser is not paired with it)';
export const LOOPBACK_NOT_PROVED =
  'Loopback companion not found (what answered could not prove it is the paired companion)';

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

  readonly onMessage = {
    addListener: (listener: (message: unknown) => void) => void this.messageListeners.push(listener),
  };
  readonly onDisconnect = {
    addListener: (listener: (port: NativePortLike) => void) => void this.disconnectListeners.push(listener),
  };

  private socket: WebSocketLike | undefined;
  /** Messages from the server go here until the handshake is over. */
  private handshake: ClientHandshake | undefined;
  private incoming: Promise<void> = Promise.resolve();

  /** `open` is called only once a pairing is known: unpaired, nothing is connected to. */
  constructor(open: () => WebSocketLike, pairing: Promise<LoopbackPairing | undefined>) {
    pairing.then(
      (found) => {
        if (this.disconnected) return;
        if (!found) return this.fail(LOOPBACK_NOT_PAIRED);
        this.handshake = new ClientHandshake({ mode: 'session', pairing: found });
        return this.wire(open());
      },
      () => this.fail(LOOPBACK_NOT_PAIRED),
    );
  }

  private wire(socket: WebSocketLike): void {
    this.socket = socket;
    socket.onopen = () => socket.send(JSON.stringify(this.handshake!.start()));
    socket.onmessage = (event) => {
      let message: unknown;
      try {
        message = typeof event.data === 'string' ? JSON.parse(event.data) : undefined;
      } catch {
        message = undefined; // not JSON: the transport refuses it as a bad reply
      }
      if (this.handshake) {
        const handshake = this.handshake;
        this.incoming = this.incoming.then(() => this.authenticating(handshake, message));
        return;
      }
      if (typeof message === 'object' && message !== null && (message as { type?: unknown }).type === EVENT_TYPE)
        return;
      for (const listener of this.messageListeners) listener(message);
    };
    socket.onclose = (event) => {
      // Never authenticated: as good as nobody there (the browser hides whether it was refused or absent).
      this.error = {
        message: this.opened
          ? `${LOOPBACK_EXITED} (${event.code}${event.reason ? `: ${event.reason}` : ''})`
          : (this.error?.message ?? LOOPBACK_NOT_FOUND),
      };
      this.finish();
    };
    socket.onerror = () => undefined; // followed by close, which says what happened
  }

  private async authenticating(handshake: ClientHandshake, message: unknown): Promise<void> {
    if (this.disconnected || this.handshake !== handshake) return;
    const step = await handshake.receive(message);
    if (this.disconnected || !this.socket) return;
    if ('send' in step) return this.socket.send(JSON.stringify(step.send));
    if ('fail' in step) {
      this.error = { message: LOOPBACK_NOT_PROVED };
      this.handshake = undefined;
      this.socket.close(1000, 'not authenticated');
      return;
    }
    this.handshake = undefined;
    this.opened = true;
    for (const text of this.queue.splice(0)) this.socket.send(text);
  }

  private fail(message: string): void {
    this.error = { message };
    this.finish();
  }

  postMessage(message: unknown): void {
    if (this.disconnected) throw new Error(LOOPBACK_EXITED);
    const text = JSON.stringify(message);
    if (this.opened && this.socket?.readyState === OPEN) {
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
      this.socket?.close(1000, 'done');
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
  newId: () => string;
  /** Told to the host in the handshake, e.g. `devpay-extension/0.1.0`. */
  client: string;
  /** Default: the browser's WebSocket. */
  openSocket?: (url: string) => WebSocketLike;
  /** Where the pairing is kept (`browser.storage.local`). */
  storage: PairingStorageArea;
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
    connect: () => new WebSocketPort(() => open(url), loadPairing(options.storage)),
    lastErrorMessage: () => undefined,
    newId: options.newId,
    client: options.client,
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? 3_000,
    ...(options.requestTimeoutMs ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
    ...(options.idleMs !== undefined ? { idleMs: options.idleMs } : {}),
  });
}

export type PairingResult = { ok: true } | { ok: false; reason: 'bad-code' | 'not-running' | 'refused' | 'timeout' };

/**
 * Pairs this browser with the companion from the code `devpay-companion serve --pair`
 * shows, and keeps the pairing in `storage`. A wrong code costs one of the code's few tries.
 */
export function pairWithCompanion(options: {
  port: number;
  code: string;
  storage: PairingStorageArea;
  openSocket?: (url: string) => WebSocketLike;
  timeoutMs?: number;
}): Promise<PairingResult> {
  const open = options.openSocket ?? ((u: string) => new WebSocket(u) as unknown as WebSocketLike);
  const handshake = new ClientHandshake({ mode: 'pair', code: options.code });
  return new Promise((resolve) => {
    let opened = false;
    let settled = false;
    const socket = open(loopbackUrl(options.port));
    const settle = (result: PairingResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      try {
        socket.close(1000, 'done');
      } catch {
        // Already closed.
      }
      resolve(result);
    };
    // PBKDF2 runs on both sides: allow it time.
    const timer = setTimeout(() => settle({ ok: false, reason: 'timeout' }), options.timeoutMs ?? 20_000);
    let incoming = Promise.resolve();
    socket.onopen = () => {
      opened = true;
      socket.send(JSON.stringify(handshake.start()));
    };
    socket.onmessage = (event) => {
      incoming = incoming.then(async () => {
        let message: unknown;
        try {
          message = typeof event.data === 'string' ? JSON.parse(event.data) : undefined;
        } catch {
          message = undefined;
        }
        const step = await handshake.receive(message);
        if ('send' in step) return socket.send(JSON.stringify(step.send));
        if ('fail' in step) return settle({ ok: false, reason: 'bad-code' });
        await savePairing(options.storage, await handshake.pairing(step.done));
        return settle({ ok: true });
      });
    };
    socket.onclose = () => settle({ ok: false, reason: opened ? 'refused' : 'not-running' });
    socket.onerror = () => undefined;
  });
}

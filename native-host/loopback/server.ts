/**
 * The loopback WebSocket channel: for browsers that cannot start a native host
 * (Snap and some Flatpak Chromium) and for the desktop product, which also gets
 * `credentials-changed` events. Same messages, same handler as native messaging;
 * see connection.ts for the one part that differs.
 *
 * Listens on 127.0.0.1 and ::1 only (::1 skipped where IPv6 is off). Who may
 * connect is decided on the HTTP upgrade request, before any WebSocket exists
 * (admission.ts); then a browser extension must prove it is paired, and the
 * server that it knows the pairing (authentication.ts), before any request is
 * answered. Bounded: message size; unauthenticated connections (their own cap,
 * the oldest dropped for a newcomer, and one deadline for the whole handshake,
 * not reset by traffic); authenticated connections (in total and per identity);
 * requests in flight and message rate per connection; idle time.
 */
import { STATUS_CODES, createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import * as v from 'valibot';
import { WebSocketServer, type WebSocket } from 'ws';
import { CredentialsEventSchema, MAX_INBOUND_MESSAGE_BYTES, type CredentialsEvent } from '../../shared/messages.ts';
import { createRequestHandler } from '../protocol/handler.ts';
import type { HostServices } from '../services.ts';
import { admit, describeOrigin, type LoopbackClient } from './admission.ts';
import { authenticate } from './authentication.ts';
import { CLOSE_CODES, LoopbackConnection, type ConnectionLimits } from './connection.ts';
import { watchCredentialChanges } from './credential-changes.ts';
import { PairingCode, PairingStore, pairingsFile } from './pairing.ts';
import { ensurePrivateDataDir, UnsafePathError } from '../store/private-file.ts';
import { loopbackTokenFile, newToken, removeTokenFileIfOurs, writeTokenFile } from './token.ts';

export interface LoopbackLimits extends ConnectionLimits {
  /** Authenticated connections at once; more are refused. */
  maxConnections: number;
  /** Authenticated connections of one identity (one pairing, or the token's holders). */
  maxPerIdentity: number;
  /** Connections not yet authenticated; a newcomer beyond this drops the oldest of them. */
  maxUnauthenticated: number;
  /** The whole handshake (TCP to authenticated), however much traffic it carries. */
  handshakeTimeoutMs: number;
  /** Every connection is pinged this often; one that missed the previous ping is dropped. */
  heartbeatMs: number;
  /** On close, how long requests being handled (an activation) may take to finish. */
  shutdownGraceMs: number;
  /** How often the credentials folder is looked at even without a watch event. */
  rescanMs: number;
}

export const DEFAULT_LOOPBACK_LIMITS: LoopbackLimits = {
  maxConnections: 16,
  maxPerIdentity: 4,
  maxUnauthenticated: 32,
  handshakeTimeoutMs: 5_000,
  maxInFlight: 4,
  messagesPerSecond: 5,
  messageBurst: 20,
  idleTimeoutMs: 60_000,
  heartbeatMs: 30_000,
  shutdownGraceMs: 10_000,
  rescanMs: 5_000,
};

export const LOOPBACK_ADDRESSES = ['127.0.0.1', '::1'] as const;

export interface LoopbackServerOptions {
  services: HostServices;
  /** Default the vendor configuration's `loopbackPort`; 0 picks a free port. */
  port?: number;
  /** Default `<dataDir>/loopback.token`. */
  tokenFile?: string;
  /** Default `<dataDir>/loopback-pairings.json`. */
  pairingsFile?: string;
  limits?: Partial<LoopbackLimits>;
}

export interface LoopbackServer {
  port: number;
  /** The addresses actually listened on (::1 missing where IPv6 is off). */
  addresses: string[];
  /** The 0600 file holding the token local programs present. */
  tokenFile: string;
  /** Opens a new one-time pairing code (replacing any open one) for the customer to type into the popup. */
  openPairing(options?: { ttlMs?: number }): PairingCode;
  close(): Promise<void>;
}

export class LoopbackStartError extends Error {
  override name = 'LoopbackStartError';
  constructor(
    readonly code: 'PORT_IN_USE' | 'CANNOT_LISTEN',
    message: string,
  ) {
    super(message);
  }
}

const REFUSAL_TEXT: Record<number, string> = {
  400: 'Not a WebSocket request this server understands.',
  401: "Local programs must send Authorization: Bearer <token>, the token being the contents of loopback.token in the companion's data folder.",
  403: "Only the vendor's browser extension and local programs holding the token may connect.",
  404: 'Connect to the path /.',
  503: 'Too many connections, or the companion is shutting down; try again shortly.',
};

function refuse(socket: Duplex, status: number): void {
  const body = `${REFUSAL_TEXT[status] ?? ''}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
  const timer = setTimeout(() => socket.destroy(), 1_000);
  socket.once('close', () => clearTimeout(timer));
}

/** Waits for `work`, but no longer than `ms`. */
async function within(ms: number, work: Promise<unknown>): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([work, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

function isAddressUnavailable(error: NodeJS.ErrnoException): boolean {
  return error.code === 'EADDRNOTAVAIL' || error.code === 'EAFNOSUPPORT' || error.code === 'EPROTONOSUPPORT';
}

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once('error', onError);
    server.listen({ host, port, ipv6Only: host.includes(':'), exclusive: true }, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));
}

/** Binds every loopback address on one port (for port 0, one that is free on all of them). */
async function bindAll(
  makeServer: () => Server,
  requestedPort: number,
): Promise<{ port: number; servers: Server[]; addresses: string[] }> {
  for (let attempt = 0; ; attempt++) {
    const servers: Server[] = [];
    const addresses: string[] = [];
    let port = requestedPort;
    try {
      for (const host of LOOPBACK_ADDRESSES) {
        const server = makeServer();
        try {
          port = await listen(server, host, port);
        } catch (error) {
          if (host === '::1' && isAddressUnavailable(error as NodeJS.ErrnoException)) continue; // no IPv6 here
          throw error;
        }
        servers.push(server);
        addresses.push(host);
      }
      return { port, servers, addresses };
    } catch (error) {
      await Promise.all(servers.map(closeServer));
      const code = (error as NodeJS.ErrnoException).code;
      // Port 0 gave a port free on 127.0.0.1 but taken on ::1: pick another.
      if (code === 'EADDRINUSE' && requestedPort === 0 && attempt < 5) continue;
      if (code === 'EADDRINUSE') {
        throw new LoopbackStartError(
          'PORT_IN_USE',
          `Port ${requestedPort} on loopback is already in use: is "devpay-companion serve" already running? Stop it, or configure another loopbackPort.`,
        );
      }
      throw new LoopbackStartError(
        'CANNOT_LISTEN',
        `Cannot listen on loopback port ${requestedPort} (${code ?? (error as Error).message}).`,
      );
    }
  }
}

export async function startLoopbackServer(options: LoopbackServerOptions): Promise<LoopbackServer> {
  const { services } = options;
  const { log } = services;
  const limits: LoopbackLimits = { ...DEFAULT_LOOPBACK_LIMITS, ...options.limits };
  const tokenFile = options.tokenFile ?? loopbackTokenFile(services.dataDir);
  const token = newToken();
  log.redact(token);
  // The very handler native messaging uses (see messaging/native-host.ts).
  const handle = createRequestHandler(services, 'loopback');
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_INBOUND_MESSAGE_BYTES,
    clientTracking: false,
    perMessageDeflate: false,
  });
  const connections = new Set<LoopbackConnection>();
  const sockets = new Set<Socket>();
  const pairings = new PairingStore(options.pairingsFile ?? pairingsFile(services.dataDir));
  let pairingCode: PairingCode | undefined;
  /** Sockets not yet authenticated, oldest first, with the time their handshake must be over. */
  const unauthenticated = new Map<Duplex, { timer: ReturnType<typeof setTimeout>; deadline: number }>();
  const authenticated = (socket: Duplex) => {
    const entry = unauthenticated.get(socket);
    if (entry) clearTimeout(entry.timer);
    unauthenticated.delete(socket);
  };
  const openOf = (identity: string) => [...connections].filter((c) => c.identity === identity).length;
  let port = 0;
  /** False until the token file is written, and again from close() on. */
  let accepting = false;

  const accept = (ws: WebSocket, client: LoopbackClient, identity: string) => {
    const connection = new LoopbackConnection(ws, client, identity, handle, limits, log);
    connections.add(connection);
    void connection.closed.then(() => connections.delete(connection));
    log.info('loopback connection opened', {
      client: client.kind,
      ...(client.kind === 'extension' ? { extension: client.extensionId } : {}),
      open: connections.size,
    });
  };

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    if (!accepting) return refuse(socket, 503);
    if (new URL(req.url ?? '/', 'ws://loopback').pathname !== '/') return refuse(socket, 404);
    const decision = admit(req.headers, { config: services.config, port, token });
    if (!decision.ok) {
      log.warn('refused a loopback connection', {
        status: decision.status,
        reason: decision.reason,
        origin: describeOrigin(req.headers.origin),
      });
      return refuse(socket, decision.status);
    }
    const full = (identity: string) =>
      connections.size >= limits.maxConnections || openOf(identity) >= limits.maxPerIdentity;
    const client = decision.client;
    if (client.kind === 'local') {
      // The token proves a local program of this user: it may listen for events, nothing more (connection.ts).
      if (full('local')) {
        log.warn('refused a loopback connection: too many open', { open: connections.size });
        return refuse(socket, 503);
      }
      authenticated(socket);
      return wss.handleUpgrade(req, socket, head, (ws) => accept(ws, client, 'local'));
    }
    const deadline = unauthenticated.get(socket)?.deadline ?? Date.now() + limits.handshakeTimeoutMs;
    wss.handleUpgrade(req, socket, head, (ws) => {
      void authenticate(
        ws,
        { pairings, pairingCode: () => pairingCode, hasRoomFor: (pairing) => accepting && !full(pairing) },
        deadline,
      ).then(
        (outcome) => {
          if (!outcome.ok) {
            log.warn('refused a loopback connection: not authenticated', {
              reason: outcome.reason,
              origin: describeOrigin(req.headers.origin),
            });
            if (ws.readyState === ws.OPEN)
              ws.close(
                outcome.busy ? CLOSE_CODES.tooMany : CLOSE_CODES.unauthenticated,
                outcome.busy ? 'too many connections' : 'not authenticated',
              );
            return;
          }
          if (outcome.paired) log.info('paired a browser extension', { pairing: outcome.pairing.slice(0, 6) });
          authenticated(socket);
          return accept(ws, client, outcome.pairing);
        },
        () => ws.terminate(),
      );
    });
  };

  const makeServer = () => {
    const server = createServer((_req, res) => {
      res.writeHead(426, { 'Content-Type': 'text/plain; charset=utf-8', Connection: 'close', Upgrade: 'websocket' });
      res.end('WebSocket only.\n');
    });
    server.on('connection', (socket) => {
      sockets.add(socket);
      // A flood of half-open handshakes cannot lock genuine clients out: they finish in
      // milliseconds, so dropping the oldest unfinished one for each newcomer lets them through.
      if (unauthenticated.size >= limits.maxUnauthenticated) {
        const [oldest] = unauthenticated.keys();
        if (oldest) {
          authenticated(oldest);
          oldest.destroy();
        }
      }
      // One deadline for the whole handshake: unlike socket.setTimeout, traffic does not extend it.
      const deadline = Date.now() + limits.handshakeTimeoutMs;
      unauthenticated.set(socket, { timer: setTimeout(() => socket.destroy(), limits.handshakeTimeoutMs), deadline });
      socket.once('close', () => {
        sockets.delete(socket);
        authenticated(socket);
      });
    });
    server.on('upgrade', onUpgrade);
    server.on('clientError', (_error, socket) => socket.destroy());
    return server;
  };

  const bound = await bindAll(makeServer, options.port ?? services.config.loopbackPort);
  port = bound.port;
  const { servers, addresses } = bound;

  const broadcast = (event: CredentialsEvent) => {
    // Strict schema: nothing but product, change and time can leave.
    const checked = v.parse(CredentialsEventSchema, event);
    let listeners = 0;
    for (const connection of connections) {
      if (!connection.wantsEvents) continue;
      connection.sendEvent(checked);
      listeners++;
    }
    log.info('credentials changed', { product: checked.product.code, change: checked.change, listeners });
  };

  let changes: Awaited<ReturnType<typeof watchCredentialChanges>> | undefined;
  try {
    await ensurePrivateDataDir(services.dataDir);
    changes = await watchCredentialChanges(services, broadcast, { rescanMs: limits.rescanMs });
    await writeTokenFile(tokenFile, token);
  } catch (error) {
    changes?.close();
    await Promise.all(servers.map(closeServer));
    if (error instanceof UnsafePathError) throw new LoopbackStartError('CANNOT_LISTEN', error.message);
    throw new LoopbackStartError(
      'CANNOT_LISTEN',
      `Cannot prepare the loopback channel in ${services.dataDir} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}).`,
    );
  }

  const heartbeat = setInterval(() => {
    for (const connection of connections) connection.heartbeat();
  }, limits.heartbeatMs);
  heartbeat.unref();
  accepting = true;
  log.info('loopback channel listening', { port, addresses: addresses.join(' ') });

  let closed: Promise<void> | undefined;
  const close = async () => {
    accepting = false;
    changes?.close();
    clearInterval(heartbeat);
    const stopped = Promise.all(servers.map(closeServer));
    // Let an activation in progress finish and be answered: the customer's key is spent by then.
    await within(limits.shutdownGraceMs, Promise.all([...connections].map((c) => c.drain())));
    for (const connection of connections) connection.close(CLOSE_CODES.shuttingDown, 'server shutting down');
    await within(1_000, Promise.all([...connections].map((c) => c.closed)));
    for (const connection of connections) connection.ws.terminate();
    for (const socket of sockets) socket.destroy();
    wss.close();
    await stopped;
    await removeTokenFileIfOurs(tokenFile, token);
    log.info('loopback channel closed', { port });
  };

  return {
    port,
    addresses,
    tokenFile,
    openPairing: (opts = {}) => (pairingCode = new PairingCode(Date.now, opts.ttlMs)),
    close: () => (closed ??= close()),
  };
}

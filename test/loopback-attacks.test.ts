/**
 * The loopback channel attacked as issue 14 did, by a local program that is not
 * the paired extension: a forged extension Origin, a program squatting on the
 * port, guessing the pairing code, and handshake floods. Real server, real `ws`
 * clients, real License Service simulator and keyring.
 */
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { HostUnavailableError } from '../extension/lib/host-transport.ts';
import { savePairing } from '../extension/lib/loopback-pairing.ts';
import { createLoopbackTransport } from '../extension/lib/loopback-transport.ts';
import { PAIRING_ATTEMPTS } from '../native-host/loopback/pairing.ts';
import { serveLoopback, type LoopbackServer } from '../native-host/api.ts';
import { PROTOCOL_VERSION } from '../shared/messages.ts';
import { newPairingCode, randomBase64Url } from '../shared/loopback-auth.ts';
import { DEMO_CHROMIUM_ID } from './machine/companion.ts';
import { authenticateSocket, memoryStorage, pairAs, socketWithOrigin } from './helpers/loopback-pairing.ts';
import { useTestServices } from './helpers/test-services.ts';
import { messageBytes } from '../native-host/loopback/message-bytes.ts';

const ORIGIN = `chrome-extension://${DEMO_CHROMIUM_ID}`;
const services = useTestServices('loopback-attacks', { keytarInThisProcess: true });

async function serve(
  limits: Parameters<typeof serveLoopback>[0] extends infer O
    ? O extends { limits?: infer L }
      ? L
      : never
    : never = {},
): Promise<LoopbackServer> {
  const testCase = await services.newCase();
  return serveLoopback({
    config: testCase.configPath,
    dataDir: testCase.dataDir,
    licenseService: services.sim.licenseServiceUrl,
    caFile: services.sim.caFile,
    env: {},
    port: 0,
    ...(limits ? { limits } : {}),
  });
}

function opened(port: number, origin?: string): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, origin !== undefined ? { origin } : {});
  ws.on('error', () => undefined);
  return once(ws, 'open').then(() => ws);
}

/** Everything the socket receives until it closes (or `ms` pass), and how it closed. */
function collect(ws: WebSocket, ms = 8_000): Promise<{ messages: string[]; code: number | undefined }> {
  const messages: string[] = [];
  ws.on('message', (d) => messages.push(messageBytes(d).toString('utf8')));
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ messages, code: undefined }), ms);
    ws.once('close', (code) => {
      clearTimeout(timer);
      resolve({ messages, code });
    });
  });
}

describe('a forged extension Origin without pairing', () => {
  let server: LoopbackServer;
  beforeAll(async () => {
    server = await serve({ handshakeTimeoutMs: 1_500 });
  });
  afterAll(() => server?.close());

  it('gets no answer to status or activate, and is closed (4003)', async () => {
    const ws = await opened(server.port, ORIGIN);
    const seen = collect(ws);
    ws.send(JSON.stringify({ type: 'status', id: 's' }));
    ws.send(
      JSON.stringify({
        type: 'activate',
        id: 'a',
        key: services.sim.purchase('ACMEBK01'),
        productCode: 'ACMEBK01',
        capturedAt: Date.now(),
        replace: true,
      }),
    );
    const { messages, code } = await seen;
    expect(messages).toEqual([]);
    expect(code).toBe(4003);
  });

  it('cannot authenticate with a made-up pairing, nor pair without an open code', async () => {
    const ws = await opened(server.port, ORIGIN);
    const seen = collect(ws);
    expect(
      await authenticateSocket(ws, { id: randomBase64Url(18), secret: crypto.getRandomValues(new Uint8Array(32)) }),
    ).toBe(false);
    expect((await seen).code).toBe(4003);
    const attempt = await pairAs(ORIGIN, server.port, newPairingCode());
    expect(attempt.result).toEqual({ ok: false, reason: 'refused' });
    expect(attempt.pairing).toBeUndefined();
  });
});

describe('a program squatting on the port', () => {
  it('gets no key from a paired extension: the handshake fails before any request is sent', async () => {
    const squatter = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(squatter, 'listening');
    const received: string[] = [];
    squatter.on('connection', (ws) => {
      ws.on('message', (data) => {
        received.push(messageBytes(data).toString('utf8'));
        // It answers as a server would, but cannot prove it knows the pairing.
        ws.send(JSON.stringify({ type: 'auth-challenge', nonce: randomBase64Url(), proof: randomBase64Url() }));
      });
    });
    const port = (squatter.address() as { port: number }).port;
    const storage = memoryStorage();
    await savePairing(storage, { id: randomBase64Url(18), secret: crypto.getRandomValues(new Uint8Array(32)) });
    const transport = createLoopbackTransport({
      port,
      newId: () => crypto.randomUUID(),
      client: 't',
      openSocket: socketWithOrigin(ORIGIN),
      storage,
    });
    const key = services.sim.purchase('ACMEBK01');
    const error = await transport
      .request({ type: 'activate', id: 'a', key, productCode: 'ACMEBK01', capturedAt: Date.now(), replace: false })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HostUnavailableError);
    expect((error as HostUnavailableError).reason).toBe('not-installed'); // the customer is offered copy and paste
    expect(received.length).toBe(1);
    expect(JSON.parse(received[0]!)).toMatchObject({ type: 'auth-hello', mode: 'session' });
    expect(received.join('')).not.toContain(key);
    transport.close();
    squatter.close();
  });

  it('is not even connected to by an unpaired extension', async () => {
    const squatter = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(squatter, 'listening');
    let connections = 0;
    squatter.on('connection', () => connections++);
    const port = (squatter.address() as { port: number }).port;
    const transport = createLoopbackTransport({
      port,
      newId: () => crypto.randomUUID(),
      client: 't',
      openSocket: socketWithOrigin(ORIGIN),
      storage: memoryStorage(),
    });
    const error = await transport.request({ type: 'status', id: 's' }).catch((e: unknown) => e);
    expect((error as HostUnavailableError).reason).toBe('not-installed');
    expect(connections).toBe(0);
    transport.close();
    squatter.close();
  });
});

describe('the pairing code', () => {
  let server: LoopbackServer;
  beforeAll(async () => {
    server = await serve();
  });
  afterAll(() => server?.close());

  it(`allows ${PAIRING_ATTEMPTS} tries; after them even the right code is refused`, async () => {
    const code = server.openPairing().code;
    for (let i = 0; i < PAIRING_ATTEMPTS; i++) {
      let wrong = newPairingCode();
      while (wrong === code) wrong = newPairingCode();
      expect((await pairAs(ORIGIN, server.port, wrong)).result.ok).toBe(false);
    }
    const late = await pairAs(ORIGIN, server.port, code);
    expect(late.result.ok).toBe(false);
    expect(late.pairing).toBeUndefined();
  });

  it('expires, and is used up by a successful pairing', async () => {
    const short = server.openPairing({ ttlMs: 300 });
    await new Promise((r) => setTimeout(r, 400));
    expect((await pairAs(ORIGIN, server.port, short.code)).result.ok).toBe(false);

    const code = server.openPairing().code;
    const paired = await pairAs(ORIGIN, server.port, code);
    expect(paired.result).toEqual({ ok: true });
    expect((await pairAs(ORIGIN, server.port, code)).result.ok).toBe(false);

    // The pairing works for the extension, over and over, while nobody else gets in.
    const transport = createLoopbackTransport({
      port: server.port,
      newId: () => crypto.randomUUID(),
      client: 't',
      openSocket: socketWithOrigin(ORIGIN),
      storage: paired.storage,
    });
    expect(await transport.request({ type: 'hello', id: 'h', protocol: PROTOCOL_VERSION })).toMatchObject({
      type: 'hello',
    });
    expect(await transport.request({ type: 'status', id: 's' })).toMatchObject({ type: 'status' });
    transport.close();
  });
});

describe('handshake floods', () => {
  let server: LoopbackServer;
  let pairing: Awaited<ReturnType<typeof pairAs>>;
  beforeAll(async () => {
    server = await serve({ handshakeTimeoutMs: 2_000, maxUnauthenticated: 16, maxConnections: 16, maxPerIdentity: 4 });
    pairing = await pairAs(ORIGIN, server.port, server.openPairing().code);
  });
  afterAll(() => server?.close());

  /** A client that sends one header line a second: an idle timeout would never fire. */
  function trickle(port: number): Socket {
    const socket = connect({ host: '127.0.0.1', port });
    socket.on('error', () => undefined);
    socket.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n`);
    const timer = setInterval(() => socket.write(`X-Slow: ${Date.now()}\r\n`), 200);
    socket.once('close', () => clearInterval(timer));
    return socket;
  }

  it('drops a trickling handshake at the total deadline, however much it sends', async () => {
    const socket = trickle(server.port);
    const started = Date.now();
    await once(socket, 'close');
    expect(Date.now() - started).toBeLessThan(3_500);
  });

  it('lets a genuine client through 40 trickling sockets and 16 forged-Origin ones', async () => {
    const trickles = Array.from({ length: 40 }, () => trickle(server.port));
    const forged = await Promise.all(
      Array.from({ length: 16 }, () => opened(server.port, ORIGIN).catch(() => undefined)),
    );
    const transport = createLoopbackTransport({
      port: server.port,
      newId: () => crypto.randomUUID(),
      client: 't',
      openSocket: socketWithOrigin(ORIGIN),
      storage: pairing.storage,
    });
    expect(await transport.request({ type: 'status', id: 's' })).toMatchObject({ type: 'status' });
    transport.close();
    for (const s of trickles) s.destroy();
    for (const ws of forged) ws?.terminate();
  });

  it('caps one identity, not the others', async () => {
    const held: WebSocket[] = [];
    for (let i = 0; i < 4; i++) {
      const ws = await opened(server.port, ORIGIN);
      expect(await authenticateSocket(ws, pairing.pairing!)).toBe(true);
      held.push(ws);
    }
    const fifth = await opened(server.port, ORIGIN);
    const closed = collect(fifth);
    expect(await authenticateSocket(fifth, pairing.pairing!)).toBe(false);
    expect((await closed).code).toBe(1013);
    // Another pairing still gets in.
    const other = await pairAs(ORIGIN, server.port, server.openPairing().code);
    const ws = await opened(server.port, ORIGIN);
    expect(await authenticateSocket(ws, other.pairing!)).toBe(true);
    for (const h of [...held, ws]) h.close();
  });
});

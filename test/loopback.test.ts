/**
 * The loopback WebSocket channel for real: the server on 127.0.0.1/::1 (port 0),
 * real `ws` clients, the License Service simulator (real HTTPS) and a real
 * gnome-keyring on a private bus (keytar connects once per process, so this file
 * owns one). Other processes (the CLI) change credentials to prove events cross
 * process boundaries.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { stat, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { join, resolve } from 'node:path';
import * as v from 'valibot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { CredentialsEventSchema, MAX_INBOUND_MESSAGE_BYTES, PROTOCOL_VERSION, ReplySchema, type CredentialsEvent } from '../shared/messages.ts';
import { HostUnavailableError } from '../extension/lib/host-transport.ts';
import { createLoopbackTransport, type WebSocketLike } from '../extension/lib/loopback-transport.ts';
import { createLogger } from '../native-host/log.ts';
import { connectLoopback, LoopbackUnavailableError, serveLoopback, type LoopbackChannel, type LoopbackServer, type ServeLoopbackOptions } from '../native-host/api.ts';
import { DEMO_CHROMIUM_ID, findSecrets, runCli } from './machine/companion.ts';
import { authenticateSocket, pairAs, socketWithOrigin } from './helpers/loopback-pairing.ts';
import type { LoopbackPairing, PairingStorageArea } from '../extension/lib/loopback-pairing.ts';
import { useTestServices, type TestCase } from './helpers/test-services.ts';
import type { Simulator } from './simulator/server.ts';

const EXTENSION_ORIGIN = `chrome-extension://${DEMO_CHROMIUM_ID}`;
const UNLISTED_EXTENSION_ORIGIN = `chrome-extension://${'a'.repeat(32)}`;

let sim: Simulator;
const logLines: string[] = [];

interface Setup extends TestCase {
  server: LoopbackServer;
  /** The extension's pairing with this server, and the storage.local holding it. */
  pairing: LoopbackPairing;
  storage: PairingStorageArea;
}

/** Each server's pairing with the (test) extension, by port: open() authenticates with it. */
const pairingsByPort = new Map<number, LoopbackPairing>();

/** A server with a data folder and configuration (own vendor id, own keychain entries) of its own. */
async function serve(options: Partial<ServeLoopbackOptions> = {}): Promise<Setup> {
  const testCase = await services.newCase();
  const server = await serveLoopback({
    config: testCase.configPath,
    dataDir: testCase.dataDir,
    licenseService: sim.licenseServiceUrl,
    caFile: sim.caFile,
    env: {},
    port: 0,
    log: createLogger({ level: 'info', stream: { write: (line: string) => logLines.push(line) } }),
    ...options,
  });
  const paired = await pairAs(EXTENSION_ORIGIN, server.port, server.openPairing().code);
  if (!paired.pairing) throw new Error(`pairing failed: ${JSON.stringify(paired.result)}`);
  pairingsByPort.set(server.port, paired.pairing);
  return { ...testCase, server, pairing: paired.pairing, storage: paired.storage };
}


function allSecrets(): string[] {
  return [...sim.mintedKeys(), ...sim.issued.flatMap((s) => [s.accessKeyId, s.secretAccessKey, s.userToken])];
}

type Outcome = { opened: true; ws: WebSocket } | { opened: false; status: number | undefined; error?: string };

/** Tries the upgrade; says whether the WebSocket opened or which HTTP status refused it. */
function attempt(port: number, options: { origin?: string; token?: string; host?: string; path?: string } = {}): Promise<Outcome> {
  const headers: Record<string, string> = {};
  if (options.token !== undefined) headers.Authorization = `Bearer ${options.token}`;
  if (options.host !== undefined) headers.Host = options.host;
  const ws = new WebSocket(`ws://127.0.0.1:${port}${options.path ?? '/'}`, { headers, ...(options.origin !== undefined ? { origin: options.origin } : {}), handshakeTimeout: 5_000 });
  return new Promise((resolve) => {
    ws.once('open', () => resolve({ opened: true, ws }));
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      ws.terminate();
      resolve({ opened: false, status: res.statusCode });
    });
    ws.once('error', (error) => resolve({ opened: false, status: undefined, error: error.message }));
  });
}

/** An open connection; as the extension (its origin, no token), authenticated with the server's pairing first. */
async function open(port: number, options: { origin?: string; token?: string } = {}): Promise<WebSocket> {
  const outcome = await attempt(port, options);
  if (!outcome.opened) throw new Error(`connection refused: ${outcome.status ?? outcome.error}`);
  const pairing = pairingsByPort.get(port);
  if (options.origin === EXTENSION_ORIGIN && options.token === undefined && pairing) {
    if (!(await authenticateSocket(outcome.ws, pairing))) throw new Error('not authenticated');
  }
  return outcome.ws;
}

/** Every JSON message a socket receives, and a way to wait for the next. */
function inbox(ws: WebSocket) {
  const messages: Record<string, unknown>[] = [];
  const waiters: (() => void)[] = [];
  ws.on('message', (data) => {
    messages.push(JSON.parse(data.toString()) as Record<string, unknown>);
    for (const w of waiters.splice(0)) w();
  });
  let read = 0;
  return {
    messages,
    async next(timeoutMs = 20_000): Promise<Record<string, unknown>> {
      const deadline = Date.now() + timeoutMs;
      while (read >= messages.length) {
        if (Date.now() > deadline) throw new Error('no message in time');
        await new Promise<void>((r) => {
          const t = setTimeout(r, Math.max(1, deadline - Date.now()));
          waiters.push(() => {
            clearTimeout(t);
            r();
          });
        });
      }
      return messages[read++]!;
    },
  };
}

function closeOf(ws: WebSocket, timeoutMs = 10_000): Promise<{ code: number; reason: string }> {
  if (ws.readyState === ws.CLOSED) return Promise.resolve({ code: -1, reason: 'already closed' });
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('socket not closed in time')), timeoutMs);
    ws.once('close', (code, reason) => {
      clearTimeout(t);
      resolve({ code, reason: reason.toString() });
    });
  });
}

async function tokenOf(setup: Setup): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  return (await readFile(setup.server.tokenFile, 'utf8')).trim();
}

async function waitFor<T>(what: string, check: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function portIsFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve(true)));
  });
}

const services = useTestServices('loopback', { keytarInThisProcess: true });
beforeAll(() => {
  ({ sim } = services);
});

describe('activation through the channel', () => {
  let setup: Setup;
  beforeAll(async () => {
    setup = await serve();
  });
  afterAll(async () => {
    await setup?.server.close();
  });

  it('listens on loopback only, and writes the token to a 0600 file', async () => {
    expect(setup.server.addresses[0]).toBe('127.0.0.1');
    expect(setup.server.addresses.every((a) => a === '127.0.0.1' || a === '::1')).toBe(true);
    expect(setup.server.tokenFile).toBe(join(setup.dataDir, 'loopback.token'));
    const info = await stat(setup.server.tokenFile);
    expect(info.mode & 0o777).toBe(0o600);
    expect((await tokenOf(setup)).length).toBeGreaterThanOrEqual(40);
  });

  it('activates a product for the allowed extension, speaking the native messaging protocol', async () => {
    const ws = await open(setup.server.port, { origin: EXTENSION_ORIGIN });
    const box = inbox(ws);
    ws.send(JSON.stringify({ type: 'hello', id: 'h1', protocol: PROTOCOL_VERSION, client: 'test' }));
    const hello = await box.next();
    expect(hello).toMatchObject({ type: 'hello', id: 'h1', protocol: PROTOCOL_VERSION, products: [{ code: 'ACMEBK01' }, { code: 'ACMEPV02' }] });

    const key = sim.purchase('ACMEBK01');
    ws.send(JSON.stringify({ type: 'activate', id: 'a1', key, productCode: 'ACMEBK01', capturedAt: Date.now() }));
    const activated = await box.next(60_000);
    expect(activated).toMatchObject({ type: 'activated', id: 'a1', product: { code: 'ACMEBK01', name: 'Acme Backup' }, replaced: false });
    const issued = sim.issued.at(-1)!;
    expect(activated.accessKeyId).not.toBe(issued.accessKeyId); // masked
    expect(String(activated.accessKeyId).slice(-4)).toBe(issued.accessKeyId.slice(-4));

    // The same handler: a second activation without confirmation is ALREADY_ACTIVATED, as over native messaging.
    ws.send(JSON.stringify({ type: 'activate', id: 'a2', key: sim.purchase('ACMEBK01'), productCode: 'ACMEBK01', capturedAt: Date.now() }));
    expect(await box.next(60_000)).toMatchObject({ type: 'error', id: 'a2', code: 'ALREADY_ACTIVATED', product: { code: 'ACMEBK01' } });

    ws.send(JSON.stringify({ type: 'status', id: 's1' }));
    const status = await box.next();
    expect(status).toMatchObject({ type: 'status', id: 's1', products: [{ code: 'ACMEBK01', activated: true, state: 'activated' }, { code: 'ACMEPV02', activated: false }] });
    for (const m of box.messages) expect(v.safeParse(ReplySchema, m).success).toBe(true);

    // The credentials are where a desktop product reads them, and nowhere in what went over the wire or into the log.
    const creds = await runCli(['credentials', '--product', 'ACMEBK01'], { env: setup.env });
    expect(JSON.parse(creds.stdout)).toMatchObject({ AccessKeyId: issued.accessKeyId, SecretAccessKey: issued.secretAccessKey });
    expect(await findSecrets(allSecrets(), { dirs: [setup.dataDir], texts: { wire: JSON.stringify(box.messages), log: logLines.join('') } })).toEqual([]);
    ws.close();
  });

  it('serves the extension transport (the native messaging transport over a WebSocket)', async () => {
    const transport = createLoopbackTransport({
      port: setup.server.port,
      newId: () => crypto.randomUUID(),
      client: 'devpay-extension/test',
      openSocket: (url) => new WebSocket(url, { origin: EXTENSION_ORIGIN }) as unknown as WebSocketLike,
      storage: setup.storage,
    });
    const hello = await transport.request({ type: 'hello', id: 'h', protocol: PROTOCOL_VERSION });
    expect(hello).toMatchObject({ type: 'hello', id: 'h' });
    const key = sim.purchase('ACMEPV02');
    const activated = await transport.request({ type: 'activate', id: 'a', key, productCode: 'ACMEPV02', capturedAt: Date.now(), replace: false });
    expect(activated).toMatchObject({ type: 'activated', id: 'a', product: { code: 'ACMEPV02' } });
    transport.close();
  });

  it('gives the extension transport a typed "unavailable" when nothing listens, or the extension is not allowed', async () => {
    const free = createServer();
    await new Promise<void>((r) => free.listen({ host: '127.0.0.1', port: 0 }, () => r()));
    const port = (free.address() as { port: number }).port;
    await new Promise<void>((r) => free.close(() => r()));
    const nobody = createLoopbackTransport({ port, newId: () => crypto.randomUUID(), client: 't', openSocket: socketWithOrigin(EXTENSION_ORIGIN), storage: setup.storage });
    const started = Date.now();
    const error = await nobody.request({ type: 'status', id: 's' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HostUnavailableError);
    expect((error as HostUnavailableError).reason).toBe('not-installed');
    expect(Date.now() - started).toBeLessThan(2_000);

    const stranger = createLoopbackTransport({ port: setup.server.port, newId: () => crypto.randomUUID(), client: 't', openSocket: socketWithOrigin(UNLISTED_EXTENSION_ORIGIN), storage: setup.storage });
    const refused = await stranger.request({ type: 'status', id: 's' }).catch((e: unknown) => e);
    expect((refused as HostUnavailableError).reason).toBe('not-installed');
  });

  it('refuses web pages, unlisted extensions and Firefox origins before the upgrade (403)', async () => {
    for (const origin of ['https://evil.example', 'null', 'http://127.0.0.1:8080', UNLISTED_EXTENSION_ORIGIN, 'moz-extension://0b7c1c1e-6c2a-4f5e-9d51-1d3c5b4a7e21', `${EXTENSION_ORIGIN}.evil.example`]) {
      const outcome = await attempt(setup.server.port, { origin });
      expect(outcome, origin).toMatchObject({ opened: false, status: 403 });
    }
  });

  it('refuses a Host header that is not loopback (DNS rebinding), even from the extension', async () => {
    for (const host of [`evil.example:${setup.server.port}`, `127.0.0.1:${setup.server.port + 1}`, `localhost.evil.example:${setup.server.port}`]) {
      expect(await attempt(setup.server.port, { origin: EXTENSION_ORIGIN, host }), host).toMatchObject({ opened: false, status: 403 });
    }
    for (const host of [`localhost:${setup.server.port}`, `[::1]:${setup.server.port}`]) {
      const outcome = await attempt(setup.server.port, { origin: EXTENSION_ORIGIN, host });
      expect(outcome.opened, host).toBe(true);
      if (outcome.opened) outcome.ws.close();
    }
  });

  it('refuses a local program with a wrong or missing token (401), admits the right one', async () => {
    expect(await attempt(setup.server.port)).toMatchObject({ opened: false, status: 401 });
    expect(await attempt(setup.server.port, { token: 'x'.repeat(43) })).toMatchObject({ opened: false, status: 401 });
    const token = await tokenOf(setup);
    expect(await attempt(setup.server.port, { token: token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A') })).toMatchObject({ opened: false, status: 401 });
    // A wrong token does not become acceptable by adding the extension's origin.
    expect(await attempt(setup.server.port, { token: 'y'.repeat(43), origin: EXTENSION_ORIGIN })).toMatchObject({ opened: false, status: 401 });
    const ok = await attempt(setup.server.port, { token });
    expect(ok.opened).toBe(true);
    if (ok.opened) ok.ws.close();
    await expect(connectLoopback({ port: setup.server.port, tokenFile: join(setup.dir, 'no-such-token') })).rejects.toMatchObject({ code: 'NOT_RUNNING' });
    const wrongFile = join(setup.dir, 'wrong.token');
    await writeFile(wrongFile, 'z'.repeat(43), { mode: 0o600 });
    await expect(connectLoopback({ port: setup.server.port, tokenFile: wrongFile })).rejects.toMatchObject({ code: 'REFUSED' });
    // Nothing of the token reaches the log.
    expect(logLines.join('')).not.toContain(token);
  });

  it('answers other paths with 404 and plain HTTP with 426', async () => {
    expect(await attempt(setup.server.port, { origin: EXTENSION_ORIGIN, path: '/other' })).toMatchObject({ opened: false, status: 404 });
    const res = await fetch(`http://127.0.0.1:${setup.server.port}/`);
    expect(res.status).toBe(426);
    await res.text();
  });

  it('answers malformed JSON and wrong shapes with an error reply and keeps the connection', async () => {
    const ws = await open(setup.server.port, { origin: EXTENSION_ORIGIN });
    const box = inbox(ws);
    ws.send('{"type":"hello",');
    expect(await box.next()).toEqual({ type: 'error', id: null, code: 'BAD_MESSAGE', message: 'The message is not valid JSON.' });
    ws.send(JSON.stringify({ type: 'launch-missiles', id: 'x' }));
    expect(await box.next()).toMatchObject({ type: 'error', id: 'x', code: 'UNKNOWN_TYPE' });
    ws.send(JSON.stringify({ type: 'status', id: 's', extra: true }));
    expect(await box.next()).toMatchObject({ type: 'error', id: 's', code: 'BAD_MESSAGE' });
    ws.send(JSON.stringify({ type: 'status', id: 's2' }));
    expect(await box.next()).toMatchObject({ type: 'status', id: 's2' });
    ws.close();
  });

  it('closes on an oversize message (1009) or a binary one (1003), and keeps serving others', async () => {
    const big = await open(setup.server.port, { origin: EXTENSION_ORIGIN });
    big.on('error', () => undefined);
    const bigClosed = closeOf(big);
    big.send(JSON.stringify({ type: 'status', id: 'x', pad: 'p'.repeat(MAX_INBOUND_MESSAGE_BYTES) }));
    expect((await bigClosed).code).toBe(1009);

    const bin = await open(setup.server.port, { origin: EXTENSION_ORIGIN });
    const binClosed = closeOf(bin);
    bin.send(Buffer.from(JSON.stringify({ type: 'status', id: 'b' })), { binary: true });
    expect((await binClosed).code).toBe(1003);

    const ws = await open(setup.server.port, { origin: EXTENSION_ORIGIN });
    const box = inbox(ws);
    ws.send(JSON.stringify({ type: 'status', id: 'after' }));
    expect(await box.next()).toMatchObject({ type: 'status', id: 'after' });
    ws.close();
  });
});

describe('limits', () => {
  let setup: Setup;
  beforeAll(async () => {
    setup = await serve({ limits: { maxConnections: 3, messagesPerSecond: 2, messageBurst: 6, maxInFlight: 1, idleTimeoutMs: 400, handshakeTimeoutMs: 1_500 } });
  });
  afterAll(async () => {
    await setup?.server.close();
  });

  it('closes a connection that sends too many messages (1008)', async () => {
    const ws = await open(setup.server.port, { origin: EXTENSION_ORIGIN });
    ws.on('error', () => undefined);
    const closed = closeOf(ws);
    for (let i = 0; i < 12; i++) ws.send('{}');
    expect(await closed).toEqual({ code: 1008, reason: 'too many messages' });
  });

  it('answers BUSY beyond the requests in flight per connection', async () => {
    const ws = await open(setup.server.port, { origin: EXTENSION_ORIGIN });
    const box = inbox(ws);
    for (const id of ['b1', 'b2', 'b3']) ws.send(JSON.stringify({ type: 'status', id }));
    const replies = [await box.next(), await box.next(), await box.next()];
    expect(replies.map((r) => r.id).sort()).toEqual(['b1', 'b2', 'b3']);
    expect(replies.filter((r) => r.type === 'error' && r.code === 'BUSY').length).toBeGreaterThanOrEqual(1);
    expect(replies.filter((r) => r.type === 'status').length).toBeGreaterThanOrEqual(1);
    ws.close();
  });

  it('refuses connections beyond the cap: a local program with 503, the extension after authenticating (1013)', async () => {
    const token = await tokenOf(setup);
    const held = [await open(setup.server.port, { token }), await open(setup.server.port, { token }), await open(setup.server.port, { origin: EXTENSION_ORIGIN })];
    expect(await attempt(setup.server.port, { token })).toMatchObject({ opened: false, status: 503 });
    const extra = await attempt(setup.server.port, { origin: EXTENSION_ORIGIN });
    if (!extra.opened) throw new Error('the upgrade itself should open');
    const extraClosed = closeOf(extra.ws);
    expect(await authenticateSocket(extra.ws, setup.pairing)).toBe(false);
    expect((await extraClosed).code).toBe(1013);
    const closing = held.map((ws) => closeOf(ws));
    for (const ws of held) ws.close();
    await Promise.all(closing);
  });

  it('closes idle browser connections (4000) but keeps a local program that listens for events', async () => {
    // The previous test's connections may still be leaving.
    await new Promise((r) => setTimeout(r, 100));
    const token = await tokenOf(setup);
    const listener = await open(setup.server.port, { token });
    const ws = await open(setup.server.port, { origin: EXTENSION_ORIGIN });
    const started = Date.now();
    expect(await closeOf(ws, 5_000)).toEqual({ code: 4000, reason: 'idle' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    await new Promise((r) => setTimeout(r, 400));
    expect(listener.readyState).toBe(listener.OPEN);
    listener.close();
  });

  it('drops a TCP connection that never completes its handshake', async () => {
    const socket = connect({ host: '127.0.0.1', port: setup.server.port });
    await once(socket, 'connect');
    const started = Date.now();
    await once(socket, 'close');
    expect(Date.now() - started).toBeLessThan(3_000);
  });
});

describe('events for local programs', () => {
  it('tells a subscribed local program about every stored, replaced and forgotten set, in and out of process, never a secret', async () => {
    const setup = await serve({ limits: { rescanMs: 60_000 } });
    const channel: LoopbackChannel = await connectLoopback({ port: setup.server.port, tokenFile: setup.server.tokenFile });
    const events: CredentialsEvent[] = [];
    channel.onEvent((e) => events.push(e));
    const extension = await open(setup.server.port, { origin: EXTENSION_ORIGIN });
    const box = inbox(extension);
    const settle = () => new Promise((r) => setTimeout(r, 300));

    // 1. Activated through the channel (by the extension).
    extension.send(JSON.stringify({ type: 'activate', id: 'a1', key: sim.purchase('ACMEBK01'), productCode: 'ACMEBK01', capturedAt: Date.now() }));
    expect(await box.next(60_000)).toMatchObject({ type: 'activated', replaced: false });
    await waitFor('stored event', () => (events.length >= 1 ? true : undefined));
    // 2. Reactivated (replaced) through the channel.
    extension.send(JSON.stringify({ type: 'activate', id: 'a2', key: sim.purchase('ACMEBK01'), productCode: 'ACMEBK01', capturedAt: Date.now(), replace: true }));
    expect(await box.next(60_000)).toMatchObject({ type: 'activated', replaced: true });
    await waitFor('replaced event', () => (events.length >= 2 ? true : undefined));
    // 3. Forgotten by the CLI, in another process.
    const forgot = await runCli(['forget', '--product', 'ACMEBK01'], { env: setup.env });
    expect(forgot.code, forgot.stderr).toBe(0);
    await waitFor('forgotten event', () => (events.length >= 3 ? true : undefined));
    // 4. Activated by the CLI, in another process.
    const key = sim.purchase('ACMEPV02');
    const activated = await runCli(['activate', '--product', 'ACMEPV02', '--key', '-'], { env: setup.env, input: `${key}\n`, timeoutMs: 60_000 });
    expect(activated.code, activated.stderr).toBe(0);
    await waitFor('stored event from the CLI', () => (events.length >= 4 ? true : undefined));
    await settle();

    expect(events.map((e) => [e.product.code, e.change])).toEqual([
      ['ACMEBK01', 'stored'],
      ['ACMEBK01', 'replaced'],
      ['ACMEBK01', 'forgotten'],
      ['ACMEPV02', 'stored'],
    ]);
    for (const e of events) {
      expect(v.safeParse(CredentialsEventSchema, e).success).toBe(true);
      expect(e.product.name).toBe(e.product.code === 'ACMEBK01' ? 'Acme Backup' : 'Acme Photo Vault');
      expect(Number.isNaN(Date.parse(e.at))).toBe(false);
    }
    // The browser gets replies only, never events.
    expect(box.messages.every((m) => m.type !== 'credentials-changed')).toBe(true);
    expect(await findSecrets(allSecrets(), { texts: { events: JSON.stringify(events), log: logLines.join('') } })).toEqual([]);

    // The token proves only "a program of this user": it may say hello and listen, never read the status or activate.
    expect(await channel.request({ type: 'hello', protocol: PROTOCOL_VERSION })).toMatchObject({ type: 'hello' });
    expect(await channel.request({ type: 'status' })).toMatchObject({ type: 'error', code: 'CALLER_NOT_ALLOWED' });
    const stolen = sim.purchase('ACMEBK01');
    expect(await channel.request({ type: 'activate', key: stolen, productCode: 'ACMEBK01', capturedAt: Date.now(), replace: true })).toMatchObject({ type: 'error', code: 'CALLER_NOT_ALLOWED' });

    extension.close();
    await channel.close();
    await setup.server.close();
  });
});

describe('shutdown', () => {
  it('closes every connection (1001), frees the port, removes the token file and leaves no handles', async () => {
    const handles = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPServerWrap' || r === 'TCPSocketWrap' || r === 'FSEventWrap').length;
    const before = handles();
    const setup = await serve();
    const { port, tokenFile } = setup.server;
    const channel = await connectLoopback({ port, tokenFile });
    const ws = await open(port, { origin: EXTENSION_ORIGIN });
    const wsClosed = closeOf(ws);
    await setup.server.close();
    expect((await wsClosed).code).toBe(1001);
    expect((await channel.closed).code).toBe(1001);
    await expect(channel.request({ type: 'status' })).rejects.toBeInstanceOf(LoopbackUnavailableError);
    await expect(stat(tokenFile)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await portIsFree(port, '127.0.0.1')).toBe(true);
    await waitFor('handles released', () => (handles() <= before ? true : undefined), 3_000);
    expect((await attempt(port, { origin: EXTENSION_ORIGIN })).opened).toBe(false);
  });

  it('refuses to start on a port already in use, saying so', async () => {
    const first = await serve();
    await expect(serve({ port: first.server.port })).rejects.toMatchObject({ code: 'PORT_IN_USE' });
    await first.server.close();
  });

  it('devpay-companion serve runs until SIGTERM, prints where the token is, and shuts down cleanly', async () => {
    const setup = await serve();
    await setup.server.close(); // only its folder and configuration are wanted
    const child = spawn(process.execPath, ['--import', 'tsx', resolve('native-host/main.ts'), 'serve', '--port', '0'], { env: { ...setup.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const exited = once(child, 'close') as Promise<[number | null, NodeJS.Signals | null]>;
    try {
      const port = Number(await waitFor('serve to listen', () => /ws:\/\/127\.0\.0\.1:(\d+)\//.exec(stderr)?.[1], 20_000));
      const tokenFile = join(setup.dataDir, 'loopback.token');
      expect(stderr).toContain(tokenFile);
      expect((await stat(tokenFile)).mode & 0o777).toBe(0o600);
      const channel = await connectLoopback({ config: setup.configPath, dataDir: setup.dataDir, port, env: {} });
      expect(await channel.request({ type: 'hello', protocol: PROTOCOL_VERSION })).toMatchObject({ type: 'hello' });
      child.kill('SIGTERM');
      const [code] = await exited;
      expect(code, stderr).toBe(0);
      expect((await channel.closed).code).toBe(1001);
      expect(stdout).toBe('');
      await expect(stat(tokenFile)).rejects.toMatchObject({ code: 'ENOENT' });
      expect(await portIsFree(port, '127.0.0.1')).toBe(true);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});

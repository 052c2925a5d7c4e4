/**
 * The loopback WebSocket channel for real, over a connection's life: rate, in-flight, connection and
 * idle limits; credentials-changed events for local programs (the CLI, another process, changes
 * credentials to prove events cross process boundaries); and shutdown. Real `ws` clients, the License
 * Service simulator and a real gnome-keyring (this file owns one). Admission: loopback.test.ts.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { stat } from 'node:fs/promises';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import * as v from 'valibot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CredentialsEventSchema, PROTOCOL_VERSION, type CredentialsEvent } from '../shared/messages.ts';
import { connectLoopback, LoopbackUnavailableError, type LoopbackChannel } from '../native-host/api.ts';
import { findSecrets, runCli } from './machine/companion.ts';
import { authenticateSocket } from './helpers/loopback-pairing.ts';
import {
  attempt,
  closeOf,
  EXTENSION_ORIGIN,
  inbox,
  loopbackServers,
  open,
  portIsFree,
  tokenOf,
  waitFor,
  type LoopbackSetup,
} from './helpers/loopback-server.ts';
import { useTestServices } from './helpers/test-services.ts';
import type { Simulator } from './simulator/server.ts';

const services = useTestServices('loopback-lifecycle', { keytarInThisProcess: true });
const { serve, allSecrets, logLines } = loopbackServers(services);
let sim: Simulator;
beforeAll(() => {
  ({ sim } = services);
});

describe('limits', () => {
  let setup: LoopbackSetup;
  beforeAll(async () => {
    setup = await serve({
      limits: {
        maxConnections: 3,
        messagesPerSecond: 2,
        messageBurst: 6,
        maxInFlight: 1,
        idleTimeoutMs: 400,
        handshakeTimeoutMs: 1_500,
      },
    });
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
    // Three replies, one per request, in any order.
    expect(new Set(replies.map((r) => r.id))).toEqual(new Set(['b1', 'b2', 'b3']));
    expect(replies.filter((r) => r.type === 'error' && r.code === 'BUSY').length).toBeGreaterThanOrEqual(1);
    expect(replies.filter((r) => r.type === 'status').length).toBeGreaterThanOrEqual(1);
    ws.close();
  });

  it('refuses connections beyond the cap: a local program with 503, the extension after authenticating (1013)', async () => {
    const token = await tokenOf(setup);
    const held = [
      await open(setup.server.port, { token }),
      await open(setup.server.port, { token }),
      await open(setup.server.port, { origin: EXTENSION_ORIGIN }),
    ];
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
    const channel: LoopbackChannel = await connectLoopback({
      port: setup.server.port,
      tokenFile: setup.server.tokenFile,
    });
    const events: CredentialsEvent[] = [];
    channel.onEvent((e) => events.push(e));
    const extension = await open(setup.server.port, { origin: EXTENSION_ORIGIN });
    const box = inbox(extension);
    const settle = () => new Promise((r) => setTimeout(r, 300));

    // 1. Activated through the channel (by the extension).
    extension.send(
      JSON.stringify({
        type: 'activate',
        id: 'a1',
        key: sim.purchase('ACMEBK01'),
        productCode: 'ACMEBK01',
        capturedAt: Date.now(),
      }),
    );
    expect(await box.next(60_000)).toMatchObject({ type: 'activated', replaced: false });
    await waitFor('stored event', () => (events.length >= 1 ? true : undefined));
    // 2. Reactivated (replaced) through the channel.
    extension.send(
      JSON.stringify({
        type: 'activate',
        id: 'a2',
        key: sim.purchase('ACMEBK01'),
        productCode: 'ACMEBK01',
        capturedAt: Date.now(),
        replace: true,
      }),
    );
    expect(await box.next(60_000)).toMatchObject({ type: 'activated', replaced: true });
    await waitFor('replaced event', () => (events.length >= 2 ? true : undefined));
    // 3. Forgotten by the CLI, in another process.
    const forgot = await runCli(['forget', '--product', 'ACMEBK01'], { env: setup.env });
    expect(forgot.code, forgot.stderr).toBe(0);
    await waitFor('forgotten event', () => (events.length >= 3 ? true : undefined));
    // 4. Activated by the CLI, in another process.
    const key = sim.purchase('ACMEPV02');
    const activated = await runCli(['activate', '--product', 'ACMEPV02', '--key', '-'], {
      env: setup.env,
      input: `${key}\n`,
      timeoutMs: 60_000,
    });
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
    expect(
      await findSecrets(allSecrets(), { texts: { events: JSON.stringify(events), log: logLines.join('') } }),
    ).toEqual([]);

    // The token proves only "a program of this user": it may say hello and listen, never read the status or activate.
    expect(await channel.request({ type: 'hello', protocol: PROTOCOL_VERSION })).toMatchObject({ type: 'hello' });
    expect(await channel.request({ type: 'status' })).toMatchObject({ type: 'error', code: 'CALLER_NOT_ALLOWED' });
    const stolen = sim.purchase('ACMEBK01');
    expect(
      await channel.request({
        type: 'activate',
        key: stolen,
        productCode: 'ACMEBK01',
        capturedAt: Date.now(),
        replace: true,
      }),
    ).toMatchObject({ type: 'error', code: 'CALLER_NOT_ALLOWED' });

    extension.close();
    await channel.close();
    await setup.server.close();
  });
});

describe('shutdown', () => {
  it('closes every connection (1001), frees the port, removes the token file and leaves no handles', async () => {
    const handles = () =>
      process
        .getActiveResourcesInfo()
        .filter((r) => r === 'TCPServerWrap' || r === 'TCPSocketWrap' || r === 'FSEventWrap').length;
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
    const child = spawn(process.execPath, ['--import', 'tsx', resolve('native-host/main.ts'), 'serve', '--port', '0'], {
      env: { ...setup.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const exited = once(child, 'close') as Promise<[number | null, NodeJS.Signals | null]>;
    try {
      const port = Number(
        await waitFor('serve to listen', () => /ws:\/\/127\.0\.0\.1:(\d+)\//.exec(stderr)?.[1], 20_000),
      );
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

/**
 * The loopback WebSocket channel for real, who gets in and what they may say: the server on
 * 127.0.0.1/::1 (port 0), real `ws` clients, the License Service simulator (real HTTPS) and a real
 * gnome-keyring on a private bus (keytar connects once per process, so this file owns one).
 * Limits, events and shutdown: loopback-lifecycle.test.ts.
 */
import { stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import * as v from 'valibot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { MAX_INBOUND_MESSAGE_BYTES, PROTOCOL_VERSION, ReplySchema } from '../shared/messages.ts';
import { HostUnavailableError } from '../extension/lib/host-transport.ts';
import { createLoopbackTransport, type WebSocketLike } from '../extension/lib/loopback-transport.ts';
import { connectLoopback } from '../native-host/api.ts';
import { findSecrets, runCli } from './machine/companion.ts';
import { socketWithOrigin } from './helpers/loopback-pairing.ts';
import {
  attempt,
  closeOf,
  EXTENSION_ORIGIN,
  inbox,
  loopbackServers,
  open,
  tokenOf,
  UNLISTED_EXTENSION_ORIGIN,
  type LoopbackSetup,
} from './helpers/loopback-server.ts';
import { useTestServices } from './helpers/test-services.ts';
import type { Simulator } from './simulator/server.ts';

const services = useTestServices('loopback', { keytarInThisProcess: true });
const { serve, allSecrets, logLines } = loopbackServers(services);
let sim: Simulator;
beforeAll(() => {
  ({ sim } = services);
});

describe('activation through the channel', () => {
  let setup: LoopbackSetup;
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
    expect(hello).toMatchObject({
      type: 'hello',
      id: 'h1',
      protocol: PROTOCOL_VERSION,
      products: [{ code: 'ACMEBK01' }, { code: 'ACMEPV02' }],
    });

    const key = sim.purchase('ACMEBK01');
    ws.send(JSON.stringify({ type: 'activate', id: 'a1', key, productCode: 'ACMEBK01', capturedAt: Date.now() }));
    const activated = await box.next(60_000);
    expect(activated).toMatchObject({
      type: 'activated',
      id: 'a1',
      product: { code: 'ACMEBK01', name: 'Acme Backup' },
      replaced: false,
    });
    const issued = sim.issued.at(-1)!;
    expect(activated.accessKeyId).not.toBe(issued.accessKeyId); // masked
    expect(String(activated.accessKeyId).slice(-4)).toBe(issued.accessKeyId.slice(-4));

    // The same handler: a second activation without confirmation is ALREADY_ACTIVATED, as over native messaging.
    ws.send(
      JSON.stringify({
        type: 'activate',
        id: 'a2',
        key: sim.purchase('ACMEBK01'),
        productCode: 'ACMEBK01',
        capturedAt: Date.now(),
      }),
    );
    expect(await box.next(60_000)).toMatchObject({
      type: 'error',
      id: 'a2',
      code: 'ALREADY_ACTIVATED',
      product: { code: 'ACMEBK01' },
    });

    ws.send(JSON.stringify({ type: 'status', id: 's1' }));
    const status = await box.next();
    expect(status).toMatchObject({
      type: 'status',
      id: 's1',
      products: [
        { code: 'ACMEBK01', activated: true, state: 'activated' },
        { code: 'ACMEPV02', activated: false },
      ],
    });
    for (const m of box.messages) expect(v.safeParse(ReplySchema, m).success).toBe(true);

    // The credentials are where a desktop product reads them, and nowhere in what went over the wire or into the log.
    const creds = await runCli(['credentials', '--product', 'ACMEBK01'], { env: setup.env });
    expect(JSON.parse(creds.stdout)).toMatchObject({
      AccessKeyId: issued.accessKeyId,
      SecretAccessKey: issued.secretAccessKey,
    });
    expect(
      await findSecrets(allSecrets(), {
        dirs: [setup.dataDir],
        texts: { wire: JSON.stringify(box.messages), log: logLines.join('') },
      }),
    ).toEqual([]);
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
    const activated = await transport.request({
      type: 'activate',
      id: 'a',
      key,
      productCode: 'ACMEPV02',
      capturedAt: Date.now(),
      replace: false,
    });
    expect(activated).toMatchObject({ type: 'activated', id: 'a', product: { code: 'ACMEPV02' } });
    transport.close();
  });

  it('gives the extension transport a typed "unavailable" when nothing listens, or the extension is not allowed', async () => {
    const free = createServer();
    await new Promise<void>((r) => free.listen({ host: '127.0.0.1', port: 0 }, () => r()));
    const port = (free.address() as { port: number }).port;
    await new Promise<void>((r) => free.close(() => r()));
    const nobody = createLoopbackTransport({
      port,
      newId: () => crypto.randomUUID(),
      client: 't',
      openSocket: socketWithOrigin(EXTENSION_ORIGIN),
      storage: setup.storage,
    });
    const started = Date.now();
    const error = await nobody.request({ type: 'status', id: 's' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HostUnavailableError);
    expect((error as HostUnavailableError).reason).toBe('not-installed');
    expect(Date.now() - started).toBeLessThan(2_000);

    const stranger = createLoopbackTransport({
      port: setup.server.port,
      newId: () => crypto.randomUUID(),
      client: 't',
      openSocket: socketWithOrigin(UNLISTED_EXTENSION_ORIGIN),
      storage: setup.storage,
    });
    const refused = await stranger.request({ type: 'status', id: 's' }).catch((e: unknown) => e);
    expect((refused as HostUnavailableError).reason).toBe('not-installed');
  });

  it('refuses web pages, unlisted extensions and Firefox origins before the upgrade (403)', async () => {
    for (const origin of [
      'https://evil.example',
      'null',
      'http://127.0.0.1:8080',
      UNLISTED_EXTENSION_ORIGIN,
      'moz-extension://0b7c1c1e-6c2a-4f5e-9d51-1d3c5b4a7e21',
      `${EXTENSION_ORIGIN}.evil.example`,
    ]) {
      const outcome = await attempt(setup.server.port, { origin });
      expect(outcome, origin).toMatchObject({ opened: false, status: 403 });
    }
  });

  it('refuses a Host header that is not loopback (DNS rebinding), even from the extension', async () => {
    for (const host of [
      `evil.example:${setup.server.port}`,
      `127.0.0.1:${setup.server.port + 1}`,
      `localhost.evil.example:${setup.server.port}`,
    ]) {
      expect(await attempt(setup.server.port, { origin: EXTENSION_ORIGIN, host }), host).toMatchObject({
        opened: false,
        status: 403,
      });
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
    expect(
      await attempt(setup.server.port, { token: token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A') }),
    ).toMatchObject({ opened: false, status: 401 });
    // A wrong token does not become acceptable by adding the extension's origin.
    expect(await attempt(setup.server.port, { token: 'y'.repeat(43), origin: EXTENSION_ORIGIN })).toMatchObject({
      opened: false,
      status: 401,
    });
    const ok = await attempt(setup.server.port, { token });
    expect(ok.opened).toBe(true);
    if (ok.opened) ok.ws.close();
    await expect(
      connectLoopback({ port: setup.server.port, tokenFile: join(setup.dir, 'no-such-token') }),
    ).rejects.toMatchObject({ code: 'NOT_RUNNING' });
    const wrongFile = join(setup.dir, 'wrong.token');
    await writeFile(wrongFile, 'z'.repeat(43), { mode: 0o600 });
    await expect(connectLoopback({ port: setup.server.port, tokenFile: wrongFile })).rejects.toMatchObject({
      code: 'REFUSED',
    });
    // Nothing of the token reaches the log.
    expect(logLines.join('')).not.toContain(token);
  });

  it('answers other paths with 404 and plain HTTP with 426', async () => {
    expect(await attempt(setup.server.port, { origin: EXTENSION_ORIGIN, path: '/other' })).toMatchObject({
      opened: false,
      status: 404,
    });
    const res = await fetch(`http://127.0.0.1:${setup.server.port}/`);
    expect(res.status).toBe(426);
    await res.text();
  });

  it('answers malformed JSON and wrong shapes with an error reply and keeps the connection', async () => {
    const ws = await open(setup.server.port, { origin: EXTENSION_ORIGIN });
    const box = inbox(ws);
    ws.send('{"type":"hello",');
    expect(await box.next()).toEqual({
      type: 'error',
      id: null,
      code: 'BAD_MESSAGE',
      message: 'The message is not valid JSON.',
    });
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

/**
 * The native messaging transport against a fake port that behaves like the
 * browser's: handshake first, replies validated, every wait bounded, and the
 * browsers' error strings turned into reasons the popup can explain.
 */
import { describe, expect, it } from 'vitest';
import {
  HostUnavailableError,
  NativeHostTransport,
  unavailableReasonOf,
  type NativePortLike,
} from '../extension/lib/host-transport.ts';
import { PROTOCOL_VERSION, type Reply, type Request } from '../shared/messages.ts';

type Host = (message: Request) => unknown;

/** A port whose other end is `host`; `failWith` simulates the browser closing it with an error. */
class FakePort implements NativePortLike {
  posted: unknown[] = [];
  disconnected = false;
  error: { message?: string } | null = null;
  private messageListeners: ((m: unknown) => void)[] = [];
  private disconnectListeners: ((p: NativePortLike) => void)[] = [];
  onMessage = { addListener: (l: (m: unknown) => void) => void this.messageListeners.push(l) };
  onDisconnect = { addListener: (l: (p: NativePortLike) => void) => void this.disconnectListeners.push(l) };

  constructor(private readonly host: Host) {}

  postMessage(message: unknown): void {
    if (this.disconnected) throw new Error('Attempting to use a disconnected port object');
    this.posted.push(message);
    const reply = this.host(message as Request);
    if (reply !== undefined) setTimeout(() => this.deliver(reply), 1);
  }
  deliver(reply: unknown): void {
    if (!this.disconnected) this.messageListeners.forEach((l) => l(reply));
  }
  disconnect(): void {
    this.disconnected = true;
  }
  /** The browser closes the port (host missing, exited...). */
  close(firefoxError?: string): void {
    if (firefoxError) this.error = { message: firefoxError };
    this.disconnected = true;
    this.disconnectListeners.forEach((l) => l(this));
  }
}

const helloReply = (id: string, protocol = PROTOCOL_VERSION): Reply => ({
  type: 'hello',
  id,
  protocol,
  hostVersion: '1.2.3',
  products: [{ code: 'ACMEBK01', name: 'Acme Backup' }],
  activateUrl: 'https://www.devpay.test:8443/dp-activate',
});

/** A well-behaved host. */
const goodHost: Host = (m) => {
  if (m.type === 'hello') return helloReply(m.id);
  if (m.type === 'status') return { type: 'status', id: m.id, hostVersion: '1.2.3', products: [] };
  if (m.type === 'activate')
    return {
      type: 'activated',
      id: m.id,
      product: { code: 'ACMEBK01', name: 'Acme Backup' },
      accessKeyId: 'AKIA************WXYZ',
      activatedAt: '2026-11-27T20:00:00.000Z',
      replaced: false,
    };
  return undefined;
};

function setup(
  host: Host,
  options: {
    lastError?: string;
    connectThrows?: string;
    idleMs?: number;
    timeouts?: Partial<Record<Request['type'], number>>;
  } = {},
) {
  const ports: FakePort[] = [];
  let n = 0;
  const transport = new NativeHostTransport({
    connect: () => {
      if (options.connectThrows) throw new Error(options.connectThrows);
      const port = new FakePort(host);
      ports.push(port);
      return port;
    },
    lastErrorMessage: () => options.lastError,
    newId: () => `req-${++n}`,
    client: 'devpay-extension/test',
    handshakeTimeoutMs: options.timeouts?.hello ?? 300,
    requestTimeoutMs: { status: 300, activate: 300, ...options.timeouts },
    idleMs: options.idleMs ?? 10_000,
  });
  return { transport, ports };
}

const status = (id = 's1'): Request => ({ type: 'status', id });
const activate = (id = 'a1'): Request => ({
  type: 'activate',
  id,
  key: 'ADMAY7DVLJTWHJ76MMBMQYT5LATA',
  capturedAt: 1,
  replace: false,
});

async function reasonOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof HostUnavailableError) return error.reason;
    throw error;
  }
  throw new Error('expected the request to fail');
}

describe('native messaging transport', () => {
  it('says hello with the protocol version before anything else, once per connection', async () => {
    const { transport, ports } = setup(goodHost);
    const reply = await transport.request(status());
    expect(reply).toMatchObject({ type: 'status', id: 's1' });
    await transport.request(activate());
    expect(ports).toHaveLength(1);
    expect(ports[0]!.posted.map((m) => (m as Request).type)).toEqual(['hello', 'status', 'activate']);
    expect(ports[0]!.posted[0]).toEqual({
      type: 'hello',
      id: 'req-1',
      protocol: PROTOCOL_VERSION,
      client: 'devpay-extension/test',
    });
  });

  it('answers a caller’s hello from the handshake of a live connection', async () => {
    const { transport, ports } = setup(goodHost);
    expect(await transport.request({ type: 'hello', id: 'h1', protocol: PROTOCOL_VERSION })).toMatchObject({
      type: 'hello',
      id: 'h1',
      hostVersion: '1.2.3',
    });
    expect(await transport.request({ type: 'hello', id: 'h2', protocol: PROTOCOL_VERSION })).toMatchObject({
      type: 'hello',
      id: 'h2',
    });
    expect(ports[0]!.posted).toHaveLength(1);
  });

  it('passes error replies through as replies', async () => {
    const { transport } = setup((m) =>
      m.type === 'activate'
        ? {
            type: 'error',
            id: m.id,
            code: 'EXPIRED_KEY',
            message: 'The activation key has expired.',
            activateUrl: 'https://x.test/',
          }
        : goodHost(m),
    );
    expect(await transport.request(activate())).toMatchObject({ type: 'error', code: 'EXPIRED_KEY' });
  });

  it.each([
    ['Specified native messaging host not found.', 'not-installed'],
    ['Access to the specified native messaging host is forbidden.', 'forbidden'],
    ['Native host has exited.', 'exited'],
  ])('maps Chromium’s "%s" to %s', async (message, reason) => {
    const { transport, ports } = setup(() => undefined, { lastError: message });
    const pending = transport.request(status());
    ports[0]!.close();
    expect(await reasonOf(pending)).toBe(reason);
  });

  it('reads Firefox’s port.error', async () => {
    const { transport, ports } = setup(() => undefined);
    const pending = transport.request(status());
    ports[0]!.close('No such native application com.acme_demo.devpay_companion');
    expect(await reasonOf(pending)).toBe('not-installed');
    expect(unavailableReasonOf('This extension does not have permission to use native application x')).toBe(
      'forbidden',
    );
  });

  it('fails cleanly when the browser refuses to connect at all', async () => {
    const { transport } = setup(goodHost, { connectThrows: 'Invalid native messaging host name specified.' });
    expect(await reasonOf(transport.request(status()))).toBe('not-installed');
  });

  it('refuses a host with another protocol version', async () => {
    const { transport, ports } = setup((m) =>
      m.type === 'hello' ? helloReply(m.id, PROTOCOL_VERSION + 1) : goodHost(m),
    );
    expect(await reasonOf(transport.request(status()))).toBe('protocol-mismatch');
    expect(ports[0]!.disconnected).toBe(true);
    const { transport: t2 } = setup((m) => ({
      type: 'error',
      id: m.id,
      code: 'PROTOCOL_MISMATCH',
      message: 'Unsupported protocol.',
    }));
    expect(await reasonOf(t2.request(status()))).toBe('protocol-mismatch');
    const { transport: t3 } = setup((m) => ({
      type: 'error',
      id: m.id,
      code: 'CALLER_NOT_ALLOWED',
      message: 'Not allowed.',
    }));
    expect(await reasonOf(t3.request(status()))).toBe('forbidden');
  });

  it('stops talking to a host that breaks the protocol', async () => {
    const { transport, ports } = setup((m) =>
      m.type === 'status' ? { type: 'status', id: m.id, hostVersion: '1', products: [], secret: 'x' } : goodHost(m),
    );
    expect(await reasonOf(transport.request(status()))).toBe('bad-reply');
    expect(ports[0]!.disconnected).toBe(true);
  });

  it('bounds every wait, and drops a host that does not answer', async () => {
    const { transport, ports } = setup((m) => (m.type === 'activate' ? undefined : goodHost(m)), {
      timeouts: { activate: 150 },
    });
    const started = Date.now();
    expect(await reasonOf(transport.request(activate()))).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(1000);
    expect(ports[0]!.disconnected).toBe(true);
    // The next request starts a fresh connection.
    expect(await transport.request(status())).toMatchObject({ type: 'status' });
    expect(ports).toHaveLength(2);
  });

  it('bounds the handshake too', async () => {
    const { transport } = setup(() => undefined, { timeouts: { hello: 100 } });
    expect(await reasonOf(transport.request(status()))).toBe('timeout');
  });

  it('ignores replies to requests it did not make, and routes id-less errors to the only waiting request', async () => {
    const { transport, ports } = setup((m) => (m.type === 'status' ? undefined : goodHost(m)));
    const pending = transport.request(status('s9'));
    await new Promise((r) => setTimeout(r, 20));
    ports[0]!.deliver({ type: 'status', id: 'someone-else', hostVersion: '1', products: [] });
    ports[0]!.deliver({ type: 'error', id: null, code: 'BAD_MESSAGE', message: 'Malformed message (check: id).' });
    expect(await pending).toMatchObject({ type: 'error', code: 'BAD_MESSAGE' });
  });

  it('closes an idle connection so the host can exit', async () => {
    const { transport, ports } = setup(goodHost, { idleMs: 50 });
    await transport.request(status());
    await new Promise((r) => setTimeout(r, 120));
    expect(ports[0]!.disconnected).toBe(true);
    await transport.request(status());
    expect(ports).toHaveLength(2);
  });

  it('fails every waiting request when the host exits mid-way', async () => {
    const { transport, ports } = setup((m) => (m.type === 'hello' ? helloReply(m.id) : undefined), {
      lastError: 'Native host has exited.',
    });
    await transport.request({ type: 'hello', id: 'h', protocol: PROTOCOL_VERSION });
    const a = transport.request(activate('a1'));
    const b = transport.request(status('s1'));
    ports[0]!.close();
    expect(await reasonOf(a)).toBe('exited');
    expect(await reasonOf(b)).toBe('exited');
  });
});

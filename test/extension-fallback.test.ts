/**
 * The way to the host: native messaging first, the loopback channel only when
 * native messaging could not be used and the request never reached a native
 * host, then the caller's fallback (copy and paste). With fake transports for
 * the policy, and with the real native transport over a fake browser port for
 * where "never reached the host" comes from.
 */
import { describe, expect, it } from 'vitest';
import {
  FallbackTransport,
  LOOPBACK_FALLBACK_REASONS,
  shouldTryLoopback,
} from '../extension/lib/fallback-transport.ts';
import {
  HostUnavailableError,
  NativeHostTransport,
  type HostTransport,
  type NativePortLike,
} from '../extension/lib/host-transport.ts';
import { HOST_UNAVAILABLE_REASONS, type HostUnavailableReason } from '../extension/lib/runtime-messages.ts';
import { PROTOCOL_VERSION, type Reply, type Request } from '../shared/messages.ts';

const KEY = 'ADMAY7DVLJTWHJ76MMBMQYT5LATA';
const activate = (id = 'a1'): Request => ({
  type: 'activate',
  id,
  key: KEY,
  productCode: 'ACMEBK01',
  capturedAt: 1,
  replace: false,
});
const status = (id = 's1'): Request => ({ type: 'status', id });
const hello = (id = 'h1'): Request => ({
  type: 'hello',
  id,
  protocol: PROTOCOL_VERSION,
  client: 'devpay-extension/test',
});

const activatedReply = (id: string): Reply => ({
  type: 'activated',
  id,
  product: { code: 'ACMEBK01', name: 'Acme Backup' },
  accessKeyId: 'AKIA************WXYZ',
  activatedAt: '2026-11-27T20:00:00.000Z',
  replaced: false,
});
const statusReply = (id: string): Reply => ({ type: 'status', id, hostVersion: '1.2.3', products: [] });
const helloReply = (id: string): Reply => ({
  type: 'hello',
  id,
  protocol: PROTOCOL_VERSION,
  hostVersion: '1.2.3',
  products: [{ code: 'ACMEBK01', name: 'Acme Backup' }],
  activateUrl: 'https://www.devpay.test:8443/dp-activate',
});
const healthy = (m: Request): Reply =>
  m.type === 'activate' ? activatedReply(m.id) : m.type === 'status' ? statusReply(m.id) : helloReply(m.id);

/** Answers like a healthy host, or fails with `failure`; records what it was asked. */
class FakeTransport implements HostTransport {
  requests: Request[] = [];
  constructor(public failure: HostUnavailableError | null = null) {}
  async request(message: Request): Promise<Reply> {
    this.requests.push(message);
    if (this.failure) throw this.failure;
    return healthy(message);
  }
}

const notThere = (reason: HostUnavailableReason) => new HostUnavailableError(reason, { requestSent: false });

async function failureOf(promise: Promise<unknown>): Promise<HostUnavailableError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof HostUnavailableError) return error;
    throw error;
  }
  throw new Error('expected the request to fail');
}

describe('fallback transport: native messaging, then the loopback channel', () => {
  it('native messaging works: the request goes there only, and says so', async () => {
    const native = new FakeTransport();
    const loopback = new FakeTransport();
    const transport = new FallbackTransport({ native, loopback });
    expect(await transport.request(activate('a1'))).toMatchObject({ type: 'activated', id: 'a1' });
    expect(native.requests.map((r) => r.id)).toEqual(['a1']);
    expect(loopback.requests).toEqual([]);
    expect(transport.lastRoute).toBe('native');
    expect(transport.routeOf('a1')).toBe('native');
  });

  it.each(LOOPBACK_FALLBACK_REASONS)(
    'native %s, loopback listening: the key goes through the loopback channel',
    async (reason) => {
      const native = new FakeTransport(notThere(reason));
      const loopback = new FakeTransport();
      const transport = new FallbackTransport({ native, loopback });
      expect(await transport.request(activate('a1'))).toMatchObject({ type: 'activated', id: 'a1' });
      expect(loopback.requests).toEqual([activate('a1')]);
      expect(transport.lastRoute).toBe('loopback');
      expect(transport.routeOf('a1')).toBe('loopback');
    },
  );

  it('both unavailable: the native reason is what the caller hears (for the fallback), and no route', async () => {
    const native = new FakeTransport();
    const loopback = new FakeTransport(notThere('not-installed'));
    const transport = new FallbackTransport({ native, loopback });
    await transport.request(status('s0'));
    expect(transport.lastRoute).toBe('native');

    native.failure = notThere('forbidden');
    expect((await failureOf(transport.request(activate('a1')))).reason).toBe('forbidden');
    expect(loopback.requests.map((r) => r.id)).toEqual(['a1']);
    expect(transport.lastRoute).toBeNull();
    expect(transport.routeOf('a1')).toBeUndefined();
  });

  it('a loopback host that was reached but failed: its failure is what happened to the request', async () => {
    const transport = new FallbackTransport({
      native: new FakeTransport(notThere('not-installed')),
      loopback: new FakeTransport(new HostUnavailableError('timeout')),
    });
    expect((await failureOf(transport.request(activate()))).reason).toBe('timeout');
  });

  it('never retries through the loopback channel once the request may have reached the native host', async () => {
    for (const reason of HOST_UNAVAILABLE_REASONS) {
      const loopback = new FakeTransport();
      const transport = new FallbackTransport({
        native: new FakeTransport(new HostUnavailableError(reason)),
        loopback,
      });
      expect((await failureOf(transport.request(activate()))).reason, reason).toBe(reason);
      expect(loopback.requests, reason).toEqual([]);
    }
  });

  it('does not fall back for a host that was there but failed (exited, timed out, another protocol, a bad reply)', async () => {
    for (const reason of HOST_UNAVAILABLE_REASONS.filter((r) => !LOOPBACK_FALLBACK_REASONS.includes(r))) {
      const loopback = new FakeTransport();
      const transport = new FallbackTransport({ native: new FakeTransport(notThere(reason)), loopback });
      expect((await failureOf(transport.request(activate()))).reason, reason).toBe(reason);
      expect(loopback.requests, reason).toEqual([]);
    }
  });

  it('read-only requests may be asked again through the loopback channel', () => {
    const sent = new HostUnavailableError('forbidden');
    expect(shouldTryLoopback(hello(), sent)).toBe(true);
    expect(shouldTryLoopback(status(), sent)).toBe(true);
    expect(shouldTryLoopback(activate(), sent)).toBe(false);
    expect(shouldTryLoopback(activate(), notThere('forbidden'))).toBe(true);
    expect(shouldTryLoopback(activate(), new Error('bug'))).toBe(false);
  });

  it('keeps the routes of recent requests only', async () => {
    const transport = new FallbackTransport({ native: new FakeTransport(), loopback: new FakeTransport() });
    for (let i = 0; i < 40; i++) await transport.request(status(`s${i}`));
    expect(transport.routeOf('s0')).toBeUndefined();
    expect(transport.routeOf('s39')).toBe('native');
  });
});

/** A browser port to a native host: `missing` fails like Chromium with no host registered. */
class FakePort implements NativePortLike {
  posted: Request[] = [];
  private messageListeners: ((m: unknown) => void)[] = [];
  private disconnectListeners: ((p: NativePortLike) => void)[] = [];
  onMessage = { addListener: (l: (m: unknown) => void) => void this.messageListeners.push(l) };
  onDisconnect = { addListener: (l: (p: NativePortLike) => void) => void this.disconnectListeners.push(l) };
  constructor(private readonly behaviour: 'missing' | 'exits-on-activate') {
    if (behaviour === 'missing') setTimeout(() => this.disconnectListeners.forEach((l) => l(this)), 1);
  }
  postMessage(message: unknown): void {
    const request = message as Request;
    this.posted.push(request);
    if (this.behaviour === 'missing') return;
    if (request.type === 'activate') setTimeout(() => this.disconnectListeners.forEach((l) => l(this)), 1);
    else setTimeout(() => this.messageListeners.forEach((l) => l(healthy(request))), 1);
  }
  disconnect(): void {}
}

function nativeTransport(behaviour: 'missing' | 'exits-on-activate') {
  const ports: FakePort[] = [];
  const transport = new NativeHostTransport({
    connect: () => {
      const port = new FakePort(behaviour);
      ports.push(port);
      return port;
    },
    lastErrorMessage: () =>
      behaviour === 'missing' ? 'Specified native messaging host not found.' : 'Native host has exited.',
    newId: () => 'handshake',
    client: 'devpay-extension/test',
    handshakeTimeoutMs: 300,
    requestTimeoutMs: { activate: 300, status: 300 },
  });
  return { transport, ports };
}

describe('fallback transport over the real native messaging transport', () => {
  it('no native host registered: the activation was never posted, so it goes through the loopback channel', async () => {
    const native = nativeTransport('missing');
    const loopback = new FakeTransport();
    const transport = new FallbackTransport({ native: native.transport, loopback });
    expect(await transport.request(activate('a1'))).toMatchObject({ type: 'activated', id: 'a1' });
    // Only the handshake went to the (missing) native host.
    expect(native.ports.flatMap((p) => p.posted.map((r) => r.type))).toEqual(['hello']);
    expect(loopback.requests.map((r) => r.id)).toEqual(['a1']);
    expect(transport.routeOf('a1')).toBe('loopback');
  });

  it('a native host that exits after receiving the activation: no second try through the loopback channel', async () => {
    const native = nativeTransport('exits-on-activate');
    const loopback = new FakeTransport();
    const transport = new FallbackTransport({ native: native.transport, loopback });
    const failure = await failureOf(transport.request(activate('a1')));
    expect(failure.reason).toBe('exited');
    expect(failure.requestSent).toBe(true);
    expect(native.ports[0]!.posted.map((r) => r.type)).toEqual(['hello', 'activate']);
    expect(loopback.requests).toEqual([]);
  });
});

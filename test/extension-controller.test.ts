/**
 * The background's states, driven with a fake transport, a fake clock and an
 * in-memory storage.session: what the customer sees after each outcome, where
 * the key is held, and when it is forgotten.
 */
import { describe, expect, it } from 'vitest';
import { ActivationController } from '../extension/lib/activation/controller.ts';
import { KEY_EXPIRY_ALARM_PREFIX } from '../extension/lib/activation/held-keys.ts';
import type { ExpiryAlarms, SessionArea } from '../extension/lib/activation/ports.ts';
import { SESSION_KEYS } from '../extension/lib/activation/session-state.ts';
import { HostUnavailableError, type HostTransport } from '../extension/lib/host-transport.ts';
import type { HostRoute, PopupState } from '../extension/lib/runtime-messages.ts';
import { ACTIVATION_KEY_LIFETIME_MS } from '../shared/activation-key.ts';
import type { ErrorCode, Reply, Request } from '../shared/messages.ts';
import { anyString } from './helpers/matchers.ts';

const KEY = 'ADMAY7DVLJTWHJ76MMBMQYT5LATA';
const OTHER_KEY = 'AC6PMWXPBRPDDB426RW4X76I2MXQ';
const T0 = 1_800_000_000_000;
const PRODUCTS = [
  { code: 'ACMEBK01', name: 'Acme Backup', homepage: 'https://vendor.devpay.test/products/ACMEBK01' },
  { code: 'ACMEPV02', name: 'Acme Photo Vault' },
];

type Answer = Reply | HostUnavailableError | 'hang' | ((request: Request) => Reply | HostUnavailableError);

/** Answers `activate` from a script, hello/status like a healthy host; records every request. */
class FakeTransport implements HostTransport {
  requests: Request[] = [];
  activations: Answer[] = [];
  activated = new Set<string>();
  unavailable: HostUnavailableError | null = null;
  /** Which way every answer came, as a FallbackTransport would say; undefined like a single transport. */
  route: HostRoute | undefined = undefined;
  private readonly routes = new Map<string, HostRoute>();

  routeOf(id: string): HostRoute | undefined {
    return this.routes.get(id);
  }

  async request(message: Request): Promise<Reply> {
    this.requests.push(message);
    if (this.unavailable) throw this.unavailable;
    if (this.route) this.routes.set(message.id, this.route);
    if (message.type === 'hello')
      return {
        type: 'hello',
        id: message.id,
        protocol: 1,
        hostVersion: '0.9.1',
        products: PRODUCTS.map(({ code, name }) => ({ code, name })),
        activateUrl: 'https://a.test/',
      };
    if (message.type === 'status') {
      return {
        type: 'status',
        id: message.id,
        hostVersion: '0.9.1',
        products: PRODUCTS.map(({ code, name }) => ({
          code,
          name,
          activated: this.activated.has(code),
          activatedAt: this.activated.has(code) ? '2026-11-27T20:00:00.000Z' : null,
          accessKeyId: this.activated.has(code) ? 'AKIAABCDEFGHIJKLWXYZ' : null,
          state: this.activated.has(code) ? 'activated' : 'not-activated',
        })),
      };
    }
    let answer = this.activations.shift();
    if (answer === undefined) throw new Error('unexpected activate');
    if (answer === 'hang') return new Promise(() => {});
    if (typeof answer === 'function') answer = answer(message);
    if (answer instanceof HostUnavailableError) throw answer;
    if (answer.type === 'activated') this.activated.add(answer.product.code);
    return { ...answer, id: message.id };
  }
}

const activated = (code = 'ACMEBK01', name = 'Acme Backup'): Reply => ({
  type: 'activated',
  id: '',
  product: { code, name },
  accessKeyId: 'AKIAABCDEFGHIJKLWXYZ',
  activatedAt: '2026-11-27T20:00:00.000Z',
  replaced: false,
});
const hostError = (code: ErrorCode, extra: object = {}): Reply => ({
  type: 'error',
  id: '',
  code,
  message: `Host says ${code}.`,
  ...extra,
});

/** browser.alarms as the controller uses it: what is set survives the worker; firing is up to the test. */
class FakeAlarms implements ExpiryAlarms {
  alarms = new Map<string, number>();
  set(name: string, when: number) {
    this.alarms.set(name, when);
  }
  clear(name: string) {
    this.alarms.delete(name);
  }
}

/** storage.session in memory, recording every write. */
class MemorySession implements SessionArea {
  data = new Map<string, unknown>();
  writes: Record<string, unknown>[] = [];
  async get(keys: string[]) {
    return Object.fromEntries(keys.filter((k) => this.data.has(k)).map((k) => [k, structuredClone(this.data.get(k))]));
  }
  async set(items: Record<string, unknown>) {
    this.writes.push(structuredClone(items));
    for (const [k, v] of Object.entries(items)) this.data.set(k, structuredClone(v));
  }
  async remove(keys: string[]) {
    for (const k of keys) this.data.delete(k);
  }
  dump(): string {
    return JSON.stringify(Object.fromEntries(this.data));
  }
}

/** Names of the storage.session entries, other than the one meant for held keys, that some write put the key in. */
function entriesHoldingKeyOutsideItsOwn(writes: Record<string, unknown>[]): string[] {
  return writes
    .flatMap((write) => Object.entries(write))
    .filter(([name, value]) => name !== SESSION_KEYS.keys && JSON.stringify(value).includes(KEY))
    .map(([name]) => name);
}

function setup(
  options: {
    products?: typeof PRODUCTS;
    session?: MemorySession;
    transport?: FakeTransport;
    clock?: { now: number };
    alarms?: FakeAlarms;
  } = {},
) {
  const clock = options.clock ?? { now: T0 };
  const timers: { at: number; fn: () => void; done: boolean }[] = [];
  const transport = options.transport ?? new FakeTransport();
  const session = options.session ?? new MemorySession();
  const badges: { text: string; title: string }[] = [];
  const notifications: { id: string; title: string; message: string }[] = [];
  const alarms = options.alarms ?? new FakeAlarms();
  const changes = { count: 0 };
  let n = 0;
  const controller = new ActivationController({
    vendorName: 'Acme Software',
    activateUrl: 'https://www.devpay.test/dp-activate',
    products: options.products ?? PRODUCTS,
    transport,
    session,
    client: 'devpay-extension/test',
    ui: {
      setBadge: (text, title) => void badges.push({ text, title }),
      notify: (id, title, message) => void notifications.push({ id, title, message }),
      stateChanged: () => void changes.count++,
    },
    alarms,
    now: () => clock.now,
    newId: () => `id-${++n}`,
    setTimer: (fn, ms) => {
      const t = { at: clock.now + ms, fn, done: false };
      timers.push(t);
      return t;
    },
    clearTimer: (t) => {
      (t as { done: boolean }).done = true;
    },
  });
  /** Moves the clock and runs the timers that came due. */
  const advance = (ms: number) => {
    clock.now += ms;
    for (const t of timers) {
      if (!t.done && t.at <= clock.now) {
        t.done = true;
        t.fn();
      }
    }
  };
  const product = async (code: string | null) => (await controller.snapshot()).products.find((p) => p.code === code)!;
  return { controller, transport, session, badges, notifications, clock, advance, product, alarms, changes };
}

const page = (key = KEY, productCode?: string) => ({
  key,
  capturedAt: T0 - 5_000,
  pageUrl: 'https://aws-portal.devpay.test/gp/aws/user/subscription/confirm.html',
  trust: 'trusted' as const,
  ...(productCode ? { productCode } : {}),
});
/** A key only the vendor's redirect URL gave (no key page vouched for it): anyone can craft such a link. */
const link = (key = KEY, productCode?: string) => ({
  ...page(key, productCode),
  pageUrl: 'https://vendor.devpay.test/welcome',
  trust: 'needs-confirmation' as const,
});
const activateRequests = (t: FakeTransport) =>
  t.requests.filter((r): r is Extract<Request, { type: 'activate' }> => r.type === 'activate');

describe('activation controller', () => {
  it('success: activates, names the product in the badge and a notification, forgets the key', async () => {
    const h = setup();
    h.transport.activations.push(activated());
    expect(await h.controller.acceptKey(page(KEY, 'ACMEBK01'))).toBe('started');
    expect(activateRequests(h.transport)).toEqual([
      {
        type: 'activate',
        id: anyString(),
        key: KEY,
        productCode: 'ACMEBK01',
        pageUrl: page().pageUrl,
        keySource: 'key-page',
        capturedAt: T0 - 5_000,
        replace: false,
      },
    ]);
    const row = await h.product('ACMEBK01');
    expect(row).toMatchObject({
      state: 'activated',
      activatedAt: '2026-11-27T20:00:00.000Z',
      accessKeyId: 'AKIA************WXYZ',
      keyHeld: false,
      key: null,
    });
    expect(h.badges.at(-1)).toEqual({ text: '✓', title: 'Acme Backup activated' });
    expect(h.notifications).toEqual([expect.objectContaining({ title: 'Acme Backup activated' })]);
    const state = await h.controller.snapshot();
    expect(state.host).toEqual({ state: 'reachable', version: '0.9.1', reason: null, route: null });
    await h.controller.flushed();
    expect(h.session.dump()).not.toContain(KEY);
    expect(h.session.data.has(SESSION_KEYS.keys)).toBe(false);
  });

  it('drops repeats of a key already handled', async () => {
    const h = setup();
    h.transport.activations.push(activated());
    await h.controller.acceptKey(page(KEY, 'ACMEBK01'));
    expect(await h.controller.acceptKey(page(KEY, 'ACMEBK01'))).toBe('repeat');
    expect(await h.controller.acceptKey(page(KEY))).toBe('repeat');
    expect(activateRequests(h.transport)).toHaveLength(1);
    // Repeats are recognised by a digest, never by the key itself.
    await h.controller.flushed();
    expect(h.session.dump()).not.toContain(KEY);
  });

  it('already activated: waits for the customer, replaces only on confirm', async () => {
    const h = setup();
    h.transport.activations.push(
      hostError('ALREADY_ACTIVATED', { product: { code: 'ACMEBK01', name: 'Acme Backup' } }),
    );
    await h.controller.acceptKey(page(KEY, 'ACMEBK01'));
    expect(await h.product('ACMEBK01')).toMatchObject({ state: 'confirm-replace', keyHeld: true, key: null });
    expect(h.badges.at(-1)!.text).toBe('!');
    expect(h.notifications.at(-1)!.title).toBe('Acme Backup: action needed');
    expect(activateRequests(h.transport)[0]!.replace).toBe(false);

    h.transport.activations.push(activated());
    await h.controller.confirmReplace('ACMEBK01');
    expect(activateRequests(h.transport).map((r) => r.replace)).toEqual([false, true]);
    expect(await h.product('ACMEBK01')).toMatchObject({ state: 'activated', keyHeld: false });
  });

  it('already activated, and the customer keeps the current credentials: the key is forgotten', async () => {
    const h = setup();
    h.transport.activations.push(hostError('ALREADY_ACTIVATED'));
    await h.controller.acceptKey(page(KEY, 'ACMEBK01'));
    await h.controller.flushed();
    expect(h.session.dump()).toContain(KEY);
    await h.controller.cancelReplace('ACMEBK01');
    await h.controller.confirmReplace('ACMEBK01');
    expect(activateRequests(h.transport)).toHaveLength(1);
    expect(await h.product('ACMEBK01')).toMatchObject({ state: 'not-activated', keyHeld: false });
    await h.controller.flushed();
    expect(h.session.dump()).not.toContain(KEY);
  });

  it.each(['EXPIRED_KEY', 'INVALID_KEY', 'INCORRECT_KEY', 'KEY_TOO_OLD', 'MALFORMED_KEY'] as const)(
    'key error %s: says what happened, points to a new key, forgets the key',
    async (code) => {
      const h = setup();
      h.transport.activations.push(hostError(code, { activateUrl: 'https://www.devpay.test/dp-activate' }));
      await h.controller.acceptKey(page(KEY, 'ACMEBK01'));
      const row = await h.product('ACMEBK01');
      expect(row).toMatchObject({
        state: 'failed',
        keyHeld: false,
        error: { code, message: `Host says ${code}.`, nextStep: 'new-key' },
      });
      await h.controller.retry('ACMEBK01');
      expect(activateRequests(h.transport)).toHaveLength(1);
      expect((await h.controller.snapshot()).activateUrl).toBe('https://www.devpay.test/dp-activate');
    },
  );

  it('a passing failure keeps the key for Retry', async () => {
    const h = setup();
    h.transport.activations.push(hostError('SERVICE_UNAVAILABLE'), activated());
    await h.controller.acceptKey(page(KEY, 'ACMEBK01'));
    expect(await h.product('ACMEBK01')).toMatchObject({
      state: 'failed',
      keyHeld: true,
      key: null,
      error: { nextStep: 'retry' },
    });
    await h.controller.retry('ACMEBK01');
    expect(await h.product('ACMEBK01')).toMatchObject({ state: 'activated' });
  });

  it('host missing: fallback with the key for manual paste; Retry works once the host is installed', async () => {
    const h = setup();
    h.transport.activations.push(new HostUnavailableError('not-installed'));
    await h.controller.acceptKey(page(KEY, 'ACMEBK01'));
    const state = await h.controller.snapshot();
    expect(state.host).toEqual({ state: 'unreachable', version: null, reason: 'not-installed', route: null });
    expect(state.products[0]).toMatchObject({
      code: 'ACMEBK01',
      state: 'fallback',
      keyHeld: true,
      key: KEY,
      error: { code: 'HOST_UNAVAILABLE', nextStep: 'install' },
    });
    expect(state.products[1]).toMatchObject({ code: 'ACMEPV02', key: null });
    expect(h.notifications.at(-1)!.message).not.toContain(KEY);

    h.transport.activations.push(activated());
    await h.controller.retry('ACMEBK01');
    expect(await h.product('ACMEBK01')).toMatchObject({ state: 'activated', key: null });
  });

  it.each(['forbidden', 'exited', 'protocol-mismatch'] as const)('host %s: fallback too', async (reason) => {
    const h = setup();
    h.transport.activations.push(new HostUnavailableError(reason));
    await h.controller.acceptKey(page(KEY, 'ACMEBK01'));
    expect(await h.product('ACMEBK01')).toMatchObject({ state: 'fallback', key: KEY });
  });

  it('a host that does not answer in time: failed, key kept for Retry (not fallback)', async () => {
    const h = setup();
    h.transport.activations.push(new HostUnavailableError('timeout'));
    await h.controller.acceptKey(page(KEY, 'ACMEBK01'));
    expect(await h.product('ACMEBK01')).toMatchObject({
      state: 'failed',
      keyHeld: true,
      error: { code: 'HOST_TIMEOUT', nextStep: 'retry' },
    });
  });

  it('forgets a held key when its hour is over, in memory and in storage.session', async () => {
    const h = setup();
    h.transport.activations.push(new HostUnavailableError('not-installed'));
    await h.controller.acceptKey(page(KEY, 'ACMEBK01'));
    await h.controller.flushed();
    expect(h.session.data.get(SESSION_KEYS.keys)).toEqual({
      ACMEBK01: { key: KEY, capturedAt: T0 - 5_000, pageUrl: page().pageUrl, keySource: 'key-page' },
    });

    h.advance(ACTIVATION_KEY_LIFETIME_MS - 10_000);
    expect(await h.product('ACMEBK01')).toMatchObject({ state: 'fallback', key: KEY });
    h.advance(10_000);
    expect(await h.product('ACMEBK01')).toMatchObject({
      state: 'failed',
      keyHeld: false,
      key: null,
      error: { code: 'KEY_EXPIRED_LOCAL', nextStep: 'new-key' },
    });
    await h.controller.flushed();
    expect(h.session.data.has(SESSION_KEYS.keys)).toBe(false);
    expect(h.session.dump()).not.toContain(KEY);
    await h.controller.retry('ACMEBK01');
    expect(activateRequests(h.transport)).toHaveLength(1);
  });

  it('keeps the key only in the one storage.session entry meant for it', async () => {
    const h = setup();
    h.transport.activations.push(new HostUnavailableError('not-installed'));
    await h.controller.acceptKey(page(KEY, 'ACMEBK01'));
    await h.controller.flushed();
    expect(entriesHoldingKeyOutsideItsOwn(h.session.writes)).toEqual([]);
  });

  it('survives the service worker stopping: state and held key come back from storage.session', async () => {
    const first = setup();
    first.transport.activations.push(new HostUnavailableError('not-installed'));
    await first.controller.acceptKey(page(KEY, 'ACMEBK01'));
    await first.controller.flushed();

    const second = setup({ session: first.session, clock: { now: T0 + 60_000 } });
    expect(await second.product('ACMEBK01')).toMatchObject({ state: 'fallback', key: KEY });
    expect(second.badges.at(-1)!.text).toBe('!');
    // The restored controller still knows the key was seen.
    expect(await second.controller.acceptKey(page(KEY, 'ACMEBK01'))).toBe('repeat');

    const late = setup({ session: first.session, clock: { now: T0 + ACTIVATION_KEY_LIFETIME_MS } });
    expect(await late.product('ACMEBK01')).toMatchObject({ state: 'failed', key: null, keyHeld: false });
    await late.controller.flushed();
    expect(first.session.dump()).not.toContain(KEY);
  });

  it('an activation cut short by the worker stopping comes back as interrupted, with Retry', async () => {
    const session = new MemorySession();
    const transport = new FakeTransport();
    transport.activations.push('hang');
    const first = setup({ session, transport });
    void first.controller.acceptKey(page(KEY, 'ACMEBK01'));
    while (activateRequests(transport).length === 0) await new Promise((r) => setTimeout(r, 5));
    await first.controller.flushed();
    const second = setup({ session });
    expect(await second.product('ACMEBK01')).toMatchObject({
      state: 'failed',
      keyHeld: true,
      error: { code: 'INTERRUPTED', nextStep: 'retry' },
    });
  });

  it('without a product code: one configured product is assumed; with several, the host names it', async () => {
    const single = setup({ products: [PRODUCTS[0]!] });
    single.transport.activations.push(activated());
    await single.controller.acceptKey(page(KEY));
    expect(activateRequests(single.transport)[0]!.productCode).toBe('ACMEBK01');

    const several = setup();
    several.transport.activations.push(
      hostError('ALREADY_ACTIVATED', { product: { code: 'ACMEPV02', name: 'Acme Photo Vault' } }),
    );
    await several.controller.acceptKey(page(KEY));
    expect(activateRequests(several.transport)[0]!.productCode).toBeUndefined();
    const state = await several.controller.snapshot();
    expect(state.products.map((p) => [p.code, p.state])).toEqual([
      ['ACMEBK01', 'not-activated'],
      ['ACMEPV02', 'confirm-replace'],
    ]);
    several.transport.activations.push(activated('ACMEPV02', 'Acme Photo Vault'));
    await several.controller.confirmReplace('ACMEPV02');
    expect(activateRequests(several.transport)[1]).toMatchObject({ productCode: 'ACMEPV02', replace: true });
  });

  it('an unknown product stays visible as such until the host names it', async () => {
    const h = setup();
    h.transport.activations.push(new HostUnavailableError('not-installed'));
    await h.controller.acceptKey(page(KEY));
    const row = await h.product(null);
    expect(row).toMatchObject({ code: null, name: 'Product not yet known', state: 'fallback', key: KEY });
  });

  it('refuses keys for products it does not manage, and says so', async () => {
    const h = setup();
    expect(await h.controller.acceptKey(page(KEY, 'OTHER99'))).toBe('unknown-product');
    expect(h.transport.requests).toEqual([]);
    expect((await h.controller.snapshot()).notice).toMatchObject({ kind: 'unknown-product' });
  });

  it('does not send a key captured over an hour ago', async () => {
    const h = setup();
    expect(await h.controller.acceptKey({ ...page(), capturedAt: T0 - ACTIVATION_KEY_LIFETIME_MS - 1 })).toBe(
      'too-old',
    );
    expect(h.transport.requests).toEqual([]);
  });

  it('a different key for a product waiting for confirmation starts over', async () => {
    const h = setup();
    h.transport.activations.push(hostError('ALREADY_ACTIVATED'), hostError('ALREADY_ACTIVATED'));
    await h.controller.acceptKey(page(KEY, 'ACMEBK01'));
    await h.controller.acceptKey(page(OTHER_KEY, 'ACMEBK01'));
    expect(activateRequests(h.transport).map((r) => [r.key, r.replace])).toEqual([
      [KEY, false],
      [OTHER_KEY, false],
    ]);
    await h.controller.flushed();
    expect(h.session.dump()).not.toContain(KEY);
    expect(h.session.dump()).toContain(OTHER_KEY);
  });

  it('reports the host and the products’ states on refresh', async () => {
    const h = setup();
    h.transport.activated.add('ACMEPV02');
    await h.controller.refreshHost();
    const state: PopupState = await h.controller.snapshot();
    expect(state.host).toEqual({ state: 'reachable', version: '0.9.1', reason: null, route: null });
    expect(state.products.map((p) => [p.code, p.state, p.accessKeyId])).toEqual([
      ['ACMEBK01', 'not-activated', null],
      ['ACMEPV02', 'activated', 'AKIA************WXYZ'],
    ]);
    h.transport.unavailable = new HostUnavailableError('not-installed');
    await h.controller.refreshHost();
    expect((await h.controller.snapshot()).host).toEqual({
      state: 'unreachable',
      version: null,
      reason: 'not-installed',
      route: null,
    });
  });

  it('every host error code is handled with a next step', async () => {
    const codes: ErrorCode[] = [
      'BUSY',
      'KEYCHAIN_LOCKED',
      'KEYCHAIN_UNAVAILABLE',
      'STORAGE_FAILED',
      'VENDOR_CONFIGURATION',
      'CALLER_NOT_ALLOWED',
      'BAD_MESSAGE',
      'INTERNAL',
    ];
    for (const code of codes) {
      const h = setup();
      h.transport.activations.push(hostError(code));
      await h.controller.acceptKey(page(KEY, 'ACMEBK01'));
      const row = await h.product('ACMEBK01');
      expect(['failed', 'fallback'], code).toContain(row.state);
      expect(row.error?.nextStep, code).not.toBe('none');
      expect(row.keyHeld, code).toBe(true);
    }
  });

  describe('a key only a link gave (the vendor’s redirect URL, which anyone can craft)', () => {
    it('is held, not sent: the popup and the badge ask the customer', async () => {
      const h = setup();
      expect(await h.controller.acceptKey(link(KEY, 'ACMEBK01'))).toBe('held');
      expect(activateRequests(h.transport)).toEqual([]);
      expect(await h.product('ACMEBK01')).toMatchObject({
        state: 'confirm-key',
        keyHeld: true,
        key: null,
        error: null,
      });
      expect(h.badges.at(-1)).toEqual({ text: '!', title: 'Acme Backup: action needed. Open to see what to do.' });
      expect(h.notifications.at(-1)).toMatchObject({ title: 'Acme Backup: action needed' });
      expect(JSON.stringify(h.notifications)).not.toContain(KEY);
      // Held like any key: only in the storage.session entry meant for it.
      await h.controller.flushed();
      expect(h.session.data.get(SESSION_KEYS.keys)).toEqual({
        ACMEBK01: {
          key: KEY,
          capturedAt: T0 - 5_000,
          pageUrl: 'https://vendor.devpay.test/welcome',
          keySource: 'redirect-url',
        },
      });
      expect(entriesHoldingKeyOutsideItsOwn(h.session.writes)).toEqual([]);
    });

    it('is sent once the customer confirms, with the product code; the usual flow follows', async () => {
      const h = setup();
      await h.controller.acceptKey(link(KEY, 'ACMEBK01'));
      // Answers meant for the other question do nothing.
      await h.controller.confirmReplace('ACMEBK01');
      await h.controller.cancelReplace('ACMEBK01');
      expect(activateRequests(h.transport)).toEqual([]);

      h.transport.activations.push(hostError('ALREADY_ACTIVATED'), activated());
      await h.controller.confirmKey('ACMEBK01');
      // Confirmed by the customer, it is still a redirect URL's key for the host (a pending reactivation does not cover it).
      expect(activateRequests(h.transport)).toEqual([
        expect.objectContaining({ key: KEY, productCode: 'ACMEBK01', replace: false, keySource: 'redirect-url' }),
      ]);
      // Already activated: replacing still needs its own confirmation, and confirming the key again does nothing.
      expect(await h.product('ACMEBK01')).toMatchObject({ state: 'confirm-replace', keyHeld: true });
      await h.controller.confirmKey('ACMEBK01');
      expect(activateRequests(h.transport)).toHaveLength(1);
      await h.controller.confirmReplace('ACMEBK01');
      expect(activateRequests(h.transport).map((r) => r.replace)).toEqual([false, true]);
      expect(await h.product('ACMEBK01')).toMatchObject({ state: 'activated', keyHeld: false });
      await h.controller.flushed();
      expect(h.session.dump()).not.toContain(KEY);
    });

    it('is forgotten when the customer ignores it, and the same link does not ask again', async () => {
      const h = setup();
      await h.controller.acceptKey(link(KEY, 'ACMEBK01'));
      await h.controller.ignoreKey('ACMEBK01');
      // Back to what the host last said (it was never asked here).
      expect(await h.product('ACMEBK01')).toMatchObject({ state: 'unknown', keyHeld: false });
      await h.controller.confirmKey('ACMEBK01');
      expect(await h.controller.acceptKey(link(KEY, 'ACMEBK01'))).toBe('repeat');
      expect(activateRequests(h.transport)).toEqual([]);
      expect(h.badges.at(-1)!.text).toBe('');
      await h.controller.flushed();
      expect(h.session.dump()).not.toContain(KEY);
      expect(h.alarms.alarms.size).toBe(0);
    });

    it('unconfirmed, it is dropped at the end of its hour, in memory and in storage.session', async () => {
      const h = setup();
      await h.controller.acceptKey(link(KEY, 'ACMEBK01'));
      h.advance(ACTIVATION_KEY_LIFETIME_MS - 10_000);
      expect(await h.product('ACMEBK01')).toMatchObject({ state: 'confirm-key', keyHeld: true });
      h.advance(10_000);
      // The question lapses: no "get a new key" advice for a key that may not be the customer's.
      expect(await h.product('ACMEBK01')).toMatchObject({ state: 'unknown', keyHeld: false, error: null });
      await h.controller.confirmKey('ACMEBK01');
      expect(activateRequests(h.transport)).toEqual([]);
      await h.controller.flushed();
      expect(h.session.data.has(SESSION_KEYS.keys)).toBe(false);
      expect(h.session.dump()).not.toContain(KEY);
      expect(h.alarms.alarms.size).toBe(0);
    });

    it('a key page showing the same key later settles the question without asking', async () => {
      const h = setup();
      await h.controller.acceptKey(link(KEY, 'ACMEBK01'));
      h.transport.activations.push(activated());
      expect(await h.controller.acceptKey(page(KEY, 'ACMEBK01'))).toBe('started');
      // Sent as the key page's key, from the key page.
      expect(activateRequests(h.transport)).toEqual([
        expect.objectContaining({
          key: KEY,
          productCode: 'ACMEBK01',
          replace: false,
          keySource: 'key-page',
          pageUrl: page().pageUrl,
        }),
      ]);
      expect(await h.product('ACMEBK01')).toMatchObject({ state: 'activated' });
      // The link again is only a repeat.
      expect(await h.controller.acceptKey(link(KEY, 'ACMEBK01'))).toBe('repeat');
    });

    it('a key page’s own key for the product replaces a key still waiting to be confirmed', async () => {
      const h = setup();
      await h.controller.acceptKey(link(OTHER_KEY, 'ACMEBK01'));
      h.transport.activations.push(activated());
      expect(await h.controller.acceptKey(page(KEY, 'ACMEBK01'))).toBe('started');
      expect(activateRequests(h.transport).map((r) => r.key)).toEqual([KEY]);
      await h.controller.flushed();
      expect(h.session.dump()).not.toContain(OTHER_KEY);
    });

    it('never pushes aside a key the customer is already dealing with', async () => {
      const h = setup();
      h.transport.activations.push(new HostUnavailableError('not-installed'));
      await h.controller.acceptKey(page(KEY, 'ACMEBK01'));
      expect(await h.controller.acceptKey(link(OTHER_KEY, 'ACMEBK01'))).toBe('busy');
      expect(await h.product('ACMEBK01')).toMatchObject({ state: 'fallback', key: KEY });
    });

    it('without a product code, the popup still asks, under "product not yet known"', async () => {
      const h = setup();
      expect(await h.controller.acceptKey(link(KEY))).toBe('held');
      expect(await h.product(null)).toMatchObject({ state: 'confirm-key', name: 'Product not yet known', key: null });
      h.transport.activations.push(activated());
      await h.controller.confirmKey(null);
      expect(activateRequests(h.transport)[0]!.productCode).toBeUndefined();
      expect(await h.product('ACMEBK01')).toMatchObject({ state: 'activated' });
    });

    it('the question survives the service worker stopping', async () => {
      const first = setup();
      await first.controller.acceptKey(link(KEY, 'ACMEBK01'));
      await first.controller.flushed();
      const second = setup({ session: first.session, clock: { now: T0 + 60_000 } });
      expect(await second.product('ACMEBK01')).toMatchObject({ state: 'confirm-key', keyHeld: true, key: null });
      expect(second.badges.at(-1)!.text).toBe('!');
      second.transport.activations.push(activated());
      await second.controller.confirmKey('ACMEBK01');
      expect(activateRequests(second.transport)).toEqual([
        expect.objectContaining({ key: KEY, productCode: 'ACMEBK01' }),
      ]);
    });
  });

  describe('which way the key went', () => {
    it('through the loopback channel: the product and the host say so, and it survives the worker stopping', async () => {
      const h = setup();
      h.transport.route = 'loopback';
      h.transport.activations.push(activated());
      await h.controller.acceptKey(page(KEY, 'ACMEBK01'));
      expect(await h.product('ACMEBK01')).toMatchObject({ state: 'activated', route: 'loopback' });
      expect(await h.product('ACMEPV02')).toMatchObject({ route: null });
      expect((await h.controller.snapshot()).host).toEqual({
        state: 'reachable',
        version: '0.9.1',
        reason: null,
        route: 'loopback',
      });
      await h.controller.flushed();

      const again = setup({ session: h.session, transport: h.transport });
      expect(await again.product('ACMEBK01')).toMatchObject({ state: 'activated', route: 'loopback' });
    });

    it('through native messaging', async () => {
      const h = setup();
      h.transport.route = 'native';
      h.transport.activations.push(activated());
      await h.controller.acceptKey(page(KEY, 'ACMEBK01'));
      expect(await h.product('ACMEBK01')).toMatchObject({ state: 'activated', route: 'native' });
      expect((await h.controller.snapshot()).host.route).toBe('native');
    });

    it('neither way: copy and paste, and the host has no route', async () => {
      const h = setup();
      h.transport.activations.push(new HostUnavailableError('not-installed'));
      await h.controller.acceptKey(page(KEY, 'ACMEBK01'));
      expect(await h.product('ACMEBK01')).toMatchObject({ state: 'fallback', route: 'paste', key: KEY });
      expect((await h.controller.snapshot()).host).toMatchObject({ state: 'unreachable', route: null });
    });

    it('a refused key says which way the host answered', async () => {
      const h = setup();
      h.transport.route = 'loopback';
      h.transport.activations.push(hostError('EXPIRED_KEY'));
      await h.controller.acceptKey(page(KEY, 'ACMEBK01'));
      expect(await h.product('ACMEBK01')).toMatchObject({ state: 'failed', route: 'loopback' });
    });

    it('is forgotten once the host says the product is no longer activated', async () => {
      const h = setup();
      h.transport.route = 'native';
      h.transport.activations.push(activated());
      await h.controller.acceptKey(page(KEY, 'ACMEBK01'));
      h.transport.activated.delete('ACMEBK01');
      await h.controller.refreshHost();
      expect(await h.product('ACMEBK01')).toMatchObject({ state: 'not-activated', route: null });
    });
  });

  describe('key expiry by alarm', () => {
    const ALARM = `${KEY_EXPIRY_ALARM_PREFIX}ACMEBK01`;

    it('sets an alarm at the end of the key’s hour, and clears it once the key is used', async () => {
      const h = setup();
      h.transport.activations.push(new HostUnavailableError('not-installed'), activated());
      await h.controller.acceptKey(page(KEY, 'ACMEBK01'));
      expect([...h.alarms.alarms]).toEqual([[ALARM, page().capturedAt + ACTIVATION_KEY_LIFETIME_MS]]);
      await h.controller.retry('ACMEBK01');
      expect(h.alarms.alarms.size).toBe(0);
    });

    it('a stopped worker woken by the alarm drops the key and tells the popup', async () => {
      const session = new MemorySession();
      const alarms = new FakeAlarms();
      const first = setup({ session, alarms });
      first.transport.activations.push(new HostUnavailableError('not-installed'));
      await first.controller.acceptKey(page(KEY, 'ACMEBK01'));
      await first.controller.flushed();
      // The worker wakes once for the popup, then stops: its timers die with it, the alarm stays.
      const popupWake = setup({ session, alarms, clock: { now: T0 + 10 * 60_000 } });
      expect(await popupWake.product('ACMEBK01')).toMatchObject({ state: 'fallback', key: KEY });
      await popupWake.controller.flushed();
      expect(session.dump()).toContain(KEY);

      // The alarm goes off at the key's expiry: the browser starts the worker and hands it the alarm.
      const when = alarms.alarms.get(ALARM)!;
      const woken = setup({ session, alarms, clock: { now: when } });
      expect(await woken.controller.handleAlarm(ALARM)).toBe(true);
      expect(await woken.product('ACMEBK01')).toMatchObject({
        state: 'failed',
        keyHeld: false,
        key: null,
        error: { code: 'KEY_EXPIRED_LOCAL', nextStep: 'new-key' },
      });
      await woken.controller.flushed();
      expect(woken.changes.count).toBeGreaterThan(0);
      expect(session.dump()).not.toContain(KEY);
      expect(session.data.has(SESSION_KEYS.keys)).toBe(false);
      expect(alarms.alarms.size).toBe(0);
    });

    it('in a running worker whose timer was lost, the alarm drops the key', async () => {
      const h = setup();
      h.transport.activations.push(new HostUnavailableError('not-installed'));
      await h.controller.acceptKey(page(KEY, 'ACMEBK01'));
      await h.controller.flushed();
      await Promise.resolve();
      const before = h.changes.count;
      // The clock moves on without the timers running.
      h.clock.now = h.alarms.alarms.get(ALARM)!;
      expect(await h.controller.handleAlarm(ALARM)).toBe(true);
      expect(await h.product('ACMEBK01')).toMatchObject({
        state: 'failed',
        keyHeld: false,
        error: { code: 'KEY_EXPIRED_LOCAL' },
      });
      await h.controller.flushed();
      expect(h.changes.count).toBeGreaterThan(before);
      expect(h.session.dump()).not.toContain(KEY);
    });

    it('an early alarm keeps the key and sets itself again; other alarms are not ours', async () => {
      const h = setup();
      h.transport.activations.push(new HostUnavailableError('not-installed'));
      await h.controller.acceptKey(page(KEY, 'ACMEBK01'));
      h.alarms.alarms.clear();
      expect(await h.controller.handleAlarm(ALARM)).toBe(true);
      expect(await h.product('ACMEBK01')).toMatchObject({ state: 'fallback', key: KEY });
      expect(h.alarms.alarms.get(ALARM)).toBe(page().capturedAt + ACTIVATION_KEY_LIFETIME_MS);
      expect(await h.controller.handleAlarm('something-else')).toBe(false);
    });
  });
});

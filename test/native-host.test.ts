/**
 * The host as a browser runs it: the built bundle started with the caller on its
 * command line, frames over real pipes, against the License Service simulator
 * (real HTTPS) and a real gnome-keyring on a private bus.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import * as v from 'valibot';
import { beforeAll, describe, expect, it } from 'vitest';
import { maskIdentifier } from '../shared/activation-key.ts';
import type { VendorConfig } from '../shared/config.ts';
import { MAX_INBOUND_MESSAGE_BYTES, ReplySchema } from '../shared/messages.ts';
import { keychainAccount } from '../native-host/store/credential-store.ts';
import { keychainServiceName } from '../native-host/store/keychain.ts';
import {
  assertBundleBuilt,
  DEMO_CHROMIUM_ID,
  DEMO_FIREFOX_ID,
  findSecrets,
  frame,
  lengthPrefix,
  NativeHostProcess,
  parseFrames,
  runCli,
} from './machine/companion.ts';
import { startKeyring, type Keyring } from './machine/keyring.ts';
import { useTestServices, type TestCase } from './helpers/test-services.ts';
import type { Simulator } from './simulator/server.ts';
import { anyString, stringContaining, stringMatching } from './helpers/matchers.ts';

let keyring: Keyring;
let sim: Simulator;
let demo: VendorConfig;

type Setup = TestCase;

function fresh(extra: Record<string, string | undefined> = {}): Promise<Setup> {
  return services.newCase(extra);
}

function allSecrets(): string[] {
  return [...sim.mintedKeys(), ...sim.issued.flatMap((s) => [s.accessKeyId, s.secretAccessKey, s.userToken])];
}

/** After every activation: neither the key nor a credential in the data folder (files, logs), stderr or stdout. */
async function expectNothingLeaked(setup: Setup, host: NativeHostProcess): Promise<void> {
  expect(
    await findSecrets(allSecrets(), { dirs: [setup.dataDir], texts: { stderr: host.stderr, stdout: host.stdout } }),
  ).toEqual([]);
}

function expectValidReply(reply: unknown): void {
  const parsed = v.safeParse(ReplySchema, reply);
  expect(parsed.success, JSON.stringify(reply)).toBe(true);
}

async function storedSet(setup: Setup, code: string) {
  const result = await runCli(['credentials', '--product', code], { env: setup.env });
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as { AccessKeyId: string; SecretAccessKey: string; UserToken: string };
}

assertBundleBuilt();
const services = useTestServices('nm');
beforeAll(() => {
  ({ keyring, sim, demo } = services);
});

describe('native messaging transport', () => {
  it('answers the handshake and status; stdout holds nothing but frames; exits 0 at end of input', async () => {
    const setup = await fresh();
    const host = NativeHostProcess.chromium(setup.env);
    const hello = await host.request({ type: 'hello', id: 'h1', protocol: 1, client: 'test' });
    expectValidReply(hello);
    expect(hello).toMatchObject({
      type: 'hello',
      id: 'h1',
      protocol: 1,
      hostVersion: anyString(),
      products: [
        { code: 'ACMEBK01', name: 'Acme Backup' },
        { code: 'ACMEPV02', name: 'Acme Photo Vault' },
      ],
      activateUrl: demo.activateUrl,
    });
    const status = await host.request({ type: 'status', id: 's1' });
    expectValidReply(status);
    expect(status).toMatchObject({
      type: 'status',
      id: 's1',
      products: [
        { code: 'ACMEBK01', activated: false, state: 'not-activated' },
        { code: 'ACMEPV02', activated: false },
      ],
    });
    const mismatch = await host.request({ type: 'hello', id: 'h2', protocol: 2 });
    expect(mismatch).toMatchObject({ type: 'error', id: 'h2', code: 'PROTOCOL_MISMATCH' });
    expect(await host.close()).toEqual({ code: 0, signal: null });
    expect(parseFrames(host.stdout)).toHaveLength(3);
  });

  it('serves a Firefox caller (manifest path and add-on ID)', async () => {
    const setup = await fresh();
    const host = new NativeHostProcess(
      ['/usr/lib/mozilla/native-messaging-hosts/com.acme_demo.devpay_companion.json', DEMO_FIREFOX_ID],
      setup.env,
    );
    expect(await host.request({ type: 'status', id: 'ff' })).toMatchObject({ type: 'status', id: 'ff' });
    expect((await host.close()).code).toBe(0);
  });

  it('refuses callers that are not in the vendor configuration, then exits', async () => {
    const setup = await fresh();
    const callers = [
      ['chrome-extension://abcdefghijklmnopabcdefghijklmnop/'],
      ['/home/x/.mozilla/native-messaging-hosts/com.acme_demo.devpay_companion.json', 'evil@example.com'],
      [`chrome-extension://${DEMO_CHROMIUM_ID}/`, '--something-else'],
    ];
    for (const args of callers) {
      const host = new NativeHostProcess(args, setup.env);
      host.send({ type: 'status', id: 'x' });
      const { code } = await host.exited;
      expect(code).not.toBe(0);
      const frames = parseFrames(host.stdout);
      expect(frames).toEqual([
        { type: 'error', id: null, code: 'CALLER_NOT_ALLOWED', message: stringContaining('Acme Software') },
      ]);
    }
    // On Windows Chromium adds --parent-window=N: still the allowed extension.
    const windows = new NativeHostProcess([`chrome-extension://${DEMO_CHROMIUM_ID}/`, '--parent-window=0'], setup.env);
    expect(await windows.request({ type: 'status', id: 'w' })).toMatchObject({ type: 'status' });
    await windows.close();
  });

  it('answers bad JSON, unknown types, extra fields and wrong types with error replies, and keeps serving', async () => {
    const setup = await fresh();
    const host = NativeHostProcess.chromium(setup.env);
    const body = Buffer.from('{"type":"status",', 'utf8');
    host.writeRaw(Buffer.concat([lengthPrefix(body.length), body]));
    const badJson = await host.next();
    expect(badJson).toMatchObject({ type: 'error', id: null, code: 'BAD_MESSAGE' });
    const cases: [unknown, Record<string, unknown>][] = [
      [
        { type: 'launchMissiles', id: 'u1' },
        { id: 'u1', code: 'UNKNOWN_TYPE' },
      ],
      [
        { type: 'status', id: 'e1', extra: true },
        { id: 'e1', code: 'BAD_MESSAGE' },
      ],
      [
        { type: 'activate', id: 'w1', key: 'ABCDEFGHIJKLMNOPQRSTUVWXYZ12', capturedAt: 'yesterday' },
        { id: 'w1', code: 'BAD_MESSAGE' },
      ],
      [
        { type: 'activate', id: 'w2', key: 42, capturedAt: Date.now() },
        { id: 'w2', code: 'BAD_MESSAGE' },
      ],
      [{ type: 'status' }, { id: null, code: 'BAD_MESSAGE' }],
      [
        { type: 'hello', id: 'x'.repeat(65), protocol: 1 },
        { id: null, code: 'BAD_MESSAGE' },
      ],
      [[1, 2, 3], { id: null, code: 'BAD_MESSAGE' }],
      [null, { id: null, code: 'BAD_MESSAGE' }],
      ['status', { id: null, code: 'BAD_MESSAGE' }],
      [
        {
          type: 'activate',
          id: 'p1',
          key: 'ABCDEFGHIJKLMNOPQRSTUVWXYZ12',
          capturedAt: Date.now(),
          productCode: '../../etc',
        },
        { id: 'p1', code: 'BAD_MESSAGE' },
      ],
    ];
    for (const [message, expected] of cases) {
      const reply = await host.request(message as Record<string, unknown>);
      expectValidReply(reply);
      expect(reply).toMatchObject({ type: 'error', ...expected });
    }
    expect(await host.request({ type: 'status', id: 'still-here' })).toMatchObject({
      type: 'status',
      id: 'still-here',
    });
    expect((await host.close()).code).toBe(0);
    expect(host.stderr).not.toMatch(/\n\s+at /); // no stack traces
  });

  it('reassembles a frame split across writes (prefix included) and reads several frames from one write', async () => {
    const setup = await fresh();
    const host = NativeHostProcess.chromium(setup.env);
    const f = frame({ type: 'status', id: 'split' });
    host.writeRaw(f.subarray(0, 2));
    await new Promise((r) => setTimeout(r, 50));
    host.writeRaw(f.subarray(2, 7));
    await new Promise((r) => setTimeout(r, 50));
    host.writeRaw(f.subarray(7));
    expect(await host.next()).toMatchObject({ id: 'split' });
    host.writeRaw(
      Buffer.concat([
        frame({ type: 'status', id: 'a' }),
        frame({ type: 'hello', id: 'b', protocol: 1 }),
        frame({ type: 'status', id: 'c' }),
      ]),
    );
    const ids = [(await host.next()).id, (await host.next()).id, (await host.next()).id];
    // Three replies, one per request, in any order.
    expect(new Set(ids)).toEqual(new Set(['a', 'b', 'c']));
    expect((await host.close()).code).toBe(0);
  });

  it('flushes every reply before exiting when input ends at once', async () => {
    const setup = await fresh();
    const host = NativeHostProcess.chromium(setup.env);
    host.writeRaw(Buffer.concat(Array.from({ length: 6 }, (_, i) => frame({ type: 'status', id: `q${i}` }))));
    host.end();
    expect((await host.exited).code).toBe(0);
    expect(
      parseFrames(host.stdout)
        .map((r) => (r as { id: string }).id)
        .sort(),
    ).toEqual(['q0', 'q1', 'q2', 'q3', 'q4', 'q5']);
  });

  it('refuses a zero length, and an oversize length before its body arrives, then exits', async () => {
    const setup = await fresh();
    const zero = NativeHostProcess.chromium(setup.env);
    zero.writeRaw(lengthPrefix(0));
    expect(await zero.next()).toMatchObject({
      type: 'error',
      id: null,
      code: 'BAD_MESSAGE',
      message: stringMatching(/length 0/),
    });
    expect((await zero.exited).code).toBe(1);

    const big = NativeHostProcess.chromium(setup.env);
    big.writeRaw(lengthPrefix(MAX_INBOUND_MESSAGE_BYTES + 1)); // stdin stays open, no body sent
    expect(await big.next()).toMatchObject({
      type: 'error',
      code: 'BAD_MESSAGE',
      message: stringMatching(/65537 bytes/),
    });
    expect((await big.exited).code).toBe(1);
    expect(big.stderr).toMatch(/frame-too-large/);
  });

  it('reports a truncated frame when input ends mid-message', async () => {
    const setup = await fresh();
    const host = NativeHostProcess.chromium(setup.env);
    const f = frame({ type: 'status', id: 'cut' });
    host.writeRaw(f.subarray(0, f.length - 3));
    host.end();
    expect((await host.exited).code).toBe(1);
    expect(host.stderr).toMatch(/input ended inside a frame/);
    expect(host.stdout.length).toBe(0);
  });
});

describe('activation over native messaging', () => {
  it('activates with the product code, replies with a masked id, and stores a set only the keychain key opens', async () => {
    const setup = await fresh();
    const host = NativeHostProcess.chromium(setup.env);
    const key = sim.purchase('ACMEBK01');
    const reply = await host.request({
      type: 'activate',
      id: 'a1',
      key: ` ${key}\n`,
      productCode: 'ACMEBK01',
      pageUrl: `https://vendor.devpay.test/welcome?ActivationKey=${key}&ProductCode=ACMEBK01`,
      capturedAt: Date.now(),
    });
    expectValidReply(reply);
    const issued = sim.issued.at(-1)!;
    expect(reply).toEqual({
      type: 'activated',
      id: 'a1',
      product: { code: 'ACMEBK01', name: 'Acme Backup' },
      accessKeyId: maskIdentifier(issued.accessKeyId),
      activatedAt: anyString(),
      replaced: false,
    });
    expect(issued.productCode).toBe('ACMEBK01');
    const status = await host.request({ type: 'status', id: 's' });
    expect(status).toMatchObject({
      products: [
        { code: 'ACMEBK01', activated: true, state: 'activated', accessKeyId: maskIdentifier(issued.accessKeyId) },
        { code: 'ACMEPV02', activated: false },
      ],
    });
    expect((await host.close()).code).toBe(0);

    const file = join(setup.dataDir, 'credentials', 'ACMEBK01.cred');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(join(setup.dataDir, 'credentials'))).mode & 0o777).toBe(0o700);
    expect(await storedSet(setup, 'ACMEBK01')).toMatchObject({
      AccessKeyId: issued.accessKeyId,
      SecretAccessKey: issued.secretAccessKey,
      UserToken: issued.userToken,
    });
    // The host's own log file is there, 0600, and (like everything else) holds no secret.
    expect((await stat(join(setup.dataDir, 'logs', 'host.log'))).mode & 0o777).toBe(0o600);
    expect(await readFile(join(setup.dataDir, 'logs', 'host.log'), 'utf8')).toContain(
      'page="https://vendor.devpay.test"',
    );
    await expectNothingLeaked(setup, host);
  });

  it('asks before replacing: ALREADY_ACTIVATED without calling the License Service, then replaces on replace:true', async () => {
    const setup = await fresh();
    const host = NativeHostProcess.chromium(setup.env);
    const first = await host.request({
      type: 'activate',
      id: '1',
      key: sim.purchase('ACMEBK01'),
      productCode: 'ACMEBK01',
      capturedAt: Date.now(),
    });
    expect(first).toMatchObject({ type: 'activated', replaced: false });
    const firstSet = sim.issued.at(-1)!;

    const requestsBefore = sim.requests.length;
    const again = await host.request({
      type: 'activate',
      id: '2',
      key: sim.purchase('ACMEBK01'),
      productCode: 'ACMEBK01',
      capturedAt: Date.now(),
    });
    expectValidReply(again);
    expect(again).toMatchObject({
      type: 'error',
      id: '2',
      code: 'ALREADY_ACTIVATED',
      product: { code: 'ACMEBK01', name: 'Acme Backup' },
    });
    expect(sim.requests.length).toBe(requestsBefore);
    expect((await storedSet(setup, 'ACMEBK01')).AccessKeyId).toBe(firstSet.accessKeyId);

    const replaced = await host.request({
      type: 'activate',
      id: '3',
      key: sim.purchase('ACMEBK01'),
      productCode: 'ACMEBK01',
      capturedAt: Date.now(),
      replace: true,
    });
    expect(replaced).toMatchObject({ type: 'activated', replaced: true });
    const secondSet = sim.issued.at(-1)!;
    expect((await storedSet(setup, 'ACMEBK01')).AccessKeyId).toBe(secondSet.accessKeyId);
    await host.close();
    await expectNothingLeaked(setup, host);
  });

  it('without a product code, tries each product token in turn, moving on only on IncorrectActivationKey', async () => {
    const setup = await fresh();
    const host = NativeHostProcess.chromium(setup.env);
    const before = sim.requests.length;
    const reply = await host.request({
      type: 'activate',
      id: 't1',
      key: sim.purchase('ACMEPV02'),
      capturedAt: Date.now(),
    });
    expect(reply).toMatchObject({
      type: 'activated',
      product: { code: 'ACMEPV02', name: 'Acme Photo Vault' },
      replaced: false,
    });
    expect(sim.requests.length - before).toBe(2); // ACMEBK01's token refused as IncorrectActivationKey, then ACMEPV02's
    const kept = sim.issued.at(-1)!;

    // Found by trying tokens and already activated: the new set is discarded, the customer is asked.
    const again = await host.request({
      type: 'activate',
      id: 't2',
      key: sim.purchase('ACMEPV02'),
      capturedAt: Date.now(),
    });
    expect(again).toMatchObject({ type: 'error', code: 'ALREADY_ACTIVATED', product: { code: 'ACMEPV02' } });
    expect((await storedSet(setup, 'ACMEPV02')).AccessKeyId).toBe(kept.accessKeyId);

    // A refusal other than IncorrectActivationKey stops the search at once.
    const beforeInvalid = sim.requests.length;
    const invalid = await host.request({
      type: 'activate',
      id: 't3',
      key: 'ZZZZZZZZZZZZZZZZZZZZZZZZZZZZ',
      capturedAt: Date.now(),
    });
    expect(invalid).toMatchObject({ type: 'error', code: 'INVALID_KEY', activateUrl: demo.activateUrl });
    expect(sim.requests.length - beforeInvalid).toBe(1);
    await host.close();
    await expectNothingLeaked(setup, host);
  });

  it('never sends a key captured over an hour ago, or a malformed key', async () => {
    const setup = await fresh();
    const host = NativeHostProcess.chromium(setup.env);
    const before = sim.requests.length;
    const old = await host.request({
      type: 'activate',
      id: 'o',
      key: sim.purchase('ACMEBK01'),
      productCode: 'ACMEBK01',
      capturedAt: Date.now() - 61 * 60_000,
    });
    expectValidReply(old);
    expect(old).toMatchObject({
      type: 'error',
      code: 'KEY_TOO_OLD',
      activateUrl: demo.activateUrl,
      message: stringContaining(demo.activateUrl),
    });
    const malformed = await host.request({
      type: 'activate',
      id: 'm',
      key: 'not-a-key!',
      productCode: 'ACMEBK01',
      capturedAt: Date.now(),
    });
    expect(malformed).toMatchObject({ type: 'error', code: 'MALFORMED_KEY', activateUrl: demo.activateUrl });
    const unknown = await host.request({
      type: 'activate',
      id: 'u',
      key: sim.purchase('ACMEBK01'),
      productCode: 'NOTOURS1',
      capturedAt: Date.now(),
    });
    expect(unknown).toMatchObject({ type: 'error', code: 'UNKNOWN_PRODUCT' });
    expect(sim.requests.length).toBe(before);
    await host.close();
    await expectNothingLeaked(setup, host);
  });

  it("reports the service's refusals, and a failed reactivation leaves the old file and keychain entry byte-identical", async () => {
    const setup = await fresh();
    const host = NativeHostProcess.chromium(setup.env);
    expect(
      await host.request({
        type: 'activate',
        id: '0',
        key: sim.purchase('ACMEBK01'),
        productCode: 'ACMEBK01',
        capturedAt: Date.now(),
      }),
    ).toMatchObject({ type: 'activated' });
    const file = join(setup.dataDir, 'credentials', 'ACMEBK01.cred');
    const fileBefore = await readFile(file);
    const keyBefore = await keychainEntry(setup, 'ACMEBK01');
    expect(keyBefore).toMatch(/^[A-Za-z0-9+/]{43}=$/);

    const wrongProduct = await host.request({
      type: 'activate',
      id: '1',
      key: sim.purchase('ACMEPV02'),
      productCode: 'ACMEBK01',
      capturedAt: Date.now(),
      replace: true,
    });
    expect(wrongProduct).toMatchObject({ type: 'error', code: 'INCORRECT_KEY', product: { code: 'ACMEBK01' } });
    const invalid = await host.request({
      type: 'activate',
      id: '2',
      key: 'AAAABBBBCCCCDDDDEEEEFFFFGGGG',
      productCode: 'ACMEBK01',
      capturedAt: Date.now(),
      replace: true,
    });
    expect(invalid).toMatchObject({ type: 'error', code: 'INVALID_KEY' });
    const expiring = sim.purchase('ACMEBK01');
    sim.clock.advance(61 * 60_000);
    try {
      const expired = await host.request({
        type: 'activate',
        id: '3',
        key: expiring,
        productCode: 'ACMEBK01',
        capturedAt: Date.now(),
        replace: true,
      });
      expect(expired).toMatchObject({ type: 'error', code: 'EXPIRED_KEY', activateUrl: demo.activateUrl });
    } finally {
      sim.clock.advance(-61 * 60_000);
    }
    sim.faults.add({ kind: 'error', code: 'SomethingNobodyDocumented', status: 400 });
    try {
      const bad = await host.request({
        type: 'activate',
        id: '4',
        key: sim.purchase('ACMEBK01'),
        productCode: 'ACMEBK01',
        capturedAt: Date.now(),
        replace: true,
      });
      expect(bad).toMatchObject({ type: 'error', code: 'SERVICE_BAD_ANSWER' });
    } finally {
      sim.faults.clear();
    }
    expect((await readFile(file)).equals(fileBefore)).toBe(true);
    expect(await keychainEntry(setup, 'ACMEBK01')).toBe(keyBefore);
    await host.close();
    await expectNothingLeaked(setup, host);
  });

  it('retries a throttled License Service and refuses one whose certificate is not trusted', async () => {
    const setup = await fresh();
    const host = NativeHostProcess.chromium(setup.env);
    sim.faults.add({ kind: '503' }, 2);
    expect(
      await host.request({
        type: 'activate',
        id: 'r',
        key: sim.purchase('ACMEBK01'),
        productCode: 'ACMEBK01',
        capturedAt: Date.now(),
      }),
    ).toMatchObject({ type: 'activated' });
    expect(sim.faults.pending).toBe(0);
    await host.close();

    const untrusting = NativeHostProcess.chromium({ ...setup.env, DEVPAY_CA_FILE: undefined });
    const reply = await untrusting.request({
      type: 'activate',
      id: 'u',
      key: sim.purchase('ACMEPV02'),
      productCode: 'ACMEPV02',
      capturedAt: Date.now(),
    });
    expect(reply).toMatchObject({ type: 'error', code: 'SERVICE_UNTRUSTED' });
    await untrusting.close();
    await expectNothingLeaked(setup, host);
    await expectNothingLeaked(setup, untrusting);
  });
});

describe('keychain problems', () => {
  it('no session bus, or a bus without a Secret Service: KEYCHAIN_UNAVAILABLE saying what is missing, before the key is sent', async () => {
    const busOnly = await startKeyring({ secretService: false });
    try {
      const setup = await fresh();
      const before = sim.requests.length;
      for (const [env, said] of [
        [{ ...setup.env, DBUS_SESSION_BUS_ADDRESS: undefined }, /D-Bus/],
        [{ ...setup.env, ...busOnly.env }, /No keychain \(Secret Service\) is running/],
      ] as const) {
        const host = NativeHostProcess.chromium(env);
        const started = Date.now();
        const reply = await host.request({
          type: 'activate',
          id: 'k',
          key: sim.purchase('ACMEBK01'),
          productCode: 'ACMEBK01',
          capturedAt: Date.now(),
        });
        expectValidReply(reply);
        expect(reply).toMatchObject({ type: 'error', code: 'KEYCHAIN_UNAVAILABLE', message: stringMatching(said) });
        expect(Date.now() - started).toBeLessThan(8000); // fails fast: nothing to wait for
        // Status still works while nothing is stored.
        expect(await host.request({ type: 'status', id: 's' })).toMatchObject({ type: 'status' });
        await host.close();
      }
      expect(sim.requests.length).toBe(before);
    } finally {
      await busOnly.stop();
    }
  });

  it('a keychain that never answers (a password prompt nobody sees) is cut off after 5 s; the host keeps serving', async () => {
    const own = await startKeyring();
    try {
      const setup = await fresh(own.env);
      const host = NativeHostProcess.chromium(setup.env);
      expect(await host.request({ type: 'hello', id: 'h', protocol: 1 })).toMatchObject({ type: 'hello' });
      own.pause();
      const started = Date.now();
      const reply = await host.request(
        { type: 'activate', id: 'k', key: sim.purchase('ACMEBK01'), productCode: 'ACMEBK01', capturedAt: Date.now() },
        15_000,
      );
      const took = Date.now() - started;
      expect(reply).toMatchObject({
        type: 'error',
        id: 'k',
        code: 'KEYCHAIN_LOCKED',
        message: stringContaining('did not answer within 5 s'),
      });
      expect(took).toBeGreaterThanOrEqual(4500);
      expect(took).toBeLessThan(10_000);
      expect(await host.request({ type: 'status', id: 's' })).toMatchObject({ type: 'status' });
      const closing = Date.now();
      expect((await host.close()).code).toBe(0); // a keytar call still stuck in a native thread does not keep it alive
      expect(Date.now() - closing).toBeLessThan(3000);
    } finally {
      own.resume();
      await own.stop();
    }
  });

  it('a locked keychain: KEYCHAIN_LOCKED, and stored credentials are not mistaken for unreadable', async () => {
    const own = await startKeyring();
    try {
      const setup = await fresh(own.env);
      const host = NativeHostProcess.chromium(setup.env);
      expect(
        await host.request({
          type: 'activate',
          id: '1',
          key: sim.purchase('ACMEBK01'),
          productCode: 'ACMEBK01',
          capturedAt: Date.now(),
        }),
      ).toMatchObject({ type: 'activated' });
      await host.close();
      await own.lock();
      const locked = NativeHostProcess.chromium(setup.env);
      const status = await locked.request({ type: 'status', id: 's' });
      expect(status).toMatchObject({
        type: 'error',
        code: 'KEYCHAIN_LOCKED',
        message: stringMatching(/locked.*unlock/i),
      });
      const again = await locked.request({
        type: 'activate',
        id: '2',
        key: sim.purchase('ACMEPV02'),
        productCode: 'ACMEPV02',
        capturedAt: Date.now(),
      });
      expect(again).toMatchObject({ type: 'error', code: 'KEYCHAIN_LOCKED' });
      await locked.close();
    } finally {
      await own.stop();
    }
  });
});

async function keychainEntry(setup: Setup, code: string): Promise<string | null> {
  const config = JSON.parse(await readFile(setup.configPath, 'utf8')) as VendorConfig;
  // keytar in this test process talks to the test keyring through the same bus.
  process.env.DBUS_SESSION_BUS_ADDRESS = keyring.env.DBUS_SESSION_BUS_ADDRESS;
  const keytar = (await import('keytar')).default;
  return keytar.getPassword(keychainServiceName(config.vendor.id), keychainAccount(setup.dataDir, code));
}

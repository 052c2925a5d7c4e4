/**
 * Reactivation started by the desktop product, without a browser: `check` and
 * `reactivate` from the built bundle, the host as a browser starts it (frames
 * over pipes) handing over the new key, the pending record on disk, and the
 * rule that lifts the confirmation (activate-page keys, that product, while
 * the record lasts), against the simulator and a real gnome-keyring.
 */
import { chmod, mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { maskIdentifier } from '../shared/activation-key.ts';
import { reactivate, ReactivationError } from '../native-host/api.ts';
import { keychainAccount } from '../native-host/store/credential-store.ts';
import { keychainServiceName } from '../native-host/store/keychain.ts';
import {
  assertBundleBuilt,
  findSecrets,
  HOST_BUNDLE,
  NativeHostProcess,
  runCli,
  startCli,
  type CliResult,
} from './machine/companion.ts';
import { anyString } from './helpers/matchers.ts';
import { waitFor } from './machine/wait.ts';
import { startTerminal, type Terminal } from './helpers/terminal.ts';
import { useTestServices, type TestCase } from './helpers/test-services.ts';
import type { Simulator } from './simulator/server.ts';

const BACKUP = 'ACMEBK01';
const VAULT = 'ACMEPV02';

assertBundleBuilt();
const services = useTestServices('reactivate', { keytarInThisProcess: true });
let sim: Simulator;
beforeAll(() => {
  ({ sim } = services);
});

const cli = (setup: TestCase, args: string[], input?: string): Promise<CliResult> =>
  runCli(args, { env: setup.env, timeoutMs: 60_000, ...(input !== undefined ? { input } : {}) });
const recordFile = (setup: TestCase, code: string) => join(setup.dataDir, 'reactivation', `${code}.json`);
const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

async function activated(setup: TestCase, code: string): Promise<string> {
  const result = await cli(setup, ['activate', '--product', code, '--key', '-'], `${sim.purchase(code)}\n`);
  expect(result.code, result.stderr).toBe(0);
  return accessKeyIdOf(setup, code);
}

async function accessKeyIdOf(setup: TestCase, code: string): Promise<string> {
  const result = await cli(setup, ['credentials', '--product', code]);
  expect(result.code, result.stderr).toBe(0);
  return (JSON.parse(result.stdout) as { AccessKeyId: string }).AccessKeyId;
}

/** Starts `reactivate` and resolves once its pending record is on disk. */
async function startReactivate(
  setup: TestCase,
  code: string,
  extra: string[] = [],
): Promise<{ done: Promise<CliResult> }> {
  const done = cli(setup, ['reactivate', '--product', code, '--no-open', ...extra]);
  await waitFor(() => exists(recordFile(setup, code)), { what: 'the pending record' });
  return { done };
}

async function paste(term: Terminal, key: string): Promise<null> {
  await term.type(key);
  await term.press('Enter');
  return null;
}

/** What the extension sends for a key a key page showed. */
function activateRequest(code: string, overrides: Record<string, unknown> = {}) {
  return {
    type: 'activate',
    id: `r-${Math.random().toString(36).slice(2)}`,
    key: sim.purchase(code),
    capturedAt: Date.now(),
    pageUrl: `${sim.activateUrl}?signed-in=1`,
    keySource: 'key-page',
    ...overrides,
  };
}

async function hostRequest(setup: TestCase, message: Record<string, unknown>): Promise<Record<string, unknown>> {
  const host = NativeHostProcess.chromium(setup.env);
  try {
    return await host.request(message, 30_000);
  } finally {
    await host.close();
    expect(await findSecrets(sim.mintedKeys(), { texts: { stderr: host.stderr } })).toEqual([]);
  }
}

describe('check', () => {
  it('exit 0 for a complete, readable set; exit 6 (reactivate) when it is missing, its key is gone or the file is damaged', async () => {
    const setup = await services.newCase();
    const none = await cli(setup, ['check', '--product', BACKUP, '--json']);
    expect([none.code, JSON.parse(none.stdout)]).toEqual([
      6,
      {
        product: { code: BACKUP, name: 'Acme Backup' },
        usable: false,
        problem: 'not-activated',
        accessKeyId: null,
        activatedAt: null,
      },
    ]);
    expect(none.stderr).toContain(`run devpay-companion reactivate --product ${BACKUP}`);

    const id = await activated(setup, BACKUP);
    const good = await cli(setup, ['check', '--product', BACKUP]);
    expect([good.code, good.stdout]).toEqual([
      0,
      `${BACKUP}  Acme Backup: complete and readable, Access Key ID ${maskIdentifier(id)}\n`,
    ]);

    // One part gone: the data key in the keychain.
    process.env.DBUS_SESSION_BUS_ADDRESS = services.keyring.env.DBUS_SESSION_BUS_ADDRESS;
    const keytar = (await import('keytar')).default;
    expect(
      await keytar.deletePassword(keychainServiceName(setup.vendorId), keychainAccount(setup.dataDir, BACKUP)),
    ).toBe(true);
    const noKey = await cli(setup, ['check', '--product', BACKUP, '--json']);
    expect([noKey.code, (JSON.parse(noKey.stdout) as { problem: string }).problem]).toEqual([6, 'key-missing']);

    await activated(setup, VAULT);
    // One flipped bit in the ciphertext.
    const file = join(setup.dataDir, 'credentials', `${VAULT}.cred`);
    const envelope = JSON.parse(await readFile(file, 'utf8')) as { data: string };
    const data = Buffer.from(envelope.data, 'base64');
    data[0]! ^= 0x01;
    await writeFile(file, JSON.stringify({ ...envelope, data: data.toString('base64') }));
    const damaged = await cli(setup, ['check', '--product', VAULT]);
    expect([damaged.code, damaged.stderr]).toEqual([6, expect.stringContaining('damaged or incomplete')]);

    expect((await cli(setup, ['check', '--product', 'NOSUCH01'])).code).toBe(2);
  }, 60_000);
});

describe('reactivate', () => {
  it('an activate-page key replaces a readable set with no confirmation; the command prints the masked ID and exits 0; the record goes', async () => {
    const setup = await services.newCase();
    const old = await activated(setup, BACKUP);
    const running = await startReactivate(setup, BACKUP, ['--json']);

    const record = await readFile(recordFile(setup, BACKUP), 'utf8');
    expect(Object.keys(JSON.parse(record) as object).sort()).toEqual([
      'createdAt',
      'expiresAt',
      'id',
      'productCode',
      'version',
    ]);
    expect(((await stat(recordFile(setup, BACKUP))).mode & 0o777).toString(8)).toBe('600');
    expect(((await stat(join(setup.dataDir, 'reactivation'))).mode & 0o777).toString(8)).toBe('700');
    const { expiresAt, createdAt } = JSON.parse(record) as { expiresAt: number; createdAt: number };
    expect(expiresAt - createdAt).toBe(15 * 60_000);

    const status = await hostRequest(setup, { type: 'status', id: 's1' });
    const row = (status.products as { code: string; reactivationPendingUntil: string | null }[]).find(
      (p) => p.code === BACKUP,
    )!;
    expect(row.reactivationPendingUntil).toBe(new Date(expiresAt).toISOString());

    // No product code (the activate page does not show one): the host finds it by trying each token.
    const reply = await hostRequest(setup, activateRequest(BACKUP));
    expect(reply).toMatchObject({ type: 'activated', product: { code: BACKUP }, replaced: true });

    const result = await running.done;
    expect(result.code, result.stderr).toBe(0);
    const now = await accessKeyIdOf(setup, BACKUP);
    expect(now).not.toBe(old);
    expect(JSON.parse(result.stdout)).toEqual({
      product: { code: BACKUP, name: 'Acme Backup' },
      accessKeyId: maskIdentifier(now),
      activatedAt: anyString(),
    });
    expect(await exists(recordFile(setup, BACKUP))).toBe(false);
    expect(
      await findSecrets([...sim.mintedKeys(), ...sim.issued.flatMap((s) => [s.secretAccessKey, s.userToken])], {
        dirs: [setup.dataDir],
        texts: { stdout: result.stdout, stderr: result.stderr },
      }),
    ).toEqual([]);
  }, 60_000);

  it('times out with exit 7: the old set untouched, the record gone', async () => {
    const setup = await services.newCase();
    const old = await activated(setup, BACKUP);
    const started = Date.now();
    const result = await cli(setup, ['reactivate', '--product', BACKUP, '--no-open', '--timeout', '1', '--json']);
    expect(result.code, result.stderr).toBe(7);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(JSON.parse(result.stdout)).toMatchObject({ error: { code: 'TIMED_OUT' } });
    expect(result.stderr).toContain('stored credentials are as they were');
    expect(await accessKeyIdOf(setup, BACKUP)).toBe(old);
    expect(await readdir(join(setup.dataDir, 'reactivation'))).toEqual([]);
    for (const bad of ['0', '3601', 'soon'])
      expect((await cli(setup, ['reactivate', '--product', BACKUP, '--timeout', bad])).code).toBe(2);
  }, 60_000);

  it('a pending record lifts nothing for a redirect-URL key, a key from another page, another product, or after it expired', async () => {
    const setup = await services.newCase();
    const [backup, vault] = [await activated(setup, BACKUP), await activated(setup, VAULT)];
    const first = startCli(setup.env, ['reactivate', '--product', BACKUP, '--no-open', '--timeout', '120']);
    await waitFor(() => exists(recordFile(setup, BACKUP)), { what: 'the pending record' });

    const refusals = [
      activateRequest(BACKUP, { keySource: 'redirect-url', pageUrl: `${sim.activateUrl}?x=1` }),
      activateRequest(BACKUP, {
        keySource: 'redirect-url',
        pageUrl: `https://vendor.devpay.test/welcome?ProductCode=${BACKUP}`,
      }),
      activateRequest(BACKUP, { keySource: undefined }),
      activateRequest(BACKUP, { pageUrl: 'https://aws-portal.devpay.test/gp/aws/user/subscription/confirm' }),
      activateRequest(BACKUP, { productCode: BACKUP, keySource: 'redirect-url' }),
      // A key for the other product: refused as without a record.
      activateRequest(VAULT),
    ];
    for (const request of refusals) {
      const reply = await hostRequest(setup, request);
      expect(reply, JSON.stringify({ ...request, key: '…' })).toMatchObject({
        type: 'error',
        code: 'ALREADY_ACTIVATED',
      });
    }
    expect([await accessKeyIdOf(setup, BACKUP), await accessKeyIdOf(setup, VAULT)]).toEqual([backup, vault]);
    expect(await exists(recordFile(setup, BACKUP))).toBe(true);

    // A second reactivate replaces the record (and leaves it alone when it ends); the first, interrupted, ends with 7.
    const firstId = (JSON.parse(await readFile(recordFile(setup, BACKUP), 'utf8')) as { id: string }).id;
    const second = startCli(setup.env, ['reactivate', '--product', BACKUP, '--no-open', '--timeout', '60']);
    await waitFor(
      async () => (JSON.parse(await readFile(recordFile(setup, BACKUP), 'utf8')) as { id: string }).id !== firstId,
      { what: 'the record to be replaced' },
    );
    first.child.kill('SIGTERM');
    expect((await first.done).code).toBe(7);
    expect(await exists(recordFile(setup, BACKUP))).toBe(true);
    second.child.kill('SIGTERM');
    const secondResult = await second.done;
    expect([secondResult.code, secondResult.stderr]).toEqual([7, expect.stringContaining('was cancelled')]);
    expect(await exists(recordFile(setup, BACKUP))).toBe(false);

    // An expired record lifts nothing.
    const expired = {
      version: 1,
      productCode: BACKUP,
      id: '0b7c5d5e-8c1b-4a43-9c0e-1a2b3c4d5e6f',
      createdAt: Date.now() - 120_000,
      expiresAt: Date.now() - 60_000,
    };
    await writeFile(recordFile(setup, BACKUP), JSON.stringify(expired), { mode: 0o600 });
    expect(await hostRequest(setup, activateRequest(BACKUP))).toMatchObject({
      type: 'error',
      code: 'ALREADY_ACTIVATED',
    });
    // Nor does a record claiming more than an hour (not written by the companion).
    await writeFile(
      recordFile(setup, BACKUP),
      JSON.stringify({ ...expired, createdAt: Date.now() - 1000, expiresAt: Date.now() + 2 * 3600_000 }),
    );
    expect(await hostRequest(setup, activateRequest(BACKUP))).toMatchObject({
      type: 'error',
      code: 'ALREADY_ACTIVATED',
    });
    expect(await accessKeyIdOf(setup, BACKUP)).toBe(backup);
  }, 90_000);

  it('on a terminal the paste prompt runs while it waits: a pasted key wins, or the browser’s key and the prompt goes', async () => {
    const setup = await services.newCase();
    const old = await activated(setup, BACKUP);
    for (const winner of ['paste', 'browser'] as const) {
      const term = await startTerminal(
        [process.execPath, HOST_BUNDLE, 'reactivate', '--product', BACKUP, '--no-open'],
        { env: setup.env },
      );
      try {
        const prompt = await term.waitFor('Activation key:');
        expect(prompt).toContain(`Waiting for a new key for Acme Backup. Get one at ${services.demo.activateUrl}`);
        expect(await exists(recordFile(setup, BACKUP))).toBe(true);
        const key = sim.purchase(BACKUP);
        const viaBrowser =
          winner === 'browser' ? await hostRequest(setup, activateRequest(BACKUP, { key })) : await paste(term, key);
        expect(viaBrowser).toMatchObject(winner === 'browser' ? { type: 'activated', replaced: true } : {});
        expect(await term.waitForExit()).toBe(0);
        const now = await accessKeyIdOf(setup, BACKUP);
        expect(now).not.toBe(old);
        const screen = await term.screen();
        expect(screen).toContain(`Reactivated Acme Backup (${BACKUP}).\nAccess Key ID: ${maskIdentifier(now)}`);
        expect(screen).not.toContain(key);
        expect(await exists(recordFile(setup, BACKUP))).toBe(false);
      } finally {
        await term.stop();
      }
    }
    // Ctrl+C at the prompt cancels: exit 7, the set as it was, no record left.
    const before = await accessKeyIdOf(setup, BACKUP);
    const term = await startTerminal([process.execPath, HOST_BUNDLE, 'reactivate', '--product', BACKUP, '--no-open'], {
      env: setup.env,
    });
    try {
      await term.waitFor('Activation key:');
      await term.press('C-c');
      expect(await term.waitForExit()).toBe(7);
      expect(await term.screen()).toContain('was cancelled');
    } finally {
      await term.stop();
    }
    expect(await accessKeyIdOf(setup, BACKUP)).toBe(before);
    expect(await exists(recordFile(setup, BACKUP))).toBe(false);
  }, 90_000);

  it('opens the activate page in the default browser (xdg-open here) unless --no-open', async () => {
    const setup = await services.newCase();
    const bin = join(setup.dir, 'bin');
    const opened = join(setup.dir, 'opened.txt');
    await mkdir(bin);
    await writeFile(join(bin, 'xdg-open'), `#!/bin/sh\necho "$@" >> '${opened}'\n`);
    await chmod(join(bin, 'xdg-open'), 0o755);
    const env = { ...setup.env, PATH: `${bin}:${setup.env.PATH ?? ''}` };
    const result = await runCli(['reactivate', '--product', BACKUP, '--timeout', '2'], { env, timeoutMs: 30_000 });
    expect(result.code, result.stderr).toBe(7);
    await waitFor(() => exists(opened), { what: 'xdg-open to be run' });
    expect(await readFile(opened, 'utf8')).toBe(`${services.demo.activateUrl}\n`);
  }, 60_000);
});

describe('api.ts reactivate()', () => {
  it('resolves to the new masked set once the key is handed over; rejects with ReactivationError otherwise', async () => {
    const setup = await services.newCase();
    const old = await activated(setup, BACKUP);
    const where = { config: setup.configPath, dataDir: setup.dataDir, env: setup.env, openBrowser: false };
    const waiting = reactivate(BACKUP, { ...where, timeoutMs: 60_000 });
    await waitFor(() => exists(recordFile(setup, BACKUP)), { what: 'the pending record' });
    expect(await hostRequest(setup, activateRequest(BACKUP))).toMatchObject({ type: 'activated', replaced: true });
    const set = await waiting;
    const now = await accessKeyIdOf(setup, BACKUP);
    expect(now).not.toBe(old);
    expect(set).toEqual({
      product: { code: BACKUP, name: 'Acme Backup' },
      accessKeyId: maskIdentifier(now),
      activatedAt: anyString(),
    });

    const failures: [() => Promise<unknown>, string][] = [
      [() => reactivate(BACKUP, { ...where, timeoutMs: 1000 }), 'TIMED_OUT'],
      [() => reactivate(BACKUP, { ...where, signal: AbortSignal.timeout(500) }), 'ABORTED'],
      [() => reactivate(BACKUP, { ...where, timeoutMs: 2 * 3600_000 }), 'BAD_TIMEOUT'],
      [() => reactivate('NOSUCH01', where), 'UNKNOWN_PRODUCT'],
      [() => reactivate(BACKUP, { ...where, config: join(setup.dir, 'missing.json') }), 'VENDOR_CONFIGURATION'],
    ];
    for (const [start, code] of failures) {
      const error = await start().then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ReactivationError);
      expect(error).toMatchObject({ code });
    }
    expect(await accessKeyIdOf(setup, BACKUP)).toBe(now);
    expect(await exists(recordFile(setup, BACKUP))).toBe(false);
  }, 60_000);
});

/**
 * The credential store in this process, under a real gnome-keyring on a private
 * bus (keytar connects once per process, so this file owns one keyring; the tests
 * that break the keychain come last).
 */
import { randomBytes } from 'node:crypto';
import { copyFile, mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import * as v from 'valibot';
import { beforeAll, describe, expect, it } from 'vitest';
import type { VendorConfig } from '../shared/config.ts';
import { CredentialsEventSchema, type CredentialsEvent } from '../shared/messages.ts';
import { activate, forget } from '../native-host/activation/activate.ts';
import { CredentialsError, isActivated, readCredentials } from '../native-host/api.ts';
import { loadVendorConfig } from '../native-host/settings.ts';
import { HostError } from '../native-host/errors.ts';
import { createHostServices } from '../native-host/services.ts';
import { CredentialStore, keychainAccount, type StoredCredentials } from '../native-host/store/credential-store.ts';
import { keychainServiceName, openKeychain, probeKeychain } from '../native-host/store/keychain.ts';
import { open, seal } from '../native-host/store/sealed-file.ts';
import { findSecrets } from './machine/companion.ts';
import type { Keyring } from './machine/keyring.ts';
import { useTestServices } from './helpers/test-services.ts';
import type { Simulator } from './simulator/server.ts';
import { stringContaining, stringMatching } from './helpers/matchers.ts';

let keyring: Keyring;
let sim: Simulator;
let root: string;
let demo: VendorConfig;
let counter = 0;

interface Case {
  vendorId: string;
  dataDir: string;
  configPath: string;
  store: CredentialStore;
}

async function fresh(
  options: { atomicWrite?: ConstructorParameters<typeof CredentialStore>[0]['atomicWrite']; lockWaitMs?: number } = {},
): Promise<Case> {
  counter++;
  const vendorId = `store-test-${counter}`;
  const dir = await mkdtemp(join(root, `case${counter}-`));
  const dataDir = join(dir, 'data');
  const configPath = join(dir, 'vendor-config.json');
  await writeFile(configPath, JSON.stringify({ ...demo, vendor: { ...demo.vendor, id: vendorId } }));
  const store = new CredentialStore({
    vendorId,
    dataDir,
    keychain: openKeychain(keychainServiceName(vendorId)),
    ...options,
  });
  return { vendorId, dataDir, configPath, store };
}

function credentials(): StoredCredentials {
  return {
    accessKeyId: randomBytes(10).toString('hex').toUpperCase(),
    secretAccessKey: randomBytes(30).toString('base64'),
    userToken: `{UserToken}${randomBytes(120).toString('base64')}`,
    activatedAt: new Date().toISOString(),
    requestId: 'req-1',
  };
}

const BK = { code: 'ACMEBK01', name: 'Acme Backup' };
const PV = { code: 'ACMEPV02', name: 'Acme Photo Vault' };

async function keychainValue(c: Case, code: string) {
  return openKeychain(keychainServiceName(c.vendorId)).get(keychainAccount(c.dataDir, code));
}

const services = useTestServices('store', { keytarInThisProcess: true });
beforeAll(() => {
  ({ keyring, sim, root, demo } = services);
});

describe('sealed files', () => {
  it('open only with the same data key and the same vendor and product', () => {
    const key = randomBytes(32);
    const sealed = seal(Buffer.from('secret set'), key, { vendorId: 'v', productCode: 'P1' });
    expect(open(sealed, key, { vendorId: 'v', productCode: 'P1' }).toString()).toBe('secret set');
    expect(sealed.toString()).not.toContain('secret set');
    expect(() => open(sealed, key, { vendorId: 'v', productCode: 'P2' })).toThrow(/does not decrypt/);
    expect(() => open(sealed, key, { vendorId: 'w', productCode: 'P1' })).toThrow(/does not decrypt/);
    expect(() => open(sealed, randomBytes(32), { vendorId: 'v', productCode: 'P1' })).toThrow(/does not decrypt/);
  });
});

describe('credential store under gnome-keyring', () => {
  it('keeps each product in its own 0600 file in a 0700 folder, under its own keychain key, with no secret in clear', async () => {
    const c = await fresh();
    const bk = credentials();
    const pv = credentials();
    expect(await c.store.replace('ACMEBK01', bk, { allowReplace: false, product: BK })).toEqual({ replaced: false });
    expect(await c.store.replace('ACMEPV02', pv, { allowReplace: false, product: PV })).toEqual({ replaced: false });
    expect(await c.store.read('ACMEBK01')).toEqual({ state: 'activated', credentials: bk });
    expect(await c.store.read('ACMEPV02')).toEqual({ state: 'activated', credentials: pv });

    expect((await stat(join(c.dataDir, 'credentials'))).mode & 0o777).toBe(0o700);
    for (const code of ['ACMEBK01', 'ACMEPV02']) expect((await stat(c.store.fileFor(code))).mode & 0o777).toBe(0o600);
    const keyBk = await keychainValue(c, 'ACMEBK01');
    const keyPv = await keychainValue(c, 'ACMEPV02');
    expect(Buffer.from(keyBk!, 'base64')).toHaveLength(32);
    expect(Buffer.from(keyPv!, 'base64')).toHaveLength(32);
    expect(keyBk).not.toBe(keyPv);
    expect(
      await findSecrets(
        [bk.accessKeyId, bk.secretAccessKey, bk.userToken, pv.accessKeyId, pv.secretAccessKey, pv.userToken],
        { dirs: [c.dataDir] },
      ),
    ).toEqual([]);
    expect((await readdir(join(c.dataDir, 'credentials'))).sort()).toEqual(['ACMEBK01.cred', 'ACMEPV02.cred']);
  });

  it('replacing keeps the data key (the file is never stranded) and refuses without confirmation', async () => {
    const c = await fresh();
    await c.store.replace('ACMEBK01', credentials(), { allowReplace: false, product: BK });
    const key = await keychainValue(c, 'ACMEBK01');
    const next = credentials();
    await expect(c.store.replace('ACMEBK01', next, { allowReplace: false, product: BK })).rejects.toMatchObject({
      code: 'ALREADY_ACTIVATED',
      details: { product: BK },
    });
    expect(await c.store.replace('ACMEBK01', next, { allowReplace: true, product: BK })).toEqual({ replaced: true });
    expect(await keychainValue(c, 'ACMEBK01')).toBe(key);
    expect(await c.store.read('ACMEBK01')).toEqual({ state: 'activated', credentials: next });
  });

  it('a swapped or tampered file is "credentials unreadable: reactivate", and reactivation repairs it', async () => {
    const c = await fresh();
    await c.store.replace('ACMEBK01', credentials(), { allowReplace: false, product: BK });
    await c.store.replace('ACMEPV02', credentials(), { allowReplace: false, product: PV });
    const bkFile = c.store.fileFor('ACMEBK01');
    const original = await readFile(bkFile);

    // Another product's file put in its place.
    await copyFile(c.store.fileFor('ACMEPV02'), bkFile);
    expect(await c.store.read('ACMEBK01')).toEqual({ state: 'unreadable', reason: 'file-damaged' });
    await expect(readCredentials('ACMEBK01', { config: c.configPath, dataDir: c.dataDir })).rejects.toMatchObject({
      code: 'CREDENTIALS_UNREADABLE',
      message: stringContaining('credentials unreadable: reactivate'),
    });
    expect(await isActivated('ACMEBK01', { config: c.configPath, dataDir: c.dataDir })).toBe(false);

    // One flipped bit in the ciphertext, the tag, the IV; a truncated file; not JSON at all.
    const envelope = JSON.parse(original.toString()) as Record<string, string>;
    const flip = (b64: string) => {
      const bytes = Buffer.from(b64, 'base64');
      bytes[bytes.length - 1]! ^= 1;
      return bytes.toString('base64');
    };
    for (const damaged of [
      JSON.stringify({ ...envelope, data: flip(envelope.data!) }),
      JSON.stringify({ ...envelope, tag: flip(envelope.tag!) }),
      JSON.stringify({ ...envelope, iv: flip(envelope.iv!) }),
      original.subarray(0, original.length - 20).toString(),
      'PLAIN TEXT',
    ]) {
      await writeFile(bkFile, damaged);
      expect(await c.store.read('ACMEBK01')).toEqual({ state: 'unreadable', reason: 'file-damaged' });
    }

    // Reactivation (unreadable sets are replaced without asking: nobody can use them).
    const repaired = credentials();
    expect(await c.store.replace('ACMEBK01', repaired, { allowReplace: false, product: BK })).toEqual({
      replaced: true,
    });
    expect(await readCredentials('ACMEBK01', { config: c.configPath, dataDir: c.dataDir })).toEqual({
      accessKeyId: repaired.accessKeyId,
      secretAccessKey: repaired.secretAccessKey,
      userToken: repaired.userToken,
      productToken: demo.products[0]!.productToken,
      activatedAt: repaired.activatedAt,
    });
    // The other product was never touched.
    expect((await c.store.read('ACMEPV02')).state).toBe('activated');
  });

  it('a file whose keychain key is gone is unreadable; reactivation creates a new key', async () => {
    const c = await fresh();
    await c.store.replace('ACMEBK01', credentials(), { allowReplace: false, product: BK });
    const oldKey = await keychainValue(c, 'ACMEBK01');
    await openKeychain(keychainServiceName(c.vendorId)).delete(keychainAccount(c.dataDir, 'ACMEBK01'));
    expect(await c.store.read('ACMEBK01')).toEqual({ state: 'unreadable', reason: 'key-missing' });
    const next = credentials();
    await c.store.replace('ACMEBK01', next, { allowReplace: false, product: BK });
    expect(await keychainValue(c, 'ACMEBK01')).not.toBe(oldKey);
    expect(await c.store.read('ACMEBK01')).toEqual({ state: 'activated', credentials: next });
  });

  it('a write that dies before the rename leaves the old file and key byte-identical; the debris is cleared next time', async () => {
    const c = await fresh();
    const first = credentials();
    await c.store.replace('ACMEBK01', first, { allowReplace: false, product: BK });
    const file = c.store.fileFor('ACMEBK01');
    const before = await readFile(file);
    const keyBefore = await keychainValue(c, 'ACMEBK01');

    // Simulates the process dying half-way through writing its temp file.
    const crashing = new CredentialStore({
      vendorId: c.vendorId,
      dataDir: c.dataDir,
      keychain: openKeychain(keychainServiceName(c.vendorId)),
      atomicWrite: async (path, data) => {
        await writeFile(`${path}.deadbeef`, data.subarray(0, data.length >> 1), { mode: 0o600 });
        throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
      },
    });
    await expect(
      crashing.replace('ACMEBK01', credentials(), { allowReplace: true, product: BK }),
    ).rejects.toMatchObject({ code: 'STORAGE_FAILED', message: stringContaining('ENOSPC') });
    expect((await readFile(file)).equals(before)).toBe(true);
    expect(await keychainValue(c, 'ACMEBK01')).toBe(keyBefore);
    expect(await c.store.read('ACMEBK01')).toEqual({ state: 'activated', credentials: first });
    expect(await readdir(join(c.dataDir, 'credentials'))).toContain('ACMEBK01.cred.deadbeef');

    const second = credentials();
    await c.store.replace('ACMEBK01', second, { allowReplace: true, product: BK });
    expect(await c.store.read('ACMEBK01')).toEqual({ state: 'activated', credentials: second });
    expect(await readdir(join(c.dataDir, 'credentials'))).toEqual(['ACMEBK01.cred']);
  });

  it('two activations at once do not interleave: one stores, the other is asked to confirm; with confirmation the last one wins whole', async () => {
    const c = await fresh();
    const a = credentials();
    const b = credentials();
    const results = await Promise.allSettled([
      c.store.replace('ACMEBK01', a, { allowReplace: false, product: BK }),
      c.store.replace('ACMEBK01', b, { allowReplace: false, product: BK }),
    ]);
    const fulfilled = results.filter((r) => r.status === 'fulfilled');
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(fulfilled).toHaveLength(1);
    expect(rejected).toHaveLength(1);
    expect(rejected[0]!.reason).toMatchObject({ code: 'ALREADY_ACTIVATED' });
    const winner = results[0].status === 'fulfilled' ? a : b;
    expect(await c.store.read('ACMEBK01')).toEqual({ state: 'activated', credentials: winner });

    const many = Array.from({ length: 6 }, () => credentials());
    const outcomes = await Promise.all(
      many.map((set) => c.store.replace('ACMEBK01', set, { allowReplace: true, product: BK })),
    );
    expect(outcomes.every((o) => o.replaced)).toBe(true);
    const final = await c.store.read('ACMEBK01');
    expect(final.state).toBe('activated');
    expect(many).toContainEqual((final as { credentials: StoredCredentials }).credentials);
  });

  it("says BUSY when another process holds the product's lock for too long", async () => {
    const c = await fresh({ lockWaitMs: 400 });
    await c.store.replace('ACMEBK01', credentials(), { allowReplace: false, product: BK });
    const file = c.store.fileFor('ACMEBK01');
    const release = await lockfile.lock(file, { realpath: false, lockfilePath: `${file}.lock` });
    try {
      const started = Date.now();
      await expect(
        c.store.replace('ACMEBK01', credentials(), { allowReplace: true, product: BK }),
      ).rejects.toMatchObject({ code: 'BUSY' });
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      await release();
    }
  });

  it('activation and forgetting emit credentials-changed events (stored, replaced, forgotten) without secrets', async () => {
    const c = await fresh();
    const config = await loadVendorConfig(c.configPath);
    const hostServices = await createHostServices({
      config,
      configPath: c.configPath,
      dataDir: c.dataDir,
      licenseService: sim.licenseServiceUrl,
      caFile: sim.caFile,
    });
    const events: CredentialsEvent[] = [];
    hostServices.events.on('credentials-changed', (e) => events.push(e));
    const key1 = sim.purchase('ACMEBK01');
    const out1 = await activate(hostServices, {
      key: key1,
      productCode: 'ACMEBK01',
      capturedAt: Date.now(),
      replace: false,
      source: 'cli',
    });
    expect(out1).toMatchObject({ product: BK, replaced: false });
    await expect(
      activate(hostServices, {
        key: sim.purchase('ACMEBK01'),
        productCode: 'ACMEBK01',
        capturedAt: Date.now(),
        replace: false,
        source: 'cli',
      }),
    ).rejects.toBeInstanceOf(HostError);
    await activate(hostServices, {
      key: sim.purchase('ACMEBK01'),
      productCode: 'ACMEBK01',
      capturedAt: Date.now(),
      replace: true,
      source: 'cli',
    });
    expect(await isActivated('ACMEBK01', { config: c.configPath, dataDir: c.dataDir })).toBe(true);
    await forget(hostServices, 'ACMEBK01');
    await forget(hostServices, 'ACMEBK01'); // nothing left: no event
    expect(events.map((e) => e.change)).toEqual(['stored', 'replaced', 'forgotten']);
    for (const e of events) expect(v.safeParse(CredentialsEventSchema, e).success).toBe(true);
    expect(await keychainValue(c, 'ACMEBK01')).toBeNull();
    await expect(readCredentials('ACMEBK01', { config: c.configPath, dataDir: c.dataDir })).rejects.toMatchObject({
      code: 'NOT_ACTIVATED',
    });
    const secrets = sim.issued.flatMap((s) => [s.accessKeyId, s.secretAccessKey, s.userToken]);
    expect(
      await findSecrets([key1, ...secrets], { dirs: [c.dataDir], texts: { events: JSON.stringify(events) } }),
    ).toEqual([]);
  });

  it('two data folders of one vendor keep separate data keys: forgetting in one leaves the other readable', async () => {
    const a = await fresh();
    const bDataDir = join(a.dataDir, '..', 'other-data');
    const b = {
      ...a,
      dataDir: bDataDir,
      store: new CredentialStore({
        vendorId: a.vendorId,
        dataDir: bDataDir,
        keychain: openKeychain(keychainServiceName(a.vendorId)),
      }),
    };
    const setA = credentials();
    const setB = credentials();
    await a.store.replace('ACMEBK01', setA, { allowReplace: false, product: BK });
    await b.store.replace('ACMEBK01', setB, { allowReplace: false, product: BK });
    expect(await keychainValue(a, 'ACMEBK01')).not.toBe(await keychainValue(b, 'ACMEBK01'));
    await b.store.forget('ACMEBK01');
    expect(await a.store.read('ACMEBK01')).toMatchObject({ state: 'activated', credentials: setA });
    expect(await b.store.read('ACMEBK01')).toEqual({ state: 'not-activated' });
  });

  it('trying product tokens in turn spends one time budget for the whole activation, not one per product', async () => {
    const c = await fresh();
    const config = await loadVendorConfig(c.configPath);
    const hostServices = await createHostServices(
      {
        config,
        configPath: c.configPath,
        dataDir: c.dataDir,
        licenseService: sim.licenseServiceUrl,
        caFile: sim.caFile,
      },
      { licenseService: { totalBudgetMs: 1000 } },
    );
    // A key of the second product: the first token is refused (IncorrectActivationKey) after 700 ms,
    // which leaves too little of the budget for the second one to be answered.
    const key = sim.purchase('ACMEPV02');
    sim.faults.latencyMs = 700;
    try {
      await expect(
        activate(hostServices, { key, capturedAt: Date.now(), replace: false, source: 'cli' }),
      ).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
    } finally {
      sim.faults.latencyMs = 0;
    }
    expect(await isActivated('ACMEPV02', { config: c.configPath, dataDir: c.dataDir })).toBe(false);
  });

  it('readCredentials reports unknown products and configuration errors as typed errors', async () => {
    const c = await fresh();
    await expect(readCredentials('NOPE1', { config: c.configPath, dataDir: c.dataDir })).rejects.toMatchObject({
      code: 'UNKNOWN_PRODUCT',
    });
    await expect(
      readCredentials('ACMEBK01', { config: join(root, 'missing.json'), dataDir: c.dataDir }),
    ).rejects.toBeInstanceOf(CredentialsError);
    await expect(
      readCredentials('ACMEBK01', { config: join(root, 'missing.json'), dataDir: c.dataDir }),
    ).rejects.toMatchObject({ code: 'VENDOR_CONFIGURATION' });
  });
});

// These break the keychain for the rest of the file: keep them last, in this order.
describe('keychain failures', () => {
  it('the probe writes, reads back and deletes an entry', async () => {
    expect(await probeKeychain('devpay-companion.probe-test')).toEqual({ ok: true });
    // Nothing is left behind.
    process.env.DBUS_SESSION_BUS_ADDRESS = keyring.env.DBUS_SESSION_BUS_ADDRESS;
    const keytar = (await import('keytar')).default;
    expect(await keytar.findCredentials('devpay-companion.probe-test')).toEqual([]);
  });

  it('a keychain that does not answer is cut off in time (KEYCHAIN_LOCKED), not waited for', async () => {
    const c = await fresh();
    await c.store.replace('ACMEBK01', credentials(), { allowReplace: false, product: BK });
    keyring.pause();
    try {
      const started = Date.now();
      const probe = await probeKeychain('devpay-companion.probe-test', 300);
      expect(probe).toMatchObject({ ok: false, code: 'KEYCHAIN_LOCKED', message: stringContaining('did not answer') });
      const slowStore = new CredentialStore({
        vendorId: c.vendorId,
        dataDir: c.dataDir,
        keychain: openKeychain(keychainServiceName(c.vendorId), 300),
      });
      await expect(slowStore.read('ACMEBK01')).rejects.toMatchObject({ code: 'KEYCHAIN_LOCKED' });
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      keyring.resume();
    }
  });

  it('a locked keychain is KEYCHAIN_LOCKED, never "unreadable" or "not activated"', async () => {
    const c = await fresh();
    await c.store.replace('ACMEBK01', credentials(), { allowReplace: false, product: BK });
    await keyring.lock();
    expect(await probeKeychain('devpay-companion.probe-test')).toMatchObject({ ok: false, code: 'KEYCHAIN_LOCKED' });
    await expect(c.store.read('ACMEBK01')).rejects.toMatchObject({
      code: 'KEYCHAIN_LOCKED',
      message: stringMatching(/unlock/i),
    });
    await expect(readCredentials('ACMEBK01', { config: c.configPath, dataDir: c.dataDir })).rejects.toMatchObject({
      code: 'KEYCHAIN_LOCKED',
    });
    await expect(
      c.store.replace('ACMEPV02', credentials(), { allowReplace: false, product: PV }),
    ).rejects.toMatchObject({ code: 'KEYCHAIN_LOCKED' });
    expect(await readdir(join(c.dataDir, 'credentials'))).toEqual(['ACMEBK01.cred']); // no plain-text fallback
  });

  it('no Secret Service on the bus is KEYCHAIN_UNAVAILABLE, saying to start one', async () => {
    const c = await fresh();
    await keyring.stopSecretService();
    expect(await probeKeychain('devpay-companion.probe-test')).toMatchObject({
      ok: false,
      code: 'KEYCHAIN_UNAVAILABLE',
      message: stringMatching(/Secret Service|GNOME Keyring/),
    });
    await expect(
      c.store.replace('ACMEBK01', credentials(), { allowReplace: false, product: BK }),
    ).rejects.toMatchObject({ code: 'KEYCHAIN_UNAVAILABLE' });
    await expect(stat(c.store.fileFor('ACMEBK01'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

/**
 * `devpay-companion` on the command line: the built bundle, real pipes, a real
 * pseudo-terminal for the prompt, the License Service simulator and gnome-keyring.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { maskIdentifier } from '../shared/activation-key.ts';
import { ConfigError, type VendorConfig } from '../shared/config.ts';
import { defaultDataDir, resolveSettings as resolveHostContext } from '../native-host/settings.ts';
import { HOST_VERSION } from '../native-host/version.ts';
import { keychainAccount } from '../native-host/store/credential-store.ts';
import { keychainServiceName } from '../native-host/store/keychain.ts';
import {
  assertBundleBuilt,
  DEMO_CONFIG,
  findSecrets,
  HOST_BUNDLE,
  runCli,
  type CliResult,
} from './machine/companion.ts';
import type { Keyring } from './machine/keyring.ts';
import { useTestServices, type TestCase } from './helpers/test-services.ts';
import { startTerminal } from './helpers/terminal.ts';
import type { Simulator } from './simulator/server.ts';
import { stringMatching } from './helpers/matchers.ts';

let keyring: Keyring;
let sim: Simulator;
let root: string;
let demo: VendorConfig;
const outputs: string[] = [];
/** What `credentials` printed: the credentials are its job, but never the activation key. */
const credentialOutputs: string[] = [];

type Setup = TestCase;

function fresh(extra: Record<string, string | undefined> = {}): Promise<Setup> {
  return services.newCase(extra);
}

async function cli(setup: Setup | NodeJS.ProcessEnv, args: string[], input?: string): Promise<CliResult> {
  const env = 'env' in setup ? (setup as Setup).env : setup;
  const result = await runCli(args, { env, ...(input !== undefined ? { input } : {}) });
  if (args[0] === 'credentials') credentialOutputs.push(result.stdout, result.stderr);
  else outputs.push(result.stdout, result.stderr);
  return result;
}

/** After every activation: no key or credential in the data folder or in anything the CLI printed (but `credentials`, which prints the set). */
async function expectNothingLeaked(setup: Setup): Promise<void> {
  const credentialSecrets = sim.issued.flatMap((s) => [s.accessKeyId, s.secretAccessKey, s.userToken]);
  const texts: Record<string, string> = {};
  outputs.forEach((text, i) => (texts[`output ${i}`] = text));
  expect(await findSecrets([...sim.mintedKeys(), ...credentialSecrets], { dirs: [setup.dataDir], texts })).toEqual([]);
  const credentialTexts: Record<string, string> = {};
  credentialOutputs.forEach((text, i) => (credentialTexts[`credentials output ${i}`] = text));
  expect(await findSecrets(sim.mintedKeys(), { texts: credentialTexts })).toEqual([]);
}

assertBundleBuilt();
const services = useTestServices('cli');
beforeAll(() => {
  ({ keyring, sim, root, demo } = services);
});

describe('usage and configuration', () => {
  it('documents commands, global options, environment variables and exit codes in --help; --version matches package.json', async () => {
    const setup = await fresh();
    const help = await cli(setup, ['--help']);
    expect(help.code).toBe(0);
    for (const text of [
      'activate',
      'status',
      'credentials',
      'forget',
      '--config <file>',
      '--data-dir <dir>',
      '--license-service <url>',
      '--ca-file <pem>',
      'DEVPAY_CONFIG',
      'DEVPAY_DATA_DIR',
      'DEVPAY_LICENSE_SERVICE',
      'DEVPAY_CA_FILE',
      'Exit codes:',
      '3  the key was refused',
      '5  keychain or storage',
    ]) {
      expect(help.stdout).toContain(text);
    }
    const activateHelp = await cli(setup, ['activate', '--help']);
    expect(activateHelp.stdout).toMatch(/--product <code>[\s\S]*--key <source>[\s\S]*Exit codes:/);
    const version = await cli(setup, ['--version']);
    const pkg = JSON.parse(await readFile('package.json', 'utf8')) as { version: string };
    expect(version.stdout.trim()).toBe(pkg.version);
    expect(HOST_VERSION).toBe(pkg.version);
    // The package's "bin" launcher runs the bundle.
    const viaBin = spawn(process.execPath, [resolve('native-host/bin/devpay-companion.mjs'), '--version'], {
      env: setup.env,
    });
    let binOut = '';
    viaBin.stdout.on('data', (d: Buffer) => (binOut += d.toString()));
    const [binCode] = (await once(viaBin, 'close')) as [number];
    expect([binCode, binOut.trim()]).toEqual([0, pkg.version]);
  });

  it('exits 2 on usage and configuration errors, an http:// License Service from any source included', async () => {
    const setup = await fresh();
    const httpFlag = await cli(setup, ['status', '--license-service', 'http://localhost:1/']);
    expect(httpFlag.code).toBe(2);
    expect(httpFlag.stderr).toMatch(/--license-service must start with https:\/\//);
    const httpEnv = await cli({ ...setup.env, DEVPAY_LICENSE_SERVICE: 'http://ls.example/' }, ['status']);
    expect(httpEnv.code).toBe(2);
    expect(httpEnv.stderr).toContain('DEVPAY_LICENSE_SERVICE');
    const httpConfig = join(setup.dir, 'http.json');
    await writeFile(httpConfig, JSON.stringify({ ...demo, licenseService: 'http://ls.example/' }));
    const fromConfig = await cli({ ...setup.env, DEVPAY_LICENSE_SERVICE: undefined }, [
      'status',
      '--config',
      httpConfig,
    ]);
    expect(fromConfig.code).toBe(2);
    expect(fromConfig.stderr).toMatch(/licenseService: must be an https:\/\/ URL/);

    const missing = await cli(setup, ['status', '--config', join(root, 'nope.json')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot be read \(ENOENT\)/);
    const notJson = join(setup.dir, 'bad.json');
    await writeFile(notJson, '{ "vendor": ');
    expect((await cli(setup, ['status', '--config', notJson])).stderr).toMatch(/not valid JSON/);
    expect((await cli(setup, ['status', '--ca-file', join(root, 'nope.pem')])).code).toBe(2);
    expect((await cli(setup, ['frobnicate'])).code).toBe(2);
    const noProduct = await cli(setup, ['credentials']);
    expect(noProduct.code).toBe(2);
    expect(noProduct.stderr).toMatch(/--product/);
    const unknownProduct = await cli(
      setup,
      ['activate', '--product', 'NOTOURS1', '--key', '-'],
      'ABCDEFGHIJKLMNOPQRSTUVWXYZ12',
    );
    // A key in argv is readable by every user (/proc/*/cmdline): refused before anything is read or sent.
    const inArgv = await cli(setup, ['activate', '--product', 'ACMEBK01', '--key', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ12']);
    expect(inArgv.code).toBe(2);
    expect(inArgv.stderr).toMatch(
      /Refusing an activation key on the command line[\s\S]*--key -[\s\S]*paste it at the prompt/,
    );
    expect(inArgv.stderr).not.toContain('ABCDEFGHIJKLMNOPQRSTUVWXYZ12');
    expect(unknownProduct.code).toBe(2);
    for (const r of [httpFlag, httpEnv, missing, noProduct, unknownProduct, inArgv])
      expect(r.stderr).not.toMatch(/\n\s+at /);
  }, 90_000);

  it('resolves settings from flags, then DEVPAY_* variables, then defaults', async () => {
    const other = join(root, 'other-config.json');
    await writeFile(other, JSON.stringify({ ...demo, vendor: { ...demo.vendor, id: 'other-vendor' } }));
    const env = {
      DEVPAY_CONFIG: other,
      DEVPAY_DATA_DIR: '/tmp/from-env',
      DEVPAY_LICENSE_SERVICE: 'https://env.example/',
      DEVPAY_CA_FILE: sim.caFile,
    };
    const fromEnv = await resolveHostContext({}, env);
    expect(fromEnv).toMatchObject({
      configPath: other,
      dataDir: '/tmp/from-env',
      licenseService: 'https://env.example/',
      caFile: sim.caFile,
    });
    expect(fromEnv.config.vendor.id).toBe('other-vendor');
    const fromFlags = await resolveHostContext(
      { config: DEMO_CONFIG, dataDir: '/tmp/from-flag', licenseService: 'https://flag.example:8443/' },
      env,
    );
    expect(fromFlags).toMatchObject({
      configPath: DEMO_CONFIG,
      dataDir: '/tmp/from-flag',
      licenseService: 'https://flag.example:8443/',
      caFile: sim.caFile,
    });
    const defaults = await resolveHostContext({}, {});
    expect(defaults.configPath).toBe(resolve('shared/config/demo.json')); // running from the source tree
    expect(defaults.dataDir).toBe(defaultDataDir('acme-demo'));
    expect(defaults.dataDir).toMatch(/devpay-companion[/\\]acme-demo$/);
    expect(defaults.licenseService).toBe(demo.licenseService);
    await expect(resolveHostContext({ licenseService: 'http://x/' }, {})).rejects.toBeInstanceOf(ConfigError);
  });
});

describe('activate, status, credentials, forget', () => {
  it('goes through the whole cycle without printing a secret (except `credentials`, whose job it is)', async () => {
    const setup = await fresh();
    const key = sim.purchase('ACMEBK01');
    const activated = await cli(setup, ['activate', '--product', 'ACMEBK01', '--key', '-'], key);
    expect(activated.code, activated.stderr).toBe(0);
    const issued = sim.issued.at(-1)!;
    expect(activated.stdout).toBe(
      `Activated Acme Backup (ACMEBK01).\nAccess Key ID: ${maskIdentifier(issued.accessKeyId)}\n`,
    );

    const status = await cli(setup, ['status', '--json']);
    expect(status.code).toBe(0);
    const parsed = JSON.parse(status.stdout) as { products: Record<string, unknown>[] };
    expect(parsed).toEqual({
      products: [
        {
          code: 'ACMEBK01',
          name: 'Acme Backup',
          activated: true,
          activatedAt: stringMatching(/^\d{4}-\d\d-\d\dT/),
          accessKeyId: maskIdentifier(issued.accessKeyId),
        },
        { code: 'ACMEPV02', name: 'Acme Photo Vault', activated: false, activatedAt: null, accessKeyId: null },
      ],
    });
    const text = await cli(setup, ['status']);
    expect(text.stdout).toMatch(
      /ACMEBK01 {2}Acme Backup: activated .*Access Key ID AKIA|ACMEBK01 {2}Acme Backup: activated /,
    );
    expect(text.stdout).toContain('ACMEPV02  Acme Photo Vault: not activated');

    const creds = await cli(setup, ['credentials', '--product', 'ACMEBK01']);
    expect(creds.code).toBe(0);
    const productToken = demo.products[0]!.productToken;
    expect(JSON.parse(creds.stdout)).toEqual({
      Version: 1,
      AccessKeyId: issued.accessKeyId,
      SecretAccessKey: issued.secretAccessKey,
      SessionToken: `${issued.userToken},${productToken}`,
      UserToken: issued.userToken,
      ProductToken: productToken,
    });
    await expectNothingLeaked(setup);

    process.env.DBUS_SESSION_BUS_ADDRESS = keyring.env.DBUS_SESSION_BUS_ADDRESS;
    const keytar = (await import('keytar')).default;
    const dataKey = () =>
      keytar.getPassword(keychainServiceName(setup.vendorId), keychainAccount(setup.dataDir, 'ACMEBK01'));
    expect(await dataKey()).not.toBeNull();
    const forgot = await cli(setup, ['forget', '--product', 'ACMEBK01']);
    expect(forgot.code).toBe(0);
    expect(forgot.stdout).toContain('Forgot the credentials of Acme Backup');
    await expect(stat(join(setup.dataDir, 'credentials', 'ACMEBK01.cred'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await dataKey()).toBeNull();
    const after = await cli(setup, ['credentials', '--product', 'ACMEBK01']);
    expect(after.code).toBe(1);
    expect(after.stderr).toMatch(/not activated.*devpay-companion activate --product ACMEBK01/);
    expect((await cli(setup, ['forget', '--product', 'ACMEBK01'])).stdout).toContain('had no credentials stored');
  }, 90_000);

  it("reads the key from a pipe, finds the product by its token, and replaces an existing set (the CLI is the customer's explicit act)", async () => {
    const setup = await fresh();
    const first = await cli(setup, ['activate'], `  ${sim.purchase('ACMEPV02')}  \n`);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain('Activated Acme Photo Vault (ACMEPV02).');
    const second = await cli(setup, ['activate', '--product', 'ACMEPV02'], `${sim.purchase('ACMEPV02')}\n`);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('The credentials stored before were replaced.');
    const issued = sim.issued.at(-1)!;
    expect(
      (JSON.parse((await cli(setup, ['credentials', '--product', 'ACMEPV02'])).stdout) as { AccessKeyId: string })
        .AccessKeyId,
    ).toBe(issued.accessKeyId);
    const empty = await cli(setup, ['activate'], '');
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(/No activation key given/);
    await expectNothingLeaked(setup);
  }, 90_000);

  it('prompts on a terminal, saying where the key was shown and where to get a new one, and masks what is typed', async () => {
    const setup = await fresh();
    const key = sim.purchase('ACMEBK01');
    const term = await startTerminal([process.execPath, HOST_BUNDLE, 'activate', '--product', 'ACMEBK01'], {
      env: setup.env,
    });
    try {
      const prompt = await term.waitFor('Activation key:');
      expect(prompt).toContain('Activating Acme Backup.');
      expect(prompt).toContain('top frame of your browser after the purchase');
      expect(prompt).toContain(demo.activateUrl);
      await term.type(key);
      await term.press('Enter');
      expect(await term.waitForExit()).toBe(0);
      const screen = await term.screen();
      expect(screen).toContain('Activated Acme Backup (ACMEBK01).');
      expect(screen).toContain(maskIdentifier(sim.issued.at(-1)!.accessKeyId));
      expect(screen).not.toContain(key);
      outputs.push(screen);
    } finally {
      await term.stop();
    }
    await expectNothingLeaked(setup);
  });

  it('exits 3 for a refused key, 4 when the License Service cannot be used, 5 for keychain or storage problems', async () => {
    const setup = await fresh();
    const r = async (args: string[], env: NodeJS.ProcessEnv = setup.env, input?: string) => cli(env, args, input);
    const malformed = await r(['activate', '--product', 'ACMEBK01', '--key', '-'], undefined, 'short');
    expect([malformed.code, malformed.stderr]).toEqual([3, expect.stringContaining(demo.activateUrl)]);
    const invalid = await r(
      ['activate', '--product', 'ACMEBK01', '--key', '-'],
      undefined,
      'QQQQQQQQQQQQQQQQQQQQQQQQQQQQ',
    );
    expect([invalid.code, invalid.stderr]).toEqual([3, expect.stringContaining('does not recognise')]);
    const incorrect = await r(['activate', '--product', 'ACMEBK01', '--key', '-'], undefined, sim.purchase('ACMEPV02'));
    expect([incorrect.code, incorrect.stderr]).toEqual([3, expect.stringContaining('different DevPay product')]);
    const expiring = sim.purchase('ACMEBK01');
    sim.clock.advance(61 * 60_000);
    const expired = await r(['activate', '--product', 'ACMEBK01', '--key', '-'], undefined, expiring).finally(() =>
      sim.clock.advance(-61 * 60_000),
    );
    expect([expired.code, expired.stderr]).toEqual([3, expect.stringContaining('expired')]);

    const untrusted = await r(
      ['activate', '--product', 'ACMEBK01', '--key', '-'],
      { ...setup.env, DEVPAY_CA_FILE: undefined },
      sim.purchase('ACMEBK01'),
    );
    expect([untrusted.code, untrusted.stderr]).toEqual([4, expect.stringContaining('not trusted')]);
    sim.faults.add({ kind: 'error', code: 'SomethingNobodyDocumented', status: 400 });
    const unusable = await r(
      ['activate', '--product', 'ACMEBK01', '--key', '-'],
      undefined,
      sim.purchase('ACMEBK01'),
    ).finally(() => sim.faults.clear());
    expect([unusable.code, unusable.stderr]).toEqual([4, expect.stringContaining('SomethingNobodyDocumented')]);

    const noBus = await r(
      ['activate', '--product', 'ACMEBK01', '--key', '-'],
      { ...setup.env, DBUS_SESSION_BUS_ADDRESS: undefined },
      sim.purchase('ACMEBK01'),
    );
    expect([noBus.code, noBus.stderr]).toEqual([5, expect.stringContaining('D-Bus')]);

    // A tampered file: unreadable (5) until a reactivation repairs it.
    expect(
      (await r(['activate', '--product', 'ACMEBK01', '--key', '-'], undefined, sim.purchase('ACMEBK01'))).code,
    ).toBe(0);
    const file = join(setup.dataDir, 'credentials', 'ACMEBK01.cred');
    const envelope = JSON.parse(await readFile(file, 'utf8')) as { data: string };
    envelope.data = Buffer.from(Buffer.from(envelope.data, 'base64').map((b) => b ^ 0xff)).toString('base64');
    await writeFile(file, JSON.stringify(envelope));
    const unreadable = await r(['credentials', '--product', 'ACMEBK01']);
    expect([unreadable.code, unreadable.stderr]).toEqual([
      5,
      expect.stringContaining('credentials unreadable: reactivate'),
    ]);
    expect((await r(['status'])).stdout).toContain('ACMEBK01  Acme Backup: credentials unreadable: reactivate');
    expect(
      (await r(['activate', '--product', 'ACMEBK01', '--key', '-'], undefined, sim.purchase('ACMEBK01'))).code,
    ).toBe(0);
    expect((await r(['credentials', '--product', 'ACMEBK01'])).code).toBe(0);
    await expectNothingLeaked(setup);
  }, 90_000);
});

describe('concurrency and crashes', () => {
  it('two activations at once in two processes: both finish, and the stored set is whole and is the one that replaced', async () => {
    const setup = await fresh();
    const [a, b] = await Promise.all([
      cli(setup, ['activate', '--product', 'ACMEBK01', '--key', '-'], sim.purchase('ACMEBK01')),
      cli(setup, ['activate', '--product', 'ACMEBK01', '--key', '-'], sim.purchase('ACMEBK01')),
    ]);
    expect([a.code, b.code]).toEqual([0, 0]);
    const replacedBy = [a, b].filter((r) => r.stdout.includes('were replaced'));
    expect(replacedBy).toHaveLength(1);
    const stored = JSON.parse((await cli(setup, ['credentials', '--product', 'ACMEBK01'])).stdout) as {
      AccessKeyId: string;
      SecretAccessKey: string;
    };
    expect(replacedBy[0]!.stdout).toContain(maskIdentifier(stored.AccessKeyId));
    const set = sim.issued.find((s) => s.accessKeyId === stored.AccessKeyId)!;
    expect(set.secretAccessKey).toBe(stored.SecretAccessKey);
    await expectNothingLeaked(setup);
  }, 90_000);

  it('an activation killed at any moment leaves either the old set or the new one, never a broken file', async () => {
    const setup = await fresh();
    expect((await cli(setup, ['activate', '--product', 'ACMEBK01', '--key', '-'], sim.purchase('ACMEBK01'))).code).toBe(
      0,
    );
    const delays = [80, 130, 160, 190, 230, 300];
    let sawOld = 0;
    let sawNew = 0;
    for (const delay of delays) {
      const before = JSON.parse((await cli(setup, ['credentials', '--product', 'ACMEBK01'])).stdout) as {
        AccessKeyId: string;
      };
      const key = sim.purchase('ACMEBK01');
      const issuedBefore = sim.issued.length;
      const child = spawn(process.execPath, [HOST_BUNDLE, 'activate', '--product', 'ACMEBK01', '--key', '-'], {
        env: setup.env,
        stdio: ['pipe', 'ignore', 'ignore'],
      });
      child.stdin.on('error', () => undefined);
      child.stdin.end(`${key}\n`);
      const timer = setTimeout(() => child.kill('SIGKILL'), delay);
      await once(child, 'close');
      clearTimeout(timer);
      const now = await cli(setup, ['credentials', '--product', 'ACMEBK01']);
      expect(now.code, now.stderr).toBe(0);
      const id = (JSON.parse(now.stdout) as { AccessKeyId: string }).AccessKeyId;
      const issuedNow = sim.issued.slice(issuedBefore).map((s) => s.accessKeyId);
      expect([before.AccessKeyId, ...issuedNow]).toContain(id);
      if (id === before.AccessKeyId) sawOld++;
      else sawNew++;
    }
    expect(sawOld + sawNew).toBe(delays.length);
    await expectNothingLeaked(setup);
  }, 90_000);
});

/**
 * A throw-away customer machine: a temporary home, a private gnome-keyring, the
 * License Service simulator, the host registered by its own installer, and
 * headless Chromium with the built extension. The end-to-end tests, the demo and
 * the benchmark all start one, so all three exercise the same path. No test-runner
 * code here (scripts import it): the assertions are the tests' own.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';
import { parseVendorConfig, type VendorConfig } from '../../shared/config.ts';
import { startSimulator, type Simulator } from '../simulator/server.ts';
import { launchExtensionBrowser, type ExtensionBrowser } from './browser.ts';
import {
  DEMO_CONFIG,
  HOST_BUNDLE,
  assertBundleBuilt,
  filesUnder,
  isolatedEnv,
  runCli,
  type CliResult,
} from './companion.ts';
import { startKeyring, type Keyring } from './keyring.ts';

const execFileAsync = promisify(execFile);

/**
 * Where Chromium records the URLs of visited pages and frames (tab sessions, history, most visited sites, UKM).
 * Top Sites is written some seconds after a visit, so slow runs find it and fast ones do not.
 */
const BROWSER_URL_RECORDS =
  /\/Default\/(Sessions\/|History|Visited Links|Top Sites|Current |Last )|\/segmentation_platform\/ukm_db$/;

export interface CustomerMachine {
  root: string;
  config: VendorConfig;
  sim: Simulator;
  keyring: Keyring;
  /** The customer's environment: what the CLI and (through Chromium) the host see. */
  env: NodeJS.ProcessEnv;
  dataDir: string;
  /** Chromium's default profile folder for this home: where the installer registers the host. */
  userDataDir: string;
  cli(args: string[], input?: string): Promise<CliResult>;
  /** Registers the host with `devpay-companion install`, as a customer would. */
  install(): Promise<CliResult>;
  /** `extensionDir`: another build of the extension (default: the shared .output/chrome-mv3). */
  launch(options?: { headless?: boolean; extensionDir?: string }): Promise<ExtensionBrowser>;
  /** Purchase page → "Place your order" → the split confirmation; returns the key the top frame shows. */
  buy(page: Page, productCode: string): Promise<string>;
  /** Every place a key or secret must never be found at rest: profile, data folder, logs. */
  findAtRest(secrets: string[]): Promise<string[]>;
  /** Every activation key handed out and every secret and user token issued so far. */
  secrets(): string[];
  /** What `credentials --product CODE` must print: the last set the simulator issued for it. */
  issuedCredentialProcess(productCode: string): Record<string, unknown>;
  /** Host processes still running for this machine. */
  runningHosts(): Promise<string[]>;
  close(): Promise<void>;
}

export async function startCustomerMachine(
  options: { configPath?: string; label?: string } = {},
): Promise<CustomerMachine> {
  assertBundleBuilt();
  const root = await mkdtemp(join(tmpdir(), `devpay-${options.label ?? 'machine'}-`));
  const home = join(root, 'home');
  const configHome = join(home, '.config');
  const dataDir = join(root, 'data');
  const userDataDir = join(configHome, 'chromium');
  await mkdir(userDataDir, { recursive: true });
  const configPath = options.configPath ?? DEMO_CONFIG;
  const config = parseVendorConfig(JSON.parse(await readFile(configPath, 'utf8')), configPath);

  const cleanups: (() => Promise<unknown>)[] = [() => rm(root, { recursive: true, force: true })];
  const close = async () => {
    for (const cleanup of cleanups.toReversed()) await cleanup().catch(() => {});
  };
  try {
    const keyring = await startKeyring();
    cleanups.push(() => keyring.stop());
    const sim = await startSimulator({ config, port: 0, certDir: join(root, 'simulator') });
    cleanups.push(() => sim.close());

    const env = isolatedEnv({
      ...keyring.env,
      HOME: home,
      XDG_CONFIG_HOME: configHome,
      DEVPAY_CONFIG: configPath,
      DEVPAY_DATA_DIR: dataDir,
      DEVPAY_LICENSE_SERVICE: sim.licenseServiceUrl,
      DEVPAY_CA_FILE: sim.caFile,
    });
    const cli = (args: string[], input?: string) => runCli(args, { env, input, timeoutMs: 30_000 });

    const machine: CustomerMachine = {
      root,
      config,
      sim,
      keyring,
      env,
      dataDir,
      userDataDir,
      cli,
      install: () => cli(['install', '--browser', 'chromium']),
      async launch(launchOptions = {}) {
        const browser = await launchExtensionBrowser({
          userDataDir,
          env: env as Record<string, string>,
          headless: launchOptions.headless ?? true,
          ...(launchOptions.extensionDir ? { extensionDir: launchOptions.extensionDir } : {}),
        });
        cleanups.push(() => browser.close());
        return browser;
      },
      async buy(page, productCode) {
        await page.goto(sim.purchaseUrl(productCode));
        await page.click('#place-order');
        await page.waitForSelector('frameset');
        const top = page.frame({ name: 'aws' });
        if (!top) throw new Error('The confirmation page has no top frame named "aws".');
        return ((await (await top.waitForSelector('#activation-key')).textContent()) ?? '').trim();
      },
      secrets: () => [...sim.mintedKeys(), ...sim.issued.flatMap((s) => [s.secretAccessKey, s.userToken])],
      issuedCredentialProcess(productCode) {
        const issued = sim.issued.filter((s) => s.productCode === productCode).at(-1);
        const product = config.products.find((p) => p.code === productCode);
        if (!issued || !product) throw new Error(`The simulator issued nothing for ${productCode}.`);
        return {
          Version: 1,
          AccessKeyId: issued.accessKeyId,
          SecretAccessKey: issued.secretAccessKey,
          SessionToken: `${issued.userToken},${product.productToken}`,
          UserToken: issued.userToken,
          ProductToken: product.productToken,
        };
      },
      async findAtRest(secrets) {
        const found: string[] = [];
        const utf16 = (text: string) => Buffer.from(text, 'utf16le').toString('latin1');
        const forms = secrets.filter(Boolean).flatMap((s) => [
          { form: s, urlPrefix: 'ActivationKey=' },
          { form: utf16(s), urlPrefix: utf16('ActivationKey=') },
        ]);
        for (const file of await filesUnder(root)) {
          const text = await readFile(file, 'latin1').catch(() => '');
          const relative = file.slice(root.length + 1);
          for (const { form, urlPrefix } of forms) {
            for (let at = text.indexOf(form); at !== -1; at = text.indexOf(form, at + 1)) {
              // Amazon itself puts the key in the vendor's redirect URL; the browser's own record of
              // visited URLs (tab sessions, history) keeps that URL. Anything else is a leak.
              const inRedirectUrl =
                BROWSER_URL_RECORDS.test(relative) && text.slice(Math.max(0, at - urlPrefix.length), at) === urlPrefix;
              if (!inRedirectUrl) {
                found.push(relative);
                break;
              }
            }
          }
        }
        return [...new Set(found)];
      },
      async runningHosts() {
        // A host of this machine is any process whose environment points at this machine's data folder.
        const { stdout } = await execFileAsync('ps', ['-eo', 'pid=,args=']).catch(() => ({ stdout: '' }));
        const mine: string[] = [];
        for (const line of stdout.split('\n')) {
          if (!line.includes(HOST_BUNDLE)) continue;
          // A command a test left running (serve, reactivate) is not a host a browser started.
          if (/^[a-z]+$/.test(line.split(HOST_BUNDLE)[1]?.trim().split(/\s+/)[0] ?? '')) continue;
          const pid = line.trim().split(/\s+/)[0];
          const environ = await readFile(`/proc/${pid}/environ`, 'latin1').catch(() => '');
          if (environ.split('\0').includes(`DEVPAY_DATA_DIR=${dataDir}`)) mine.push(line.trim());
        }
        return mine;
      },
      close,
    };
    return machine;
  } catch (error) {
    await close();
    throw error;
  }
}

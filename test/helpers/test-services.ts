/**
 * Vitest hooks for tests of the host without a browser: one private
 * gnome-keyring, one License Service simulator (the demo products) and one
 * temporary folder for a whole test file, started before its tests and stopped
 * after them; each case gets its own vendor id, data folder and environment.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import type { VendorConfig } from '../../shared/config.ts';
import { loadVendorConfig } from '../../native-host/settings.ts';
import { startSimulator, type Simulator } from '../simulator/server.ts';
import { DEMO_CONFIG, isolatedEnv } from '../machine/companion.ts';
import { startKeyring, type Keyring } from '../machine/keyring.ts';

export interface TestServices {
  keyring: Keyring;
  sim: Simulator;
  root: string;
  demo: VendorConfig;
  /** A data folder and a configuration of its own (own vendor id, hence own keychain entries), and the env that points at them. */
  newCase(extraEnv?: Record<string, string | undefined>): Promise<TestCase>;
}

export interface TestCase {
  dir: string;
  dataDir: string;
  configPath: string;
  vendorId: string;
  /** For the host and the CLI in another process. */
  env: NodeJS.ProcessEnv;
}

/**
 * Registers the hooks and returns an object filled in before the first test.
 * `keytarInThisProcess`: the tests call the store directly, so this process must
 * reach the private keyring (libsecret reads the bus address when it first connects).
 */
export function useTestServices(label: string, options: { keytarInThisProcess?: boolean } = {}): TestServices {
  let cases = 0;
  const services = {
    async newCase(extraEnv = {}) {
      cases++;
      const dir = await mkdtemp(join(services.root, `case${cases}-`));
      const vendorId = `${label}-test-${cases}`;
      const configPath = join(dir, 'vendor-config.json');
      await writeFile(
        configPath,
        JSON.stringify({ ...services.demo, vendor: { ...services.demo.vendor, id: vendorId } }),
      );
      const dataDir = join(dir, 'data');
      const env = isolatedEnv({
        ...services.keyring.env,
        HOME: dir,
        DEVPAY_CONFIG: configPath,
        DEVPAY_DATA_DIR: dataDir,
        DEVPAY_LICENSE_SERVICE: services.sim.licenseServiceUrl,
        DEVPAY_CA_FILE: services.sim.caFile,
        ...extraEnv,
      });
      return { dir, dataDir, configPath, vendorId, env };
    },
  } as TestServices;
  beforeAll(async () => {
    services.root = await mkdtemp(join(tmpdir(), `devpay-${label}-test-`));
    services.demo = await loadVendorConfig(DEMO_CONFIG);
    [services.keyring, services.sim] = await Promise.all([startKeyring(), startSimulator({ config: services.demo })]);
    if (options.keytarInThisProcess) {
      Object.assign(process.env, services.keyring.env);
      delete process.env.DISPLAY;
    }
  });
  afterAll(async () => {
    await services.sim?.close();
    await services.keyring?.stop();
    if (services.root) await rm(services.root, { recursive: true, force: true });
  });
  return services;
}

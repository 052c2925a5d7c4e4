/**
 * One private gnome-keyring, one License Service simulator (the demo products)
 * and one temporary folder for a whole test file: started before its tests,
 * stopped after them.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import type { VendorConfig } from '../../shared/config.ts';
import { loadVendorConfig } from '../../native-host/cli/context.ts';
import { startSimulator, type Simulator } from '../simulator/server.ts';
import { DEMO_CONFIG } from './companion.ts';
import { startKeyring, type Keyring } from './keyring.ts';

export interface TestServices {
  keyring: Keyring;
  sim: Simulator;
  root: string;
  demo: VendorConfig;
}

/**
 * Registers the hooks and returns an object filled in before the first test.
 * `keytarInThisProcess`: the tests call the store directly, so this process must
 * reach the private keyring (libsecret reads the bus address when it first connects).
 */
export function useTestServices(label: string, options: { keytarInThisProcess?: boolean } = {}): TestServices {
  const services = {} as TestServices;
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

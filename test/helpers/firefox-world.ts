/**
 * Test hooks for the Firefox end-to-end tests: one Firefox customer machine per
 * test file, and the after-test check that Firefox's hosts exited and nothing is
 * at rest.
 */
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import type { CustomerMachine } from '../machine/customer-machine.ts';
import type { ExtensionFirefox } from '../machine/firefox.ts';
import { findAtRestWithFirefox } from '../machine/firefox-at-rest.ts';
import { createFirefoxWorld, type FirefoxWorld } from '../machine/firefox-machine.ts';
import { waitFor } from '../machine/wait.ts';

/** After a Firefox test: Firefox closed, its hosts exited, and no key or secret at rest. */
export async function closeFirefoxAndCheckNothingLeft(
  world: CustomerMachine,
  firefox: ExtensionFirefox | undefined,
): Promise<void> {
  await firefox?.close();
  // Firefox closed the hosts' pipes: they must have exited.
  await waitFor(async () => (await world.runningHosts()).length === 0, {
    timeoutMs: 10_000,
    what: 'the hosts to exit',
  });
  expect(await findAtRestWithFirefox(world)).toEqual([]);
}

export interface FirefoxCustomer {
  readonly world: CustomerMachine;
  /** Starts Firefox; with `checkEachTest`, closed and checked after the test. */
  launch(options?: { grantSiteAccess?: boolean }): Promise<ExtensionFirefox>;
}

/**
 * One Firefox world for a whole test file (the host registered unless `install`
 * is false); after each test, with `checkEachTest`, Firefox is closed and nothing
 * may be left at rest or running. Firefox takes tens of seconds to start on a
 * loaded two-core machine, hence the long hook timeouts.
 */
export function useFirefoxCustomer(
  label: string,
  options: { install?: boolean; checkEachTest?: boolean } = {},
): FirefoxCustomer {
  let ff: FirefoxWorld | undefined;
  let current: ExtensionFirefox | undefined;
  beforeAll(async () => {
    ff = await createFirefoxWorld(label);
    if (options.install ?? true) {
      const install = await ff.install();
      expect(install.code, install.stderr).toBe(0);
    }
  }, 120_000);
  afterAll(async () => {
    await ff?.close();
  });
  if (options.checkEachTest ?? true) {
    afterEach(async () => {
      await closeFirefoxAndCheckNothingLeft(ff!.world, current);
      current = undefined;
    }, 60_000);
  }
  return {
    get world() {
      return ff!.world;
    },
    async launch(launchOptions) {
      current = await ff!.launch(launchOptions);
      return current;
    },
  };
}

// The page actions live with the machine (scripts use them too); tests take everything from here.
export * from '../machine/firefox-machine.ts';

/**
 * The check every browser test ends with: the browser closed, the hosts it
 * started exited, and no activation key or secret left at rest on the machine.
 */
import { expect } from 'vitest';
import type { ExtensionBrowser } from '../machine/browser.ts';
import type { CustomerMachine } from '../machine/customer-machine.ts';
import { waitFor } from '../machine/wait.ts';

export async function closeAndCheckNothingLeft(
  machine: CustomerMachine,
  browser: ExtensionBrowser | undefined,
): Promise<void> {
  await browser?.close();
  // Chromium closed the hosts' pipes: they must have exited.
  await waitFor(async () => (await machine.runningHosts()).length === 0, {
    timeoutMs: 5_000,
    what: 'the hosts to exit',
  });
  expect(await machine.findAtRest(machine.secrets())).toEqual([]);
}

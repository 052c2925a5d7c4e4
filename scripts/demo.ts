/**
 * The demo: one purchase, from "Place your order" to encrypted credentials, on a
 * throw-away machine (temporary home, private keychain, the License Service
 * simulator, Chromium with the built extension). Prints each step with its time,
 * then `devpay-companion status`, and cleans everything up.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { maskIdentifier } from '../shared/activation-key.ts';
import { startCustomerMachine, type CustomerMachine } from '../test/machine/customer-machine.ts';
import { waitFor } from '../test/machine/wait.ts';
import { savePopupScreenshot } from '../test/machine/popup-states.ts';

const started = performance.now();
const bold = (text: string) => (process.stdout.isTTY ? `\x1b[1m${text}\x1b[0m` : text);
const dim = (text: string) => (process.stdout.isTTY ? `\x1b[2m${text}\x1b[0m` : text);
const stamp = (at = performance.now()) => `${((at - started) / 1000).toFixed(2).padStart(6)} s`;
const step = (text: string, at?: number) => console.log(`${dim(stamp(at))}  ${text}`);
const say = (text: string) => console.log(`\n${text}`);

say(bold('DevPay activation companion: demo'));
console.log(`
A desktop program sold through Amazon DevPay needs credentials of its own for
each customer. Amazon gives the customer a one-hour "activation key" after the
purchase; the program trades it, with its own product token, for those
credentials at Amazon's License Service. Normally the customer copies the key
by hand. Here the browser extension picks it up and the desktop companion
activates and stores the credentials, encrypted, before the customer has to do
anything. (Amazon's pages and License Service are played by a local simulator.)
`);

const headless = !process.env.DISPLAY;
let machine: CustomerMachine | undefined;
const interrupted = () => {
  void machine?.close().finally(() => process.exit(130));
};
process.once('SIGINT', interrupted);
process.once('SIGTERM', interrupted);

try {
  say(bold('1. A throw-away customer machine'));
  machine = await startCustomerMachine({ label: 'demo' });
  step(`Private keychain (gnome-keyring) and a temporary home in ${machine.root}`);
  step(`License Service simulator at ${machine.sim.licenseServiceUrl}`);
  const install = await machine.install();
  if (install.code !== 0) throw new Error(`devpay-companion install failed:\n${install.stderr}`);
  step('Host registered with Chromium by `devpay-companion install`');
  const browser = await machine.launch({ headless });
  step(
    `Chromium started (${headless ? 'headless: no display' : 'on your display'}) with the extension ${browser.extensionId}`,
  );

  const product = machine.config.products[0]!;
  say(bold(`2. The customer buys "${product.name}"`));
  const page = await browser.context.newPage();
  const hostLog = join(machine.dataDir, 'logs', 'host.log');
  const seen = new Set<string>();
  const events: [RegExp, string][] = [
    [/ started by browser /, 'The extension connected to the desktop companion (native messaging)'],
    [/ activating /, 'The companion received the key and asks the License Service'],
    [
      / credentials (stored|replaced) /,
      'Credentials stored, encrypted with AES-256-GCM; the data key is in the keychain',
    ],
  ];
  // Each step as it happens, from the host's log and the simulator's record, in time order.
  const toPerf = (epochMs: number) => performance.now() - (Date.now() - epochMs);
  const followSteps = async () => {
    const text = await readFile(hostLog, 'utf8').catch(() => '');
    const fresh: [number, string][] = [];
    for (const line of text.split('\n')) {
      for (const [pattern, story] of events) {
        if (pattern.test(line) && !seen.has(story)) {
          seen.add(story);
          fresh.push([toPerf(Date.parse(line.slice(0, 24))), story]);
        }
      }
    }
    const issued = machine!.sim.issued.at(-1);
    if (issued && !seen.has('issued')) {
      seen.add('issued');
      fresh.push([
        toPerf(issued.issuedAt),
        `The License Service issued Access Key ID ${maskIdentifier(issued.accessKeyId)} (request ${issued.requestId})`,
      ]);
    }
    for (const [at, story] of fresh.sort((a, b) => a[0] - b[0])) step(story, at);
  };
  const stepTimer = setInterval(() => void followSteps(), 25);

  await page.goto(machine.sim.purchaseUrl(product.code));
  step(`Purchase page: ${machine.sim.purchaseUrl(product.code)}`);
  const key = await machine.buy(page, product.code);
  step(`"Place your order": Amazon's confirmation shows the activation key ${maskIdentifier(key)} in the top frame`);
  await waitFor(() => seen.size === events.length + 1, { timeoutMs: 30_000, what: 'the credentials to be stored' });
  clearInterval(stepTimer);

  const popup = await browser.context.newPage();
  await popup.goto(browser.popupUrl);
  await waitFor(
    async () => (await popup.getAttribute(`li.product[data-product="${product.code}"]`, 'data-state')) === 'activated',
    {
      what: 'the popup to say activated',
    },
  );
  const badge = await browser.serviceWorker.evaluate(() => chrome.action.getBadgeText({}));
  step(`The extension's popup says "${product.name}: activated"; its toolbar badge shows "${badge}"`);
  // Kept outside the throw-away machine, which is removed at the end.
  step(`A picture of the popup: ${await savePopupScreenshot(popup, '.output/demo-popup.png')}`);
  await browser.close();

  say(bold('3. What the desktop product now finds: `devpay-companion status`'));
  const status = await machine.cli(['status']);
  console.log(status.stdout.trimEnd());
  say(
    `The desktop product reads its credentials with \`devpay-companion credentials --product ${product.code}\`\n` +
      '(AWS credential_process JSON). The activation key itself was never written anywhere.',
  );
} catch (error) {
  console.error(`\nThe demo stopped: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
} finally {
  say(bold('4. Cleaning up'));
  await machine?.close();
  step('Chromium, the simulator and the keychain stopped; temporary files removed');
}

/**
 * The demo in Firefox (`bash scripts/demo.sh --browser firefox`): the same
 * purchase as scripts/demo.ts, in Firefox ESR with the built add-on
 * (.output/firefox-mv3), the host registered by `install --browser firefox`.
 * Prints each step with its time, then `devpay-companion status`, and cleans up.
 */
import { maskIdentifier } from '../shared/activation-key.ts';
import {
  badgeText,
  buyInFirefox,
  createFirefoxWorld,
  openFirefoxPopup,
  productStateIn,
  type FirefoxWorld,
} from '../test/machine/firefox-machine.ts';
import { waitFor } from '../test/machine/wait.ts';

const started = performance.now();
const step = (text: string) =>
  console.log(`${((performance.now() - started) / 1000).toFixed(2).padStart(6)} s  ${text}`);

let ff: FirefoxWorld | undefined;
const interrupted = () => void ff?.close().finally(() => process.exit(130));
process.once('SIGINT', interrupted);
process.once('SIGTERM', interrupted);

console.log('\nDevPay activation companion: demo in Firefox\n');
try {
  ff = await createFirefoxWorld('demo-firefox');
  const { world } = ff;
  step(`A throw-away customer machine in ${world.root}; License Service simulator at ${world.sim.licenseServiceUrl}`);
  const install = await ff.install();
  if (install.code !== 0) throw new Error(`devpay-companion install --browser firefox failed:\n${install.stderr}`);
  step('Host registered with Firefox by `devpay-companion install --browser firefox`');
  const headless = !process.env.DISPLAY;
  const firefox = await ff.launch({ headless });
  step(`Firefox ESR started (${headless ? 'headless' : 'on your display'}) with the add-on ${firefox.addonId}`);

  const product = world.config.products[0]!;
  const key = await buyInFirefox(world, await firefox.newPage(), product.code);
  step(`"Place your order" for ${product.name}: Amazon's confirmation shows the activation key ${maskIdentifier(key)}`);
  await waitFor(async () => world.sim.issued.some((s) => s.productCode === product.code), {
    timeoutMs: 60_000,
    what: 'the License Service to issue credentials',
  });
  const issued = world.sim.issued.at(-1)!;
  step(
    `The add-on handed the key to the companion (native messaging); the License Service issued ${maskIdentifier(issued.accessKeyId)}`,
  );
  const popup = await openFirefoxPopup(firefox);
  await waitFor(async () => (await productStateIn(popup, product.code)) === 'activated', {
    timeoutMs: 30_000,
    what: 'the popup to say activated',
  });
  step(`The add-on's popup says "${product.name}: activated"; its toolbar badge shows "${await badgeText(popup)}"`);
  await firefox.close();

  console.log('\nWhat the desktop product now finds: `devpay-companion status`');
  console.log((await world.cli(['status'])).stdout.trimEnd());
} catch (error) {
  console.error(`\nThe demo stopped: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
} finally {
  await ff?.close();
  step('Firefox, the simulator and the keychain stopped; temporary files removed');
}

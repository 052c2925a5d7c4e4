/**
 * `npm run screenshots`: pictures of the popup in its main states, from the real
 * built extension in headless Chromium, each state reached for real (host,
 * License Service simulator, keychain, purchases: test/machine/popup-states.ts,
 * the same path the popup tests check). Written to docs/screenshots/, shown in the README.
 */
import { mkdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { POPUP_STATES, savePopupScreenshot, visitPopupStates } from '../test/machine/popup-states.ts';

const OUT_DIR = process.argv[2] ?? 'docs/screenshots';

await mkdir(OUT_DIR, { recursive: true });
const started = performance.now();
const saved: string[] = [];
await visitPopupStates(
  async ({ name, popup }) => {
    const file = await savePopupScreenshot(popup, join(OUT_DIR, `popup-${name}.png`));
    saved.push(file);
    console.log(`${name.padEnd(16)} ${relative('.', file)}`);
  },
  { label: 'screenshots' },
);
const missing = POPUP_STATES.filter((s) => !saved.some((f) => f.endsWith(`popup-${s}.png`)));
if (missing.length > 0) {
  console.error(`No picture of: ${missing.join(', ')}`);
  process.exitCode = 1;
}
console.log(`${saved.length} pictures in ${OUT_DIR}/ (${((performance.now() - started) / 1000).toFixed(1)} s)`);

/**
 * Builds the extension with WXT into a folder of the test's own (never the
 * shared .output/), in a child process so Vite stays out of the test worker.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Returns the folder holding manifest.json, e.g. `<outDir>/firefox-mv3`. */
export async function buildExtension(
  browser: 'chrome' | 'firefox',
  outDir: string,
  env: NodeJS.ProcessEnv = {},
): Promise<string> {
  const script = `import { build } from 'wxt';
await build({ browser: process.argv[1], manifestVersion: 3, mode: 'production', outDir: process.argv[2], logLevel: 1 });`;
  await run(process.execPath, ['--input-type=module', '-e', script, browser, outDir], {
    cwd: resolve('.'),
    env: { ...process.env, ...env },
    timeout: 120_000,
  });
  return join(outDir, `${browser}-mv3`);
}

/** The Chromium extension ID the manifest `key` pins: sha256 of the DER key, hex digits 0-f as a-p. */
export function chromiumExtensionId(publicKeyBase64: string): string {
  const hex = createHash('sha256').update(Buffer.from(publicKeyBase64, 'base64')).digest('hex').slice(0, 32);
  return hex
    .split('')
    .map((c) => String.fromCharCode(97 + parseInt(c, 16)))
    .join('');
}

export function readManifest(dir: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Record<string, unknown>;
}

/**
 * Tests that start the real host or the real extension need the built artefacts.
 * scripts/test.sh builds them; a bare `npx vitest` builds them here when missing.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export default function setup(): void {
  if (!existsSync('dist/devpay-companion.mjs') || !existsSync('.output/chrome-mv3/manifest.json')) {
    execFileSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' });
  }
  if (!existsSync('.output/firefox-mv3/manifest.json'))
    execFileSync('npm', ['run', '--silent', 'build:firefox'], { stdio: 'inherit' });
}

#!/usr/bin/env node
// The `devpay-companion` command: runs the bundle when built (dist/devpay-companion.mjs),
// else the TypeScript sources through tsx.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bundle = join(root, 'dist', 'devpay-companion.mjs');

if (existsSync(bundle)) {
  await import(pathToFileURL(bundle).href);
} else {
  const tsxCli = join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs');
  const result = spawnSync(process.execPath, [tsxCli, join(root, 'native-host', 'main.ts'), ...process.argv.slice(2)], {
    stdio: 'inherit',
  });
  process.exit(result.status ?? 1);
}

// Bundles the native host into one file (dist/devpay-companion.mjs): a browser-started
// host then loads one module instead of hundreds, and needs no TypeScript at run time.
// The vendor configuration it is built for (DEVPAY_CONFIG, default the demo) goes beside it.
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { build } from 'esbuild';

const configPath = resolve(process.env.DEVPAY_CONFIG ?? 'shared/config/demo.json');
JSON.parse(readFileSync(configPath, 'utf8')); // fail the build on a file that is not JSON

mkdirSync('dist', { recursive: true });
await build({
  entryPoints: ['native-host/main.ts'],
  outfile: 'dist/devpay-companion.mjs',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // keytar is a native addon: it stays in node_modules.
  external: ['keytar'],
  // CommonJS dependencies expect require, __filename and __dirname (write-file-atomic names temp files after it).
  // The last two under other names, given by `define` to free references only: ES modules (open) declare their own.
  banner: {
    js: [
      "import { createRequire as __createRequire } from 'node:module';",
      "import { fileURLToPath as __fileURLToPath } from 'node:url';",
      'const require = __createRequire(import.meta.url);',
      'const __bundleFilename = __fileURLToPath(import.meta.url);',
      "const __bundleDirname = __fileURLToPath(new URL('.', import.meta.url));",
    ].join(' '),
  },
  define: { __filename: '__bundleFilename', __dirname: '__bundleDirname' },
  legalComments: 'none',
  logLevel: 'warning',
});
copyFileSync(configPath, 'dist/vendor-config.json');

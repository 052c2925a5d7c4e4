// Bundles the native host into dist/: devpay-companion.mjs (the entry, a few KiB) and
// the chunks it imports on demand (host-*.mjs). A browser-started host then loads only
// what native messaging uses, not the CLI, installer, doctor, loopback server or prompts,
// and needs no TypeScript at run time (scripts/bench.ts measures it).
// The vendor configuration it is built for (DEVPAY_CONFIG, default the demo) goes beside it.
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';

const configPath = resolve(process.env.DEVPAY_CONFIG ?? 'shared/config/demo.json');
JSON.parse(readFileSync(configPath, 'utf8')); // fail the build on a file that is not JSON

mkdirSync('dist', { recursive: true });
// Chunk names carry a content hash: drop the previous build's.
for (const name of readdirSync('dist')) if (/^host-.*\.mjs$/.test(name)) rmSync(join('dist', name));
await build({
  entryPoints: { 'devpay-companion': 'native-host/main.ts' },
  outdir: 'dist',
  outExtension: { '.js': '.mjs' },
  splitting: true,
  chunkNames: 'host-[name]-[hash]',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // keytar is a native addon: it stays in node_modules.
  external: ['keytar'],
  define: {
    // Modules find files beside "themselves" (vendor-config.json, the bundle a launcher runs): that is the entry, whichever chunk they are in.
    'import.meta.url': '__hostBundleUrl',
    // CommonJS dependencies expect __filename and __dirname (write-file-atomic names temp files after it): under other
    // names, given to free references only, since ES modules (open) declare their own.
    __filename: '__bundleFilename',
    __dirname: '__bundleDirname',
  },
  // CommonJS dependencies also expect require.
  banner: {
    js: [
      "import { createRequire as __createRequire } from 'node:module';",
      "import { fileURLToPath as __fileURLToPath } from 'node:url';",
      "const __hostBundleUrl = new URL('./devpay-companion.mjs', import.meta.url).href;",
      'const require = __createRequire(import.meta.url);',
      'const __bundleFilename = __fileURLToPath(import.meta.url);',
      "const __bundleDirname = __fileURLToPath(new URL('.', import.meta.url));",
    ].join(' '),
  },
  legalComments: 'none',
  logLevel: 'warning',
});
copyFileSync(configPath, 'dist/vendor-config.json');

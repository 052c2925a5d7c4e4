// Bundles the native host into one file (dist/devpay-companion.mjs): a browser-started
// host then loads one module instead of hundreds, and needs no TypeScript at run time.
import { build } from 'esbuild';

await build({
  entryPoints: ['native-host/main.ts'],
  outfile: 'dist/devpay-companion.mjs',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // keytar is a native addon: it stays in node_modules.
  external: ['keytar'],
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  legalComments: 'none',
  logLevel: 'warning',
});

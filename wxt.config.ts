import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { defineConfig } from 'wxt';
import { parseVendorConfig } from './shared/config.ts';
import { extensionBuildConfig } from './extension/build-config.ts';

// The extension is built for one vendor configuration (DEVPAY_CONFIG, default: the demo
// that points at the simulator). Only what the extension needs is baked in.
const configPath = resolve(process.env.DEVPAY_CONFIG ?? 'shared/config/demo.json');
const vendorConfig = parseVendorConfig(JSON.parse(readFileSync(configPath, 'utf8')), configPath);
const build = extensionBuildConfig(vendorConfig);

function firefoxAddonId(): string {
  const id = vendorConfig.extensions.firefox[0];
  if (!id) throw new Error(`${configPath} lists no Firefox add-on ID (extensions.firefox): a Firefox build needs the one the host allows.`);
  return id;
}

export default defineConfig({
  srcDir: 'extension',
  // Icons (toolbar, notifications) live with the extension's sources.
  publicDir: 'extension/public',
  outDir: '.output',
  modules: ['@wxt-dev/webextension-polyfill'],
  manifest: ({ browser }) => ({
    name: `${vendorConfig.vendor.name} activation companion`,
    description: 'Activates your DevPay desktop products right after purchase, without copy and paste.',
    // alarms: drops a held activation key at the end of its hour even if the service worker was stopped.
    permissions: ['nativeMessaging', 'storage', 'notifications', 'alarms'],
    // Chromium: the public key pins the extension ID the host allows. Firefox: the add-on ID.
    ...(browser === 'firefox'
      ? { browser_specific_settings: { gecko: { id: firefoxAddonId(), strict_min_version: '128.0' } } }
      : { key: readFileSync(resolve('extension/public-key.txt'), 'utf8').trim() }),
  }),
  hooks: {
    // The capture script (an unlisted script, see extension/entrypoints/capture.ts) runs only on the
    // configured key pages and redirect pages, in every frame, in the isolated world.
    'build:manifestGenerated': (_wxt, manifest) => {
      manifest.content_scripts = [{ matches: build.contentScriptMatches, js: ['capture.js'], all_frames: true, run_at: 'document_idle' }];
    },
  },
  vite: () => ({
    define: { __DEVPAY_EXTENSION_CONFIG__: JSON.stringify(build) },
  }),
});

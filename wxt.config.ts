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
  if (!id)
    throw new Error(
      `${configPath} lists no Firefox add-on ID (extensions.firefox): a Firefox build needs the one the host allows.`,
    );
  return id;
}

export default defineConfig({
  srcDir: 'extension',
  // Icons (toolbar, notifications) live with the extension's sources.
  publicDir: 'extension/public',
  outDir: '.output',
  // i18n: extension/locales/<lang>.yml become _locales/<lang>/messages.json.
  modules: ['@wxt-dev/webextension-polyfill', '@wxt-dev/i18n/module'],
  manifest: ({ browser }) => ({
    default_locale: 'en',
    // `{vendor}` in these two messages is filled in per build (see build:publicAssets below).
    name: '__MSG_manifest_name__',
    description: '__MSG_manifest_description__',
    // alarms: drops a held activation key at the end of its hour even if the service worker was stopped.
    permissions: ['nativeMessaging', 'storage', 'notifications', 'alarms'],
    // Chromium: the public key pins the extension ID the host allows. Firefox: the add-on ID.
    ...(browser === 'firefox'
      ? { browser_specific_settings: { gecko: { id: firefoxAddonId(), strict_min_version: '128.0' } } }
      : { key: readFileSync(resolve('extension/public-key.txt'), 'utf8').trim() }),
  }),
  hooks: {
    // The manifest cannot pass substitutions to its messages: the vendor's name goes into each locale's text.
    'build:publicAssets': (_wxt, assets) => {
      for (const asset of assets) {
        if (!('contents' in asset) || !/^_locales\/[^/]+\/messages\.json$/.test(asset.relativeDest)) continue;
        const messages = JSON.parse(asset.contents) as Record<string, { message: string }>;
        for (const [key, entry] of Object.entries(messages))
          if (key.startsWith('manifest_'))
            entry.message = entry.message.replaceAll('{vendor}', vendorConfig.vendor.name.replaceAll('$', '$$$$'));
        asset.contents = JSON.stringify(messages, null, 2);
      }
    },
    // The capture script (an unlisted script, see extension/entrypoints/capture.ts) runs only on the
    // configured key pages and redirect pages, in every frame, in the isolated world.
    'build:manifestGenerated': (_wxt, manifest) => {
      manifest.content_scripts = [
        { matches: build.contentScriptMatches, js: ['capture.js'], all_frames: true, run_at: 'document_idle' },
      ];
    },
  },
  vite: () => ({
    define: { __DEVPAY_EXTENSION_CONFIG__: JSON.stringify(build) },
  }),
});

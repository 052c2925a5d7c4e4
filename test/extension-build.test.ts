/**
 * The built manifests: Firefox (MV3, add-on ID) and Chromium (pinned key).
 * Content scripts run only on the configured pages, in every frame; nothing
 * asks for <all_urls>, nothing is exposed to pages, permissions stay minimal.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extensionBuildConfig } from '../extension/build-config.ts';
import { parseVendorConfig } from '../shared/config.ts';
import { buildExtension, chromiumExtensionId, readManifest } from './helpers/extension-build.ts';

const vendor = parseVendorConfig(JSON.parse(readFileSync('shared/config/demo.json', 'utf8')));
const config = extensionBuildConfig(vendor);
const PAGES = [...vendor.keyPages, ...vendor.redirectPages];
// alarms: a held key is dropped at the end of its hour even when the service worker was stopped.
const PERMISSIONS = ['nativeMessaging', 'storage', 'notifications', 'alarms'];

let out: string;
let firefox: string;
let chrome: string;

beforeAll(async () => {
  out = mkdtempSync(join(tmpdir(), 'extension-build-'));
  // One after the other: two Vite builds at once on two cores only slow each other down.
  firefox = await buildExtension('firefox', out);
  chrome = await buildExtension('chrome', out);
}, 180_000);

afterAll(() => {
  if (out) rmSync(out, { recursive: true, force: true });
});

function sizes(dir: string): Record<string, number> {
  const result: Record<string, number> = {};
  const walk = (d: string, prefix = '') => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path, `${prefix}${name}/`);
      else result[`${prefix}${name}`] = statSync(path).size;
    }
  };
  walk(dir);
  return result;
}

function commonChecks(manifest: Record<string, unknown>, dir: string) {
  expect(manifest.manifest_version).toBe(3);
  expect(JSON.stringify(manifest)).not.toContain('<all_urls>');
  expect(JSON.stringify(manifest)).not.toMatch(/"\*:\/\/\*\/\*"|"https?:\/\/\*\/\*"/);
  expect(manifest.permissions).toEqual(PERMISSIONS);
  expect(manifest.host_permissions ?? []).toEqual([]);
  expect(manifest.optional_permissions ?? []).toEqual([]);
  // Nothing of the extension is reachable from pages.
  expect(manifest.web_accessible_resources ?? []).toEqual([]);
  expect(manifest.externally_connectable).toBeUndefined();
  expect(manifest.content_security_policy).toBeUndefined();
  const scripts = manifest.content_scripts as {
    matches: string[];
    all_frames: boolean;
    js: string[];
    world?: string;
  }[];
  expect(scripts).toHaveLength(1);
  expect(scripts[0]!.matches).toEqual(PAGES);
  expect(scripts[0]!.all_frames).toBe(true);
  // Isolated world: the page's scripts never share the content script's globals.
  expect(scripts[0]!.world ?? 'ISOLATED').toBe('ISOLATED');
  expect(manifest.icons).toMatchObject({ '128': 'icon/128.png' });
  expect(manifest.action).toMatchObject({ default_popup: 'popup.html' });
  // The build carries the vendor's pages and host name, never a product token.
  const files = sizes(dir);
  const code = Object.keys(files)
    .filter((f) => f.endsWith('.js'))
    .map((f) => readFileSync(join(dir, f), 'utf8'))
    .join('\n');
  expect(code).toContain(config.nativeHostName);
  // The loopback channel's port comes from the vendor configuration too.
  expect(code).toMatch(new RegExp(`loopbackPort"?:${config.loopbackPort}\\b`));
  expect(code).not.toContain('{ProductToken}');
  for (const p of vendor.products) expect(code).not.toContain(p.productToken.slice(20, 60));
  return files;
}

describe('Firefox build (MV3)', () => {
  it('has the add-on ID, MV3, and content scripts on the configured pages only', () => {
    const manifest = readManifest(firefox);
    commonChecks(manifest, firefox);
    expect(manifest.browser_specific_settings).toEqual({
      gecko: { id: vendor.extensions.firefox[0], strict_min_version: '128.0' },
    });
    expect(manifest.key).toBeUndefined();
    // Firefox MV3 runs the background as an event page.
    expect(manifest.background).toEqual({ scripts: ['background.js'] });
  });
});

describe('Chromium build (MV3)', () => {
  it('pins the extension ID the host allows, with minimal permissions', () => {
    const manifest = readManifest(chrome);
    const files = commonChecks(manifest, chrome);
    expect(manifest.key).toBe(readFileSync('extension/public-key.txt', 'utf8').trim());
    expect(chromiumExtensionId(manifest.key as string)).toBe(vendor.extensions.chromium[0]);
    expect(manifest.background).toEqual({ service_worker: 'background.js' });
    expect(manifest.browser_specific_settings).toBeUndefined();
    const js = Object.entries(files).filter(([f]) => f.endsWith('.js'));
    console.info('bundle sizes (bytes): ' + js.map(([f, n]) => `${f} ${n}`).join(', '));
    // The content script runs on every frame of the pages: keep it small.
    expect(files['capture.js']).toBeLessThan(40_000);
  });

  it('has no private key and no source maps in the output', () => {
    const names = Object.keys(sizes(chrome));
    expect(names.filter((n) => /\.(pem|key|map)$/.test(n))).toEqual([]);
  });
});

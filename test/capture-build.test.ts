/**
 * The capture script as built: declared by the manifest on the configured pages
 * only, in the isolated world, not reachable from pages, and with no code that
 * could signal to the page (window messages, DOM events) or write into it.
 * The browser side of the same promise: test/capture-chromium.test.ts.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extensionBuildConfig } from '../extension/build-config.ts';
import { parseVendorConfig } from '../shared/config.ts';
import { buildExtension, readManifest } from './helpers/extension-build.ts';

const config = extensionBuildConfig(parseVendorConfig(JSON.parse(readFileSync('shared/config/demo.json', 'utf8'))));
/** What a script would call to be heard by, or to change, the page it runs in. */
const PAGE_SIGNALS = [
  'postMessage',
  'dispatchEvent',
  'CustomEvent',
  'wxt:content-script-started',
  'MessageChannel',
  'BroadcastChannel',
  'appendChild',
  'insertBefore',
  'insertAdjacent',
  'innerHTML',
  'outerHTML',
  'setAttribute',
  'createElement',
  '.append(',
  '.prepend(',
  '.replaceWith(',
  '.remove()',
  'document.write',
  'execCommand',
  'localStorage',
  'document.cookie',
];

let out: string;
const dirs: Record<'chrome' | 'firefox', string> = { chrome: '', firefox: '' };

beforeAll(async () => {
  out = mkdtempSync(join(tmpdir(), 'capture-build-'));
  dirs.chrome = await buildExtension('chrome', out);
  dirs.firefox = await buildExtension('firefox', out);
}, 180_000);

afterAll(() => {
  if (out) rmSync(out, { recursive: true, force: true });
});

describe.each(['chrome', 'firefox'] as const)('the capture script in the %s build', (browser) => {
  it('is the one content script, declared on the configured pages, in every frame, in the isolated world', () => {
    const manifest = readManifest(dirs[browser]);
    expect(manifest.content_scripts).toEqual([
      { matches: config.contentScriptMatches, js: ['capture.js'], all_frames: true, run_at: 'document_idle' },
    ]);
    expect(manifest.web_accessible_resources ?? []).toEqual([]);
  });

  it('holds no code that signals to the page or writes into it', () => {
    const code = readFileSync(join(dirs[browser], 'capture.js'), 'utf8');
    // Not an empty file: the finder and the extension's own channel are there.
    expect(code).toContain('runtime');
    expect(code).toContain('sendMessage');
    expect(PAGE_SIGNALS.filter((signal) => code.includes(signal))).toEqual([]);
  });
});

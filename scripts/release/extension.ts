/**
 * Store-ready extension zips, built from a clean copy of the sources (so a build
 * here never disturbs the working tree's .output, and the sources zip is exactly
 * what was built):
 * - Chrome Web Store: no manifest `key` (the store refuses it and assigns the ID);
 * - Firefox (AMO): the add-on, and the sources with the steps to rebuild it.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import JSZip from 'jszip';

/** What building the extension needs; nothing of the host, the tests or private keys. */
const EXTENSION_SOURCES = ['extension/', 'shared/', 'wxt.config.ts', 'tsconfig.json', 'package.json', 'package-lock.json'];

/** The files git would commit (tracked or new, not ignored) under the extension's sources. */
function sourceFiles(): string[] {
  const listed = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z', '--', ...EXTENSION_SOURCES]).toString().split('\0');
  return listed.filter((f) => f && statSync(f, { throwIfNoEntry: false })?.isFile());
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

async function zipFiles(outFile: string, entries: { name: string; data: Buffer | string }[]): Promise<void> {
  const zip = new JSZip();
  // A fixed date: the same sources give the same zip.
  const date = new Date('2026-01-01T00:00:00Z');
  for (const e of entries) zip.file(e.name, e.data, { date });
  writeFileSync(outFile, await zip.generateAsync({ type: 'nodebuffer', compression: 'DEFLATE', platform: 'UNIX' }));
}

async function zipFolder(dir: string, outFile: string, transform: (name: string, data: Buffer) => Buffer = (_n, d) => d): Promise<void> {
  await zipFiles(outFile, filesUnder(dir).map((name) => ({ name, data: transform(name, readFileSync(join(dir, name))) })));
}

/** The Chrome Web Store assigns the ID itself and refuses a manifest that carries `key`. */
export function withoutKey(manifestJson: Buffer): Buffer {
  const { key: _key, ...manifest } = JSON.parse(manifestJson.toString('utf8')) as Record<string, unknown>;
  return Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
}

function buildSteps(version: string): string {
  return `# Building extension-firefox-${version}.zip from these sources

Requirements: Linux, macOS or Windows with Node.js 20.19 or newer (tested with
Node 20) and npm 10 or newer. No other tools; nothing is downloaded but npm
packages.

    npm ci --ignore-scripts
    npx wxt prepare
    DEVPAY_CONFIG=vendor-config.json npx wxt build -b firefox --mv3

The add-on is then in .output/firefox-mv3/ (zip its contents to compare).
vendor-config.json is the vendor configuration the add-on was built for: the
extension takes its add-on ID, native host name and the pages it reads keys
from out of it. Nothing in these sources is private.
`;
}

export interface ExtensionZips {
  chrome: string;
  firefox: string;
  sources: string;
}

export async function buildExtensionZips(options: { configPath: string; version: string; workDir: string; outDir: string }): Promise<ExtensionZips> {
  const stage = resolve(options.workDir, 'extension-src');
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(stage, { recursive: true });
  const files = sourceFiles();
  for (const f of files) cpSync(f, join(stage, f));
  symlinkSync(resolve('node_modules'), join(stage, 'node_modules'), 'dir');
  const env = { ...process.env, DEVPAY_CONFIG: resolve(options.configPath) };
  const wxt = resolve('node_modules/wxt/bin/wxt.mjs');
  execFileSync(process.execPath, [wxt, 'build'], { cwd: stage, env, stdio: ['ignore', 'ignore', 'inherit'] });
  execFileSync(process.execPath, [wxt, 'build', '-b', 'firefox', '--mv3'], { cwd: stage, env, stdio: ['ignore', 'ignore', 'inherit'] });

  const out = {
    chrome: join(options.outDir, `extension-chrome-${options.version}.zip`),
    firefox: join(options.outDir, `extension-firefox-${options.version}.zip`),
    sources: join(options.outDir, `extension-firefox-${options.version}-sources.zip`),
  };
  await zipFolder(join(stage, '.output/chrome-mv3'), out.chrome, (name, data) => (name === 'manifest.json' ? withoutKey(data) : data));
  await zipFolder(join(stage, '.output/firefox-mv3'), out.firefox);
  await zipFiles(out.sources, [
    ...files.map((name) => ({ name, data: readFileSync(name) })),
    { name: 'vendor-config.json', data: readFileSync(options.configPath) },
    { name: 'BUILD.md', data: buildSteps(options.version) },
  ]);
  return out;
}

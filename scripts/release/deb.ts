/**
 * The Debian package: the customer's folder under /usr/lib/devpay-companion, the
 * command on PATH, and the host registered system-wide for every browser in the
 * project's browser table that has a system manifest folder on Linux. The
 * manifests are files of the package (dpkg removes them with it); postrm removes
 * any copy left behind and the folders the package made, so nothing it wrote stays.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import type { VendorConfig } from '../../shared/config.ts';
import { BROWSERS, type BrowserFamily, type BrowserId } from '../../native-host/install/browsers.ts';
import { buildManifest, manifestFileName, serializeManifest } from '../../native-host/install/manifest.ts';

export const DEB_INSTALL_DIR = '/usr/lib/devpay-companion';
export const DEB_COMMAND = '/usr/bin/devpay-companion';

export interface DebManifest {
  path: string;
  family: BrowserFamily;
  browsers: BrowserId[];
}

/** One manifest per system folder (Chrome's channels share one), for the families the configuration allows. */
export function systemManifests(config: VendorConfig): DebManifest[] {
  const byPath = new Map<string, DebManifest>();
  for (const spec of BROWSERS) {
    const dir = spec.linux.systemDir;
    const allowed = spec.family === 'chromium' ? config.extensions.chromium.length > 0 : config.extensions.firefox.length > 0;
    if (!dir || !allowed) continue;
    const path = posix.join(dir, manifestFileName(config.nativeHostName));
    const entry = byPath.get(path) ?? { path, family: spec.family, browsers: [] };
    entry.browsers.push(spec.id);
    byPath.set(path, entry);
  }
  return [...byPath.values()];
}

/** Debian's package version: the project's, with the pre-release dash spelled as Debian sorts it. */
export function debianVersion(version: string): string {
  return version.replace('-', '~');
}

function control(config: VendorConfig, version: string, installedKiB: number): string {
  return [
    'Package: devpay-companion',
    `Version: ${debianVersion(version)}`,
    'Architecture: amd64',
    `Maintainer: ${config.vendor.name} <noreply@${config.vendor.id}.invalid>`,
    'Depends: libc6, libsecret-1-0',
    'Section: utils',
    'Priority: optional',
    `Installed-Size: ${installedKiB}`,
    `Description: ${config.vendor.name} activation companion`,
    ' Turns a DevPay purchase in the browser into encrypted credentials: the',
    ' native messaging host of the companion extension, registered for',
    ' Chromium, Chrome, Edge, Brave, Vivaldi and Firefox, and its command line.',
    '',
  ].join('\n');
}

function postrm(manifests: DebManifest[]): string {
  const dirs = [...new Set(manifests.map((m) => posix.dirname(m.path)))];
  return [
    '#!/bin/sh',
    '# Removes every host manifest this package wrote, and the folders it made when they are empty.',
    'set -e',
    'case "$1" in',
    '  remove|purge)',
    ...manifests.map((m) => `    rm -f '${m.path}'`),
    ...dirs.map((d) => `    rmdir --ignore-fail-on-non-empty '${d}' 2>/dev/null || true`),
    '    ;;',
    'esac',
    'exit 0',
    '',
  ].join('\n');
}

export function buildDeb(options: { folder: string; config: VendorConfig; version: string; executableName: string; workDir: string; outFile: string }): DebManifest[] {
  const root = join(options.workDir, 'deb-root');
  rmSync(root, { recursive: true, force: true });
  const installDir = join(root, DEB_INSTALL_DIR);
  mkdirSync(dirname(installDir), { recursive: true });
  cpSync(options.folder, installDir, { recursive: true });
  const executable = posix.join(DEB_INSTALL_DIR, options.executableName);
  mkdirSync(join(root, dirname(DEB_COMMAND)), { recursive: true });
  symlinkSync(posix.relative(posix.dirname(DEB_COMMAND), executable), join(root, DEB_COMMAND));

  // The manifests name the executable itself: no launcher, no Node.
  const manifests = systemManifests(options.config);
  for (const m of manifests) {
    const file = join(root, m.path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, serializeManifest(buildManifest(m.family, options.config, executable)), { mode: 0o644 });
  }
  const doc = join(root, 'usr/share/doc/devpay-companion');
  mkdirSync(doc, { recursive: true });
  cpSync(join(options.folder, 'LICENSES.txt'), join(doc, 'copyright'));

  const debian = join(root, 'DEBIAN');
  mkdirSync(debian, { recursive: true });
  const kib = Number(execFileSync('du', ['-sk', '--exclude=DEBIAN', root]).toString().split(/\s/)[0]);
  writeFileSync(join(debian, 'control'), control(options.config, options.version, kib));
  writeFileSync(join(debian, 'postrm'), postrm(manifests));
  chmodSync(join(debian, 'postrm'), 0o755);
  // gzip: quick to build and to install (the executable is mostly the Node runtime).
  execFileSync('dpkg-deb', ['--root-owner-group', '-Zgzip', '-z6', '--build', root, options.outFile], { stdio: ['ignore', 'ignore', 'inherit'] });
  return manifests;
}

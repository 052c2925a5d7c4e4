/**
 * The customer's folder (what the tarball unpacks to and what the .deb installs):
 * the executable, keytar's addon beside it, the vendor configuration it was built
 * for, a short README and the licence texts of everything bundled.
 */
import { copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { VendorConfig } from '../../shared/config.ts';
import type { Runtime } from './runtime.ts';

export const CONFIG_FILE_NAME = 'vendor-config.json';
export const LICENSES_FILE_NAME = 'LICENSES.txt';

function licenceText(packageDir: string): string | undefined {
  if (!existsSync(packageDir)) return undefined;
  const file = readdirSync(packageDir).find((f) => /^(licen[cs]e|copying)(\.(md|txt))?$/i.test(f));
  return file ? readFileSync(join(packageDir, file), 'utf8').trim() : undefined;
}

/** Node's licence (which covers what Node bundles), keytar's, and each bundled npm package's. */
export function licencesText(runtime: Runtime, bundledPackages: string[]): string {
  const sections: string[] = [];
  const add = (title: string, text: string | undefined) => {
    if (!text) throw new Error(`No licence text found for ${title}: a release must carry the licence of everything it bundles.`);
    sections.push(`${'='.repeat(78)}\n${title}\n${'='.repeat(78)}\n\n${text}\n`);
  };
  add(`Node.js ${runtime.version} (the runtime of the executable)`, licenceText(runtime.dir));
  add('keytar (keytar.node)', licenceText(resolve('node_modules/keytar')));
  for (const name of bundledPackages) {
    const dir = resolve('node_modules', name);
    const meta = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string; license?: string; author?: unknown };
    // A few packages publish only the licence's name; say so rather than invent its text.
    const named = meta.license ? `Licensed under ${meta.license} (the package ships no licence text; author: ${JSON.stringify(meta.author ?? 'not named')}).` : undefined;
    add(`${name}@${meta.version}`, licenceText(dir) ?? named);
  }
  return sections.join('\n');
}

export function customerReadme(config: VendorConfig, version: string, executableName: string): string {
  return `${config.vendor.name}: activation companion ${version}
${'-'.repeat(60)}

This program lets the ${config.vendor.name} browser extension turn a purchase
into working, encrypted credentials. It needs no other software: Node.js is
built in. On Linux it needs the Secret Service library (libsecret-1-0) and a
keychain such as GNOME Keyring or KWallet.

Register it with your browsers (for you alone):

    ./${executableName} install

Check that everything works (each problem comes with its fix):

    ./${executableName} doctor

Other commands: ./${executableName} --help
Remove the registration: ./${executableName} uninstall

Keep this folder where it is once registered: the browsers start the program
from here. The files beside it belong to it:
  keytar.node          the OS keychain access
  ${CONFIG_FILE_NAME}   the products it activates
  ${LICENSES_FILE_NAME}         the licences of what it contains
`;
}

/** Fills dir (which holds the executable and addon already) with the rest of the customer's files. */
export function completeFolder(dir: string, options: { configPath: string; config: VendorConfig; version: string; executableName: string; licences: string }): void {
  copyFileSync(options.configPath, join(dir, CONFIG_FILE_NAME));
  writeFileSync(join(dir, 'README.txt'), customerReadme(options.config, options.version, options.executableName));
  writeFileSync(join(dir, LICENSES_FILE_NAME), options.licences);
}

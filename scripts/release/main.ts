/**
 * `npm run release [-- --config FILE] [--out DIR]`: everything a vendor ships,
 * built for the machine it runs on, into release/:
 *   devpay-companion-<version>-<os>-<arch>.tar.gz   the self-contained host
 *   devpay-companion_<version>_amd64.deb            (Linux x64) the same, installed system-wide
 *   extension-chrome-<version>.zip                   for the Chrome Web Store (no `key`)
 *   extension-firefox-<version>.zip (+ -sources.zip) for AMO
 *   SHA256SUMS
 * The executable embeds a Node runtime for this OS and can only be built on it:
 * `--os`/`--arch` naming another machine are refused with that explanation.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseVendorConfig } from '../../shared/config.ts';
import { buildDeb } from './deb.ts';
import { buildExecutable } from './executable.ts';
import { buildExtensionZips } from './extension.ts';
import { completeFolder, licencesText } from './folder.ts';
import { fetchRuntime, isTarget, type Target } from './runtime.ts';

const EXECUTABLE_NAME = 'devpay-companion';

function fail(message: string): never {
  process.stderr.write(`release: ${message}\n`);
  process.exit(2);
}

function chooseTarget(os: string | undefined, arch: string | undefined): Target {
  const here = `${process.platform}-${process.arch}`;
  const asked = `${os ?? process.platform}-${arch ?? process.arch}`;
  if (asked !== here) {
    fail(
      `asked for ${asked}, but this machine is ${here}. The release builds only for the operating system and processor it runs on ` +
        `(the executable embeds that system's Node runtime and keychain addon, and macOS and Windows builds must be signed there). ` +
        `Run "npm run release" on a ${asked} build machine.`,
    );
  }
  if (!isTarget(here)) fail(`${here} is not a supported build machine (Linux x64/arm64, macOS x64/arm64, Windows x64).`);
  return here;
}

function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

function mib(path: string): string {
  return `${(statSync(path).size / 1024 / 1024).toFixed(1)} MiB`;
}

const { values: flags } = parseArgs({
  options: { config: { type: 'string' }, out: { type: 'string' }, os: { type: 'string' }, arch: { type: 'string' } },
  strict: true,
});
const target = chooseTarget(flags.os, flags.arch);
const configPath = resolve(flags.config ?? process.env.DEVPAY_CONFIG ?? 'shared/config/demo.json');
let config;
try {
  config = parseVendorConfig(JSON.parse(readFileSync(configPath, 'utf8')), configPath);
} catch (error) {
  fail(`the vendor configuration ${configPath} is not usable: ${(error as Error).message}`);
}
const version = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;
const outDir = resolve(flags.out ?? 'release');
const workDir = join(outDir, '.work');
const started = Date.now();

rmSync(workDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });
const step = (what: string) => process.stdout.write(`release: ${what} (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);

step(`Node ${target} runtime`);
// The runtime download is kept beside the repository's release folder, whatever --out says.
const runtime = fetchRuntime(target, resolve('release/.cache'));

const folderName = `${EXECUTABLE_NAME}-${version}-${target}`;
const folder = join(workDir, folderName);
step('executable');
const exe = await buildExecutable({ runtime, target, workDir: join(workDir, 'sea'), outDir: folder, name: EXECUTABLE_NAME });
completeFolder(folder, { configPath, config, version, executableName: EXECUTABLE_NAME, licences: licencesText(runtime, exe.bundledPackages) });

const artefacts: string[] = [];
step('tarball');
const tarball = join(outDir, `${folderName}.tar.gz`);
execFileSync('tar', ['-czf', tarball, '-C', workDir, folderName]);
artefacts.push(tarball);

if (target === 'linux-x64') {
  step('Debian package');
  const deb = join(outDir, `${EXECUTABLE_NAME}_${version}_amd64.deb`);
  buildDeb({ folder, config, version, executableName: EXECUTABLE_NAME, workDir, outFile: deb });
  artefacts.push(deb);
}

step('extension zips');
const zips = await buildExtensionZips({ configPath, version, workDir, outDir });
artefacts.push(zips.chrome, zips.firefox, zips.sources);

writeFileSync(join(outDir, 'SHA256SUMS'), artefacts.map((a) => `${sha256File(a)}  ${basename(a)}\n`).join(''));
const exeSize = mib(exe.path);
rmSync(workDir, { recursive: true, force: true });
step('done');
process.stdout.write(`\nrelease/ for ${config.vendor.name} (${target}, Node ${runtime.version}):\n`);
process.stdout.write(`  ${EXECUTABLE_NAME} (executable, in the tarball)  ${exeSize}\n`);
for (const a of artefacts) process.stdout.write(`  ${basename(a)}  ${mib(a)}\n`);
process.stdout.write('  SHA256SUMS\n');

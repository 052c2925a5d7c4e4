/**
 * The loopback channel's token: 32 random bytes (base64url), new at every start
 * of `serve`, written to `<dataDir>/loopback.token` (0600, folder 0700) only
 * after the port is ours. Local programs read it to prove they run as the
 * customer; it is removed again on shutdown (if it is still ours).
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';

const MAX_TOKEN_FILE_BYTES = 1024;

export function loopbackTokenFile(dataDir: string): string {
  return join(dataDir, 'loopback.token');
}

export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

export async function writeTokenFile(file: string, token: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  await writeFileAtomic(file, token, { mode: 0o600, fsync: true });
  await chmod(file, 0o600);
}

/** The token in the file; throws (ENOENT and the like) when there is none to read. */
export async function readTokenFile(file: string): Promise<string> {
  const info = await stat(file);
  if (!info.isFile() || info.size > MAX_TOKEN_FILE_BYTES) throw new Error(`${file} is not a loopback token file.`);
  return (await readFile(file, 'utf8')).trim();
}

/** Removes the file unless another server has written its own token there since. */
export async function removeTokenFileIfOurs(file: string, token: string): Promise<void> {
  try {
    if ((await readTokenFile(file)) !== token) return;
    await rm(file, { force: true });
  } catch {
    // Already gone.
  }
}

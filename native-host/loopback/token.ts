/**
 * The loopback channel's token: 32 random bytes (base64url), new at every start
 * of `serve`, written to `<dataDir>/loopback.token` (0600, folder 0700) only
 * after the port is ours. Local programs read it to prove they run as the
 * customer; it is removed again on shutdown (if it is still ours).
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { readPrivateFile, writePrivateFile } from '../store/private-file.ts';

const MAX_TOKEN_FILE_BYTES = 1024;

export function loopbackTokenFile(dataDir: string): string {
  return join(dataDir, 'loopback.token');
}

export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

export async function writeTokenFile(file: string, token: string): Promise<void> {
  // A link planted at the token file is replaced, never followed (private-file.ts).
  await writePrivateFile(file, token);
}

/** The token in the file; throws (ENOENT and the like) when there is none to read. */
export async function readTokenFile(file: string): Promise<string> {
  const text = await readPrivateFile(file, MAX_TOKEN_FILE_BYTES);
  if (text === undefined) throw Object.assign(new Error(`${file} does not exist.`), { code: 'ENOENT' });
  return text.trim();
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

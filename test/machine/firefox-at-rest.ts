/**
 * The at-rest scan of world.ts, taught Firefox's own records of visited URLs.
 * Amazon puts the key in the vendor's redirect URL, and Firefox keeps visited
 * URLs in its history (places.sqlite and its -wal) and the URLs of open tabs and
 * frames in its session store (sessionstore*.jsonlz4, mozLz4-compressed), as
 * Chromium's History and Sessions do. A key found there counts only if it is not
 * the value of an `ActivationKey=` URL parameter (the session store is
 * decompressed first).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decompressBlock } from 'lz4js';
import type { CustomerMachine } from './customer-machine.ts';

const SESSION_STORE = /\/\.mozilla\/firefox\/[^/]+\/(sessionstore\.jsonlz4|sessionstore-backups\/[^/]+\.jsonlz4[^/]*)$/;
const HISTORY = /\/\.mozilla\/firefox\/[^/]+\/places\.sqlite(-wal)?$/;
const MOZ_LZ4_MAGIC = 'mozLz40\0';

/** mozLz4: magic, the decompressed size (uint32 LE), one LZ4 block. */
export function decodeMozLz4(bytes: Buffer): string {
  if (bytes.subarray(0, 8).toString('latin1') !== MOZ_LZ4_MAGIC) throw new Error('not a mozLz4 file');
  const out = Buffer.alloc(bytes.readUInt32LE(8));
  const end = decompressBlock(bytes, out, 12, bytes.length - 12, 0);
  return out.subarray(0, end).toString('utf8');
}

function onlyInRedirectUrls(text: string, secret: string): boolean {
  for (let at = text.indexOf(secret); at !== -1; at = text.indexOf(secret, at + 1)) {
    if (!text.slice(0, at).endsWith('ActivationKey=')) return false;
  }
  return true;
}

/** world.findAtRest, except Firefox's URL records whose every hit is a redirect URL's key. */
export async function findAtRestWithFirefox(world: CustomerMachine): Promise<string[]> {
  const secrets = world.secrets().filter(Boolean);
  const found: string[] = [];
  for (const relative of await world.findAtRest(secrets)) {
    const path = `/${relative}`;
    if (SESSION_STORE.test(path) || HISTORY.test(path)) {
      const bytes = await readFile(join(world.root, relative));
      const text = SESSION_STORE.test(path) ? decodeMozLz4(bytes) : bytes.toString('latin1');
      if (secrets.every((secret) => onlyInRedirectUrls(text, secret))) continue;
    }
    found.push(relative);
  }
  return found;
}

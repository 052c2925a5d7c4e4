/**
 * What `install` wrote, so that `uninstall` removes exactly that: each file with
 * the SHA-256 of its content (a file changed since is left alone), each registry
 * key with its value, and each folder install had to create (removed only when
 * empty). Kept 0600 beside the launcher.
 */
import { readFile, rm } from 'node:fs/promises';
import * as v from 'valibot';
import writeFileAtomic from 'write-file-atomic';
import { BROWSER_IDS } from './browsers.ts';

const MAX_RECORD_BYTES = 1024 * 1024;
const browsers = v.array(v.picklist(BROWSER_IDS));

export const InstallRecordSchema = v.object({
  version: v.literal(1),
  hostName: v.string(),
  scope: v.picklist(['user', 'system']),
  launcher: v.optional(v.object({ path: v.string(), sha256: v.string() })),
  files: v.array(
    v.object({
      kind: v.picklist(['manifest', 'wrapper']),
      path: v.string(),
      sha256: v.string(),
      browsers,
      /** Flatpak app ID, for wrappers and the manifests that point at them. */
      flatpak: v.optional(v.string()),
    }),
  ),
  registry: v.array(v.object({ key: v.string(), value: v.string(), browsers })),
  createdDirs: v.array(v.string()),
});

export type InstallRecord = v.InferOutput<typeof InstallRecordSchema>;
export type RecordedFile = InstallRecord['files'][number];
export type RecordedKey = InstallRecord['registry'][number];

export function emptyRecord(hostName: string, scope: 'user' | 'system'): InstallRecord {
  return { version: 1, hostName, scope, files: [], registry: [], createdDirs: [] };
}

export type RecordRead =
  { state: 'missing' } | { state: 'ok'; record: InstallRecord } | { state: 'unreadable'; reason: string };

export async function readRecord(path: string): Promise<RecordRead> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { state: 'missing' };
    return { state: 'unreadable', reason: (error as NodeJS.ErrnoException).code ?? 'read error' };
  }
  if (text.length > MAX_RECORD_BYTES) return { state: 'unreadable', reason: 'too large' };
  try {
    const parsed = v.safeParse(InstallRecordSchema, JSON.parse(text));
    return parsed.success
      ? { state: 'ok', record: parsed.output }
      : { state: 'unreadable', reason: 'unexpected content' };
  } catch {
    return { state: 'unreadable', reason: 'not JSON' };
  }
}

/** Writes the record (fields in a fixed order) unless the file already says exactly this. */
export async function writeRecord(path: string, record: InstallRecord): Promise<void> {
  const { version, hostName, scope, launcher, files, registry, createdDirs } = record;
  const text = `${JSON.stringify({ version, hostName, scope, ...(launcher ? { launcher } : {}), files, registry, createdDirs }, null, 2)}\n`;
  const existing = await readFile(path, 'utf8').catch(() => undefined);
  if (existing === text) return;
  await writeFileAtomic(path, text, { mode: 0o600 });
}

export async function removeRecord(path: string): Promise<void> {
  await rm(path, { force: true });
}

/** Adds browsers to a file's entry (or the entry itself); the newest hash wins. */
export function mergeFile(record: InstallRecord, entry: RecordedFile): void {
  const existing = record.files.find((f) => f.path === entry.path);
  if (!existing) {
    record.files.push({ ...entry, browsers: [...entry.browsers] });
    return;
  }
  existing.sha256 = entry.sha256;
  existing.kind = entry.kind;
  if (entry.flatpak) existing.flatpak = entry.flatpak;
  for (const b of entry.browsers) if (!existing.browsers.includes(b)) existing.browsers.push(b);
}

export function mergeKey(record: InstallRecord, entry: RecordedKey): void {
  const existing = record.registry.find((k) => k.key.toLowerCase() === entry.key.toLowerCase());
  if (!existing) {
    record.registry.push({ ...entry, browsers: [...entry.browsers] });
    return;
  }
  existing.value = entry.value;
  for (const b of entry.browsers) if (!existing.browsers.includes(b)) existing.browsers.push(b);
}

export function mergeDirs(record: InstallRecord, dirs: readonly string[]): void {
  for (const d of dirs) if (!record.createdDirs.includes(d)) record.createdDirs.push(d);
}

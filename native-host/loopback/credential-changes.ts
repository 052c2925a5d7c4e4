/**
 * Every stored, replaced or forgotten set, whichever process made the change.
 *
 * Activations through this server announce themselves on `services.events`, but
 * most changes happen in other processes: the native host a browser starts, the
 * CLI. So the truth is the credentials folder itself: each product's file is
 * compared (inode, size, mtime) with what it was at the last look. A look is
 * taken when an in-process event says so, when the folder changes (fs.watch),
 * and every few seconds in case a watch event was lost. One look at a time, so
 * a change is announced once however many of these noticed it.
 */
import { watch, type FSWatcher } from 'node:fs';
import { chmod, mkdir, stat } from 'node:fs/promises';
import type { CredentialsEvent } from '../../shared/messages.ts';
import type { HostServices } from '../services.ts';

export interface CredentialChangesOptions {
  /** Wait this long after a folder change before looking (a write is several events). */
  debounceMs?: number;
  /** Safety net for lost watch events. */
  rescanMs?: number;
}

export interface CredentialChanges {
  close(): void;
}

type FileIdentity = string | null;

async function identityOf(file: string): Promise<FileIdentity> {
  try {
    const info = await stat(file);
    return info.isFile() ? `${info.ino}:${info.size}:${info.mtimeMs}:${info.ctimeMs}` : null;
  } catch {
    return null;
  }
}

export async function watchCredentialChanges(
  services: Pick<HostServices, 'config' | 'store' | 'events' | 'log' | 'now'>,
  onChange: (event: CredentialsEvent) => void,
  options: CredentialChangesOptions = {},
): Promise<CredentialChanges> {
  const { config, store, events, log } = services;
  const debounceMs = options.debounceMs ?? 50;
  const rescanMs = options.rescanMs ?? 5_000;
  const directory = store.directory;
  // The store creates the folder the same way; it must exist to be watched.
  await mkdir(directory, { recursive: true, mode: 0o700 });
  await chmod(directory, 0o700).catch(() => undefined);

  const known = new Map<string, FileIdentity>();
  for (const product of config.products) known.set(product.code, await identityOf(store.fileFor(product.code)));

  /** The time an in-process event gave for a product, used when the look confirms it. */
  const announcedAt = new Map<string, string>();
  let closed = false;
  let looking: Promise<void> | null = null;
  let lookAgain = false;
  let debounce: ReturnType<typeof setTimeout> | undefined;
  let watcher: FSWatcher | undefined;

  const lookOnce = async () => {
    // Times announced before this look began belong to it; later ones to the next look.
    const times = new Map(announcedAt);
    announcedAt.clear();
    for (const product of config.products) {
      const before = known.get(product.code) ?? null;
      const now = await identityOf(store.fileFor(product.code));
      if (closed) return;
      if (now === before) continue;
      known.set(product.code, now);
      const change: CredentialsEvent['change'] = now === null ? 'forgotten' : before === null ? 'stored' : 'replaced';
      const at = times.get(product.code) ?? new Date(services.now()).toISOString();
      onChange({ type: 'credentials-changed', product: { code: product.code, name: product.name }, change, at });
    }
  };

  const look = () => {
    if (closed) return;
    if (looking) {
      lookAgain = true;
      return;
    }
    looking = lookOnce()
      .catch((error: unknown) =>
        log.warn('could not look at the credentials folder', {
          error: error instanceof Error ? error.message : String(error),
        }),
      )
      .finally(() => {
        looking = null;
        if (lookAgain) {
          lookAgain = false;
          look();
        }
      });
  };

  const soon = () => {
    if (closed) return;
    if (debounce !== undefined) clearTimeout(debounce);
    debounce = setTimeout(look, debounceMs);
  };

  const startWatching = () => {
    if (closed || watcher) return;
    try {
      watcher = watch(directory, { persistent: false }, soon);
      watcher.on('error', () => {
        // The folder was removed or the watch broke: the periodic look restarts it.
        watcher?.close();
        watcher = undefined;
      });
    } catch {
      watcher = undefined;
    }
  };

  const onEvent = (event: CredentialsEvent) => {
    announcedAt.set(event.product.code, event.at);
    look();
  };
  events.on('credentials-changed', onEvent);
  startWatching();
  const periodic = setInterval(() => {
    startWatching();
    look();
  }, rescanMs);
  periodic.unref();

  return {
    close() {
      closed = true;
      events.off('credentials-changed', onEvent);
      clearInterval(periodic);
      if (debounce !== undefined) clearTimeout(debounce);
      watcher?.close();
      watcher = undefined;
    },
  };
}

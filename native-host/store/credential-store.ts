/**
 * One encrypted file per product (`<dataDir>/credentials/<CODE>.cred`), sealed
 * under a random data key kept in the OS keychain (service named after the
 * vendor, account = product code and the data folder it serves: see keychainAccount).
 *
 * Replacing a set: under a per-product lock, the data key is reused (created
 * only when missing, so a replace never strands the file), the new file goes to
 * a temp file that is fsynced and renamed over the old one, and is read back
 * before we say it is stored. Until the rename the old file is untouched.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmod, open as openFile, readdir, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import * as v from 'valibot';
import { isProductCode } from '../../shared/product-code.ts';
import {
  ensurePrivateDataDir,
  ensurePrivateDir,
  readPrivateBytes,
  UnsafePathError,
  writePrivateFile,
} from './private-file.ts';
import { HostError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { silentLogger } from '../log.ts';
import { probe, type Keychain } from './keychain.ts';
import { DATA_KEY_BYTES, MAX_SEALED_FILE_BYTES, open, seal, UnreadableFileError } from './sealed-file.ts';

const StoredCredentialsSchema = v.strictObject({
  accessKeyId: v.pipe(v.string(), v.minLength(1), v.maxLength(256)),
  secretAccessKey: v.pipe(v.string(), v.minLength(1), v.maxLength(256)),
  userToken: v.pipe(v.string(), v.minLength(1), v.maxLength(8192)),
  /** ISO-8601. */
  activatedAt: v.pipe(v.string(), v.isoTimestamp()),
  requestId: v.nullable(v.pipe(v.string(), v.maxLength(256))),
});
export type StoredCredentials = v.InferOutput<typeof StoredCredentialsSchema>;

export type StoredState =
  | { state: 'not-activated' }
  | { state: 'unreadable'; reason: 'key-missing' | 'file-damaged' }
  | { state: 'activated'; credentials: StoredCredentials };

export type AtomicWrite = (path: string, data: Buffer, options: { mode: number; fsync: boolean }) => Promise<void>;

export interface CredentialStoreOptions {
  vendorId: string;
  dataDir: string;
  keychain: Keychain;
  log?: Logger;
  /** How long to wait for another activation of the same product before BUSY. */
  lockWaitMs?: number;
  /** Replaceable so tests can crash a write half-way. */
  atomicWrite?: AtomicWrite;
}

export const CREDENTIALS_UNREADABLE_MESSAGE = 'credentials unreadable: reactivate';

export class CredentialStore {
  readonly vendorId: string;
  readonly directory: string;
  private readonly keychain: Keychain;
  private readonly log: Logger;
  private readonly lockWaitMs: number;
  private readonly atomicWrite: AtomicWrite;
  private readonly dataDir: string;

  constructor(options: CredentialStoreOptions) {
    this.dataDir = options.dataDir;
    this.vendorId = options.vendorId;
    this.directory = join(options.dataDir, 'credentials');
    this.keychain = options.keychain;
    this.log = options.log ?? silentLogger;
    this.lockWaitMs = options.lockWaitMs ?? 15_000;
    // Never follows a planted link: a fresh O_EXCL|O_NOFOLLOW temporary file renamed over the old one (private-file.ts).
    this.atomicWrite = options.atomicWrite ?? ((path, data) => writePrivateFile(path, data));
  }

  fileFor(productCode: string): string {
    if (!isProductCode(productCode))
      throw new HostError('UNKNOWN_PRODUCT', 'Product codes are 1 to 32 letters and digits.');
    return join(this.directory, `${productCode}.cred`);
  }

  /** The state of a product's set. Throws KeychainError when the keychain cannot be used. */
  async read(productCode: string): Promise<StoredState> {
    const file = await this.readFileIfAny(productCode);
    if (file === null) return { state: 'not-activated' };
    const dataKey = await this.readDataKey(productCode);
    if (dataKey === null) {
      // keytar returns null for "no entry" and for a broken or locked keychain alike.
      await this.assertKeychainWorks();
      return { state: 'unreadable', reason: 'key-missing' };
    }
    try {
      const plain = open(file, dataKey, { vendorId: this.vendorId, productCode });
      const parsed = v.safeParse(StoredCredentialsSchema, JSON.parse(plain.toString('utf8')));
      if (!parsed.success) return { state: 'unreadable', reason: 'file-damaged' };
      return { state: 'activated', credentials: parsed.output };
    } catch (error) {
      if (error instanceof UnreadableFileError || error instanceof SyntaxError)
        return { state: 'unreadable', reason: 'file-damaged' };
      throw error;
    }
  }

  /**
   * Stores a new set for the product. With `allowReplace` false an existing
   * readable set is kept and ALREADY_ACTIVATED thrown (an unreadable one is
   * replaced: it is of no use to anyone). Returns whether a file was replaced.
   */
  async replace(
    productCode: string,
    credentials: StoredCredentials,
    options: { allowReplace: boolean; product: { code: string; name: string } },
  ): Promise<{ replaced: boolean }> {
    const validated = v.parse(StoredCredentialsSchema, credentials);
    return this.withLock(productCode, async () => {
      const existing = await this.read(productCode);
      if (existing.state === 'activated' && !options.allowReplace) {
        throw new HostError(
          'ALREADY_ACTIVATED',
          `${options.product.name} is already activated on this computer. Confirm to replace its credentials with the new ones.`,
          {
            product: options.product,
          },
        );
      }
      await this.removeStaleTempFiles(productCode);
      const dataKey = await this.ensureDataKey(productCode);
      const path = this.fileFor(productCode);
      const sealed = seal(Buffer.from(JSON.stringify(validated), 'utf8'), dataKey, {
        vendorId: this.vendorId,
        productCode,
      });
      try {
        await this.atomicWrite(path, sealed, { mode: 0o600, fsync: true });
        await chmod(path, 0o600);
        await fsyncDirectory(this.directory);
      } catch (error) {
        this.log.error('could not write the credentials file', { product: productCode, error: describeFsError(error) });
        throw new HostError(
          'STORAGE_FAILED',
          `The credentials could not be saved in ${this.directory} (${describeFsError(error)}). Free some disk space or fix the folder's permissions, then activate again.`,
        );
      }
      // Read back what a desktop product will read.
      const check = await this.read(productCode);
      if (
        check.state !== 'activated' ||
        check.credentials.accessKeyId !== validated.accessKeyId ||
        check.credentials.secretAccessKey !== validated.secretAccessKey
      ) {
        throw new HostError(
          'STORAGE_FAILED',
          'The credentials were written but could not be read back. Activate again.',
        );
      }
      return { replaced: existing.state !== 'not-activated' };
    });
  }

  /** Removes the product's file and its keychain entry. Returns what was there. */
  async forget(productCode: string): Promise<{ removedFile: boolean; removedKey: boolean }> {
    return this.withLock(productCode, async () => {
      const path = this.fileFor(productCode);
      let removedFile = false;
      try {
        await stat(path);
        removedFile = true;
      } catch {
        // nothing on disk
      }
      try {
        await rm(path, { force: true });
        await this.removeStaleTempFiles(productCode);
        await fsyncDirectory(this.directory);
      } catch (error) {
        throw new HostError('STORAGE_FAILED', `The credentials file could not be removed (${describeFsError(error)}).`);
      }
      const removedKey = await this.keychain.delete(keychainAccount(this.dataDir, productCode));
      return { removedFile, removedKey };
    });
  }

  /** Throws KEYCHAIN_* when the keychain does not really work. */
  async assertKeychainWorks(): Promise<void> {
    const result = await probe(this.keychain);
    if (!result.ok) throw new HostError(result.code, result.message);
  }

  private async readFileIfAny(productCode: string): Promise<Buffer | null> {
    const path = this.fileFor(productCode);
    try {
      // A link, a folder or an oversized file is present but not ours: unreadable (a reactivation replaces it, not its target).
      return (await readPrivateBytes(path, MAX_SEALED_FILE_BYTES)) ?? null;
    } catch (error) {
      if (error instanceof UnsafePathError) return Buffer.alloc(0);
      throw new HostError('STORAGE_FAILED', `The credentials file could not be read (${describeFsError(error)}).`);
    }
  }

  private async readDataKey(productCode: string): Promise<Buffer | null> {
    const stored = await this.keychain.get(keychainAccount(this.dataDir, productCode));
    if (stored === null) return null;
    const key = Buffer.from(stored, 'base64');
    return key.length === DATA_KEY_BYTES ? key : null;
  }

  private async ensureDataKey(productCode: string): Promise<Buffer> {
    const existing = await this.readDataKey(productCode);
    if (existing) return existing;
    const fresh = randomBytes(DATA_KEY_BYTES);
    await this.keychain.set(keychainAccount(this.dataDir, productCode), fresh.toString('base64'));
    const back = await this.readDataKey(productCode);
    if (!back || !back.equals(fresh)) {
      throw new HostError(
        'KEYCHAIN_UNAVAILABLE',
        'The keychain accepted the encryption key but did not return it. Check that your keychain (Secret Service) is running and unlocked, then activate again.',
      );
    }
    this.log.info('created a data key in the keychain', { product: productCode });
    return fresh;
  }

  private async ensureDirectory(): Promise<void> {
    try {
      await ensurePrivateDataDir(this.dataDir);
      await ensurePrivateDir(this.directory);
    } catch (error) {
      if (error instanceof UnsafePathError) throw new HostError('STORAGE_FAILED', error.message);
      throw new HostError(
        'STORAGE_FAILED',
        `The credentials folder ${this.directory} could not be created (${describeFsError(error)}).`,
      );
    }
  }

  private async withLock<T>(productCode: string, work: () => Promise<T>): Promise<T> {
    const path = this.fileFor(productCode);
    await this.ensureDirectory();
    let release: () => Promise<void>;
    try {
      // Loaded on first use: a host that only says hello does not load it (with graceful-fs) at start-up.
      const { default: lockfile } = await import('proper-lockfile');
      release = await lockfile.lock(path, {
        realpath: false,
        lockfilePath: `${path}.lock`,
        // Held for milliseconds; a holder that was killed frees it after this long.
        stale: 4_000,
        retries: {
          retries: Math.max(1, Math.ceil(this.lockWaitMs / 200)),
          factor: 1,
          minTimeout: 200,
          maxTimeout: 200,
        },
        onCompromised: (error) =>
          this.log.warn('credentials lock was compromised', { product: productCode, error: error.message }),
      });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ELOCKED') {
        throw new HostError(
          'BUSY',
          'Another activation of this product is in progress. Wait for it to finish, then try again.',
        );
      }
      throw new HostError('STORAGE_FAILED', `The credentials folder could not be locked (${describeFsError(error)}).`);
    }
    try {
      return await work();
    } finally {
      await release().catch(() => undefined);
    }
  }

  /** write-file-atomic leaves `<file>.<hash>` behind only if a writer died; under the lock nobody is writing. */
  private async removeStaleTempFiles(productCode: string): Promise<void> {
    const prefix = `${productCode}.cred.`;
    let names: string[];
    try {
      names = await readdir(this.directory);
    } catch {
      return;
    }
    for (const name of names) {
      if (name.startsWith(prefix) && name !== `${productCode}.cred.lock`)
        await rm(join(this.directory, name), { force: true, recursive: false }).catch(() => undefined);
    }
  }
}

async function fsyncDirectory(directory: string): Promise<void> {
  if (process.platform === 'win32') return; // directories cannot be opened for fsync there
  const handle = await openFile(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function describeFsError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException)?.code;
  return code ? code : error instanceof Error ? error.message.split('\n')[0]! : 'unknown error';
}

/**
 * The keychain account of a product's data key. It names the data folder too, so
 * that two folders of one vendor (a vendor's test folder beside the customer's
 * own, say) never share or delete each other's key.
 */
export function keychainAccount(dataDir: string, productCode: string): string {
  const folder = createHash('sha256').update(resolve(dataDir)).digest('hex').slice(0, 16);
  return `${productCode}@${folder}`;
}

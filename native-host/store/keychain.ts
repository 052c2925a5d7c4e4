/**
 * The OS keychain through keytar, made safe to rely on:
 * - every call is bounded in time (with a display and a locked keyring, keytar
 *   waits for a password prompt; a native host must never hang the browser), and
 *   runs in a helper process that is killed when it overruns;
 * - failures become KEYCHAIN_UNAVAILABLE / KEYCHAIN_LOCKED with what to do;
 * - keytar fails quietly (a broken keychain returns null), so probeKeychain
 *   writes, reads back and deletes an entry to know it really works.
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { HostError } from '../errors.ts';
import { isPackaged, KEYCHAIN_BROKER_COMMAND } from '../sea/packaged.ts';

export const KEYCHAIN_TIMEOUT_MS = 5000;

// Loaded when first used: not before a host's first reply, nor by commands that never reach the keychain.
const builtin = createRequire(import.meta.url);
const childProcess = () => builtin('node:child_process') as typeof import('node:child_process');
const readline = () => builtin('node:readline') as typeof import('node:readline');
/** Each probe uses its own entry, so that two processes probing at once cannot see each other's value. */
const PROBE_ACCOUNT_PREFIX = 'devpay-companion-probe-';

export type KeychainErrorCode = 'KEYCHAIN_UNAVAILABLE' | 'KEYCHAIN_LOCKED';

export class KeychainError extends HostError {
  override name = 'KeychainError';
  constructor(
    override readonly code: KeychainErrorCode,
    message: string,
  ) {
    super(code, message);
  }
}

export interface Keychain {
  readonly service: string;
  get(account: string): Promise<string | null>;
  set(account: string, secret: string): Promise<void>;
  /** True when an entry was deleted. */
  delete(account: string): Promise<boolean>;
}

/** The keychain service name for a vendor's data keys (account = product code). */
export function keychainServiceName(vendorId: string): string {
  return `devpay-companion.${vendorId}`;
}

/**
 * keytar runs in a small child process (the broker), not in this one: a call that
 * hangs (a password prompt nobody sees, a stalled Secret Service) blocks a native
 * thread, and Node cannot exit while one is blocked. On a timeout we kill the
 * broker, so the time bound is real and the host can always exit.
 */
export const BROKER_SOURCE = `
'use strict';
let keytar, loadError;
try { keytar = require(process.argv[1]); } catch (e) { loadError = String((e && e.message) || e).split('\\n')[0]; }
const reply = (r) => process.stdout.write(JSON.stringify(r) + '\\n');
require('readline').createInterface({ input: process.stdin }).on('line', async (line) => {
  let q;
  try { q = JSON.parse(line); } catch { return; }
  if (loadError) return reply({ id: q.id, ok: false, error: 'LOAD: ' + loadError });
  try {
    let value = null;
    if (q.op === 'get') value = await keytar.getPassword(q.service, q.account);
    else if (q.op === 'set') await keytar.setPassword(q.service, q.account, q.secret);
    else if (q.op === 'delete') value = await keytar.deletePassword(q.service, q.account);
    reply({ id: q.id, ok: true, value });
  } catch (e) {
    reply({ id: q.id, ok: false, error: String((e && e.message) || e) });
  }
}).on('close', () => process.exit(0));
`;

type BrokerOp =
  | { op: 'get'; service: string; account: string }
  | { op: 'set'; service: string; account: string; secret: string }
  | { op: 'delete'; service: string; account: string };
type BrokerReply = { id: number; ok: true; value: string | boolean | null } | { id: number; ok: false; error: string };

class KeytarLoadError extends Error {}

class KeychainBroker {
  private child: ChildProcessWithoutNullStreams | undefined;
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve: (v: string | boolean | null) => void; reject: (e: Error) => void }
  >();
  private stderrTail = '';

  call(request: BrokerOp, timeoutMs: number, what: string): Promise<string | boolean | null> {
    const child = this.ensureChild();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        // The call is stuck in the broker: abandon the broker with it.
        this.stop(
          new KeychainError(
            'KEYCHAIN_LOCKED',
            `The keychain did not answer within ${Math.round(timeoutMs / 1000)} s (${what}); it is probably locked and waiting for your password. ${advice().locked}`,
          ),
        );
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.setRef(true);
      child.stdin.write(JSON.stringify({ id, ...request }) + '\n');
    });
  }

  /** Starts the broker ahead of the first call (it takes a Node start-up); it does not keep this process alive. */
  warm(): void {
    try {
      this.ensureChild();
    } catch {
      // keytar cannot be found: the first real call reports it.
    }
  }

  private ensureChild(): ChildProcessWithoutNullStreams {
    if (this.child) return this.child;
    const child = childProcess().spawn(process.execPath, brokerArguments(), {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: process.env,
      windowsHide: true,
      detached: true,
    });
    this.child = child;
    this.stderrTail = '';
    child.stderr.on('data', (d: Buffer) => (this.stderrTail = (this.stderrTail + d.toString()).slice(-400)));
    child.stdin.on('error', () => undefined);
    readline()
      .createInterface({ input: child.stdout })
      .on('line', (line) => {
        let reply: BrokerReply;
        try {
          reply = JSON.parse(line) as BrokerReply;
        } catch {
          return;
        }
        const waiter = this.pending.get(reply.id);
        if (!waiter) return;
        this.pending.delete(reply.id);
        if (reply.ok) waiter.resolve(reply.value);
        else if (reply.error.startsWith('LOAD: ')) waiter.reject(new KeytarLoadError(reply.error.slice(6)));
        else waiter.reject(new Error(reply.error));
        if (this.pending.size === 0) this.setRef(false);
      });
    const onGone = (error?: Error) => {
      if (this.child !== child) return;
      this.child = undefined;
      const why = error ? error.message : this.stderrTail.trim().split('\n').pop() || 'it exited';
      this.failAll(
        new KeychainError(
          'KEYCHAIN_UNAVAILABLE',
          `The keychain helper stopped (${why}). Try again; if it persists, run "devpay-companion doctor".`,
        ),
      );
    };
    child.once('error', onGone);
    child.once('exit', () => onGone());
    this.setRef(false);
    return child;
  }

  /** The broker only keeps this process alive while a call is waiting. */
  private setRef(on: boolean): void {
    const child = this.child;
    if (!child) return;
    for (const handle of [child, child.stdout, child.stderr, child.stdin] as {
      ref?: () => void;
      unref?: () => void;
    }[]) {
      if (on) handle.ref?.();
      else handle.unref?.();
    }
  }

  private failAll(error: Error): void {
    const waiters = [...this.pending.values()];
    this.pending.clear();
    for (const w of waiters) w.reject(error);
  }

  stop(error: Error = new KeychainError('KEYCHAIN_UNAVAILABLE', 'The keychain helper was stopped.')): void {
    const child = this.child;
    this.child = undefined;
    if (child) child.kill('SIGKILL');
    this.failAll(error);
  }
}

/** Node runs the broker source with keytar from node_modules; the packaged executable (where execPath is the app) runs it as a hidden subcommand. */
function brokerArguments(): string[] {
  if (isPackaged()) return [KEYCHAIN_BROKER_COMMAND];
  try {
    return ['-e', BROKER_SOURCE, createRequire(import.meta.url).resolve('keytar')];
  } catch (error) {
    throw new KeytarLoadError(error instanceof Error ? error.message.split('\n')[0] : String(error));
  }
}

let broker: KeychainBroker | undefined;

function getBroker(): KeychainBroker {
  if (!broker) {
    broker = new KeychainBroker();
    process.once('exit', () => broker?.stop());
  }
  return broker;
}

function keytarUnavailable(error: KeytarLoadError): KeychainError {
  return new KeychainError(
    'KEYCHAIN_UNAVAILABLE',
    `The keychain module (keytar) could not be loaded: reinstall devpay-companion${process.platform === 'linux' ? ' and make sure libsecret-1-0 is installed' : ''}. (${error.message})`,
  );
}

const WHAT_TO_DO = {
  linux: {
    noBus:
      'No desktop session bus (D-Bus) is available, so there is no keychain. Run this from your desktop session (or start one with dbus-run-session) with a Secret Service such as GNOME Keyring or KWallet running.',
    noService:
      'No keychain (Secret Service) is running in this session. Install and start GNOME Keyring (gnome-keyring-daemon) or KWallet, then try again.',
    noCollection:
      'The keychain has no default ("login") keyring. Create one with "Passwords and Keys" (Seahorse), then try again.',
    locked:
      'The keychain is locked. Unlock your login keyring (log in to the desktop again, or unlock it in "Passwords and Keys"), then try again.',
  },
  darwin: {
    noBus: 'The macOS Keychain could not be reached. Run this from your logged-in user session.',
    noService: 'The macOS Keychain could not be reached. Run this from your logged-in user session.',
    noCollection: 'Your login keychain is missing. Repair it in Keychain Access, then try again.',
    locked: 'Your login keychain is locked. Unlock it in Keychain Access, then try again.',
  },
  win32: {
    noBus: 'The Windows Credential Manager could not be reached. Run this from your own logged-in account.',
    noService: 'The Windows Credential Manager could not be reached. Run this from your own logged-in account.',
    noCollection: 'The Windows Credential Manager could not be reached. Run this from your own logged-in account.',
    locked: 'The Windows Credential Manager is not available. Log in to your account, then try again.',
  },
} as const;

function advice() {
  return process.platform === 'darwin'
    ? WHAT_TO_DO.darwin
    : process.platform === 'win32'
      ? WHAT_TO_DO.win32
      : WHAT_TO_DO.linux;
}

/** Turns what keytar/libsecret said into a code and an instruction. */
export function classifyKeychainFailure(error: unknown): KeychainError {
  if (error instanceof KeychainError) return error;
  const raw = error instanceof Error ? error.message : String(error);
  const said = raw.split('\n')[0]!.slice(0, 200);
  const a = advice();
  if (/locked|user interaction is not allowed|errSecInteractionNotAllowed/i.test(raw))
    return new KeychainError('KEYCHAIN_LOCKED', a.locked);
  if (
    /autolaunch|DBUS_SESSION_BUS_ADDRESS|Could not connect|Failed to connect to socket|No such file or directory/i.test(
      raw,
    )
  )
    return new KeychainError('KEYCHAIN_UNAVAILABLE', `${a.noBus} (keychain said: ${said})`);
  if (/Object does not exist at path|No such object/i.test(raw))
    return new KeychainError('KEYCHAIN_UNAVAILABLE', a.noCollection);
  if (/not provided by any \.service files|org\.freedesktop\.secrets|ServiceUnknown|NameHasNoOwner/i.test(raw))
    return new KeychainError('KEYCHAIN_UNAVAILABLE', a.noService);
  return new KeychainError('KEYCHAIN_UNAVAILABLE', `The keychain refused the request (keychain said: ${said}).`);
}

async function bounded<T>(what: string, timeoutMs: number, request: BrokerOp): Promise<T> {
  try {
    return (await getBroker().call(request, timeoutMs, what)) as T;
  } catch (error) {
    if (error instanceof KeytarLoadError) throw keytarUnavailable(error);
    throw classifyKeychainFailure(error);
  }
}

/**
 * Starts the keychain broker now, so that the first keychain call does not wait
 * for it to boot. Every call keeps its own time limit, counted from the call.
 */
export function warmKeychain(): void {
  getBroker().warm();
}

export function openKeychain(service: string, timeoutMs = KEYCHAIN_TIMEOUT_MS): Keychain {
  return {
    service,
    get: (account) => bounded<string | null>('read', timeoutMs, { op: 'get', service, account }),
    set: async (account, secret) => {
      await bounded<null>('write', timeoutMs, { op: 'set', service, account, secret });
    },
    delete: async (account) =>
      (await bounded<boolean | null>('delete', timeoutMs, { op: 'delete', service, account })) === true,
  };
}

export type KeychainProbe = { ok: true } | { ok: false; code: KeychainErrorCode; message: string };

/** Writes, reads back and deletes a throw-away entry: the only reliable sign that the keychain works. */
export async function probeKeychain(service: string, timeoutMs = KEYCHAIN_TIMEOUT_MS): Promise<KeychainProbe> {
  return probe(openKeychain(service, timeoutMs));
}

export async function probe(keychain: Keychain): Promise<KeychainProbe> {
  const value = randomBytes(12).toString('base64');
  const account = `${PROBE_ACCOUNT_PREFIX}${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await keychain.set(account, value);
    const back = await keychain.get(account);
    await keychain.delete(account).catch(() => false);
    if (back !== value) {
      return {
        ok: false,
        code: 'KEYCHAIN_UNAVAILABLE',
        message: `The keychain accepted an entry but did not return it. ${advice().noService}`,
      };
    }
    return { ok: true };
  } catch (error) {
    const failure = classifyKeychainFailure(error);
    return { ok: false, code: failure.code, message: failure.message };
  }
}

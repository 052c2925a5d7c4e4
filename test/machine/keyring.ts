/**
 * A private Secret Service for tests: its own dbus-daemon (own config, no service
 * activation, socket in a temp folder) and gnome-keyring-daemon with an unlocked
 * login keyring whose files live in a temp XDG_DATA_HOME. Nothing touches the
 * real session or home folder; stop() ends every process it started.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface Keyring {
  /** What a client needs: DBUS_SESSION_BUS_ADDRESS (plus XDG dirs pointing into the temp folder). */
  env: Record<string, string>;
  /** Locks the login collection (the state a customer's locked keychain is in). */
  lock(): Promise<void>;
  /** SIGSTOPs gnome-keyring: calls then hang (as with a password prompt nobody answers). */
  pause(): void;
  resume(): void;
  /** Stops gnome-keyring but keeps the bus: keytar then fails quietly (null, no error). */
  stopSecretService(): Promise<void>;
  stop(): Promise<void>;
}

const PASSWORD = 'test-keyring-password';

function busConfig(socketPath: string): string {
  return `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=${socketPath}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`;
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve();
    }, timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

async function nameHasOwner(env: Record<string, string>, name: string): Promise<boolean> {
  try {
    const { stdout } = await execFileAsync(
      'dbus-send',
      [
        '--session',
        '--dest=org.freedesktop.DBus',
        '--type=method_call',
        '--print-reply',
        '/org/freedesktop/DBus',
        'org.freedesktop.DBus.NameHasOwner',
        `string:${name}`,
      ],
      { env: { ...process.env, ...env }, timeout: 2000 },
    );
    return /boolean true/.test(stdout);
  } catch {
    return false;
  }
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`keyring helper: timed out waiting for ${what}`);
}

export interface KeyringOptions {
  /** false: only the private bus, no Secret Service on it (a session without a keychain). */
  secretService?: boolean;
}

export async function startKeyring(options: KeyringOptions = {}): Promise<Keyring> {
  const root = await mkdtemp(join(tmpdir(), 'devpay-keyring-'));
  const runtimeDir = join(root, 'runtime');
  const dataHome = join(root, 'data');
  await mkdir(runtimeDir, { mode: 0o700 });
  await mkdir(dataHome, { mode: 0o700 });
  const socketPath = join(root, 'bus');
  const configPath = join(root, 'bus.conf');
  await writeFile(configPath, busConfig(socketPath));

  const children: ChildProcess[] = [];
  const bus = spawn('dbus-daemon', [`--config-file=${configPath}`, '--nofork', '--nopidfile'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(bus);
  let busErr = '';
  bus.stderr?.on('data', (d: Buffer) => (busErr += d.toString()));

  const env: Record<string, string> = {
    DBUS_SESSION_BUS_ADDRESS: `unix:path=${socketPath}`,
    XDG_RUNTIME_DIR: runtimeDir,
    XDG_DATA_HOME: dataHome,
  };
  let keyringDaemon: ChildProcess | undefined;
  const stop = async () => {
    for (const child of children.toReversed()) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGCONT'); // a paused daemon cannot act on SIGTERM
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await waitForExit(child, 2000);
    }
    children.length = 0;
    await rm(root, { recursive: true, force: true });
  };

  try {
    await waitUntil(async () => nameHasOwner(env, 'org.freedesktop.DBus'), 5000, `dbus-daemon (${busErr.trim()})`);
    if (options.secretService === false)
      return {
        env,
        lock: async () => undefined,
        pause: () => undefined,
        resume: () => undefined,
        stopSecretService: async () => undefined,
        stop,
      };
    // No DISPLAY: gnome-keyring must never try to show a prompt.
    const daemonEnv: NodeJS.ProcessEnv = { ...process.env, ...env, HOME: root };
    delete daemonEnv.DISPLAY;
    delete daemonEnv.WAYLAND_DISPLAY;
    keyringDaemon = spawn('gnome-keyring-daemon', ['--foreground', '--unlock', '--components=secrets'], {
      env: daemonEnv,
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    children.push(keyringDaemon);
    keyringDaemon.stdin?.end(PASSWORD);
    // The daemon owns the name some tens of milliseconds after it reads the password.
    await waitUntil(
      async () => nameHasOwner(env, 'org.freedesktop.secrets'),
      10_000,
      'org.freedesktop.secrets on the private bus',
    );
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    env,
    async lock() {
      await execFileAsync(
        'dbus-send',
        [
          '--session',
          '--dest=org.freedesktop.secrets',
          '--type=method_call',
          '--print-reply',
          '/org/freedesktop/secrets',
          'org.freedesktop.Secret.Service.Lock',
          'array:objpath:/org/freedesktop/secrets/collection/login',
        ],
        { env: { ...process.env, ...env }, timeout: 5000 },
      );
    },
    pause() {
      keyringDaemon?.kill('SIGSTOP');
    },
    resume() {
      keyringDaemon?.kill('SIGCONT');
    },
    async stopSecretService() {
      if (keyringDaemon && keyringDaemon.exitCode === null) {
        keyringDaemon.kill('SIGCONT');
        keyringDaemon.kill('SIGTERM');
        await waitForExit(keyringDaemon, 2000);
      }
      await waitUntil(
        async () => !(await nameHasOwner(env, 'org.freedesktop.secrets')),
        5000,
        'gnome-keyring to leave the bus',
      );
    },
    stop,
  };
}

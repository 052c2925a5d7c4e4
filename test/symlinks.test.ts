/**
 * Planted symbolic links and folders open to others (issue 14, item 4): the
 * packaged CLI, the loopback server and the log, against links at the
 * credentials file and folder, the data folder, `loopback.token` and
 * `logs/host.log`, and against data folders (or a folder above them) that other
 * users can write to. A link's target is never written, appended to or chmod'ed.
 */
import { chmod, chown, lstat, mkdir, readFile, readdir, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../native-host/log.ts';
import { serveLoopback } from '../native-host/api.ts';
import { runCli } from './machine/companion.ts';
import { useTestServices, type TestCase } from './helpers/test-services.ts';

const services = useTestServices('symlinks', { keytarInThisProcess: true });

/** Another user's file the attacker points the link at: its content and mode must survive. */
async function victim(dir: string): Promise<{ path: string; unchanged(): Promise<void> }> {
  const path = join(dir, 'victim.txt');
  await writeFile(path, 'precious\n', { mode: 0o644 });
  await chmod(path, 0o644);
  return {
    path,
    async unchanged() {
      expect(await readFile(path, 'utf8')).toBe('precious\n');
      expect((await stat(path)).mode & 0o777).toBe(0o644);
    },
  };
}

async function victimFolder(dir: string): Promise<{ path: string; unchanged(): Promise<void> }> {
  const path = join(dir, 'victim-folder');
  await mkdir(path, { mode: 0o755 });
  await chmod(path, 0o755);
  return {
    path,
    async unchanged() {
      expect(await readdir(path)).toEqual([]);
      expect((await stat(path)).mode & 0o777).toBe(0o755);
    },
  };
}

function activate(testCase: TestCase) {
  return runCli(['activate', '--product', 'ACMEBK01', '--key', '-'], {
    env: testCase.env,
    input: `${services.sim.purchase('ACMEBK01')}\n`,
    timeoutMs: 60_000,
  });
}

describe('planted links', () => {
  it('a link at the credentials file is replaced, its target untouched', async () => {
    const testCase = await services.newCase();
    const target = await victim(testCase.dir);
    await mkdir(join(testCase.dataDir, 'credentials'), { recursive: true, mode: 0o700 });
    const file = join(testCase.dataDir, 'credentials', 'ACMEBK01.cred');
    await symlink(target.path, file);
    const result = await activate(testCase);
    expect(result.code, result.stderr).toBe(0);
    await target.unchanged();
    const info = await lstat(file);
    expect(info.isFile()).toBe(true);
    expect(info.mode & 0o777).toBe(0o600);
    expect((await runCli(['credentials', '--product', 'ACMEBK01'], { env: testCase.env })).code).toBe(0);
  });

  it('a link at the credentials folder or the data folder is refused, saying how to fix it', async () => {
    const folderCase = await services.newCase();
    const folderTarget = await victimFolder(folderCase.dir);
    await mkdir(folderCase.dataDir, { mode: 0o700 });
    await symlink(folderTarget.path, join(folderCase.dataDir, 'credentials'));
    const folder = await activate(folderCase);
    expect(folder.code).toBe(5);
    expect(folder.stderr).toMatch(/credentials is a symbolic link.*Remove the link/);
    await folderTarget.unchanged();

    const dataCase = await services.newCase();
    const dataTarget = await victimFolder(dataCase.dir);
    await symlink(dataTarget.path, dataCase.dataDir);
    const data = await activate(dataCase);
    expect(data.code).toBe(5);
    expect(data.stderr).toMatch(/data is a symbolic link/);
    await dataTarget.unchanged();
  });

  it('a link at loopback.token is replaced by the server, its target untouched', async () => {
    const testCase = await services.newCase();
    const target = await victim(testCase.dir);
    await mkdir(testCase.dataDir, { mode: 0o700 });
    const tokenFile = join(testCase.dataDir, 'loopback.token');
    await symlink(target.path, tokenFile);
    const server = await serveLoopback({
      config: testCase.configPath,
      dataDir: testCase.dataDir,
      licenseService: services.sim.licenseServiceUrl,
      caFile: services.sim.caFile,
      env: {},
      port: 0,
    });
    try {
      await target.unchanged();
      const info = await lstat(tokenFile);
      expect(info.isFile()).toBe(true);
      expect(info.mode & 0o777).toBe(0o600);
    } finally {
      await server.close();
    }
  });

  it('a link at logs/host.log or at logs/ gets no line and no chmod', async () => {
    const testCase = await services.newCase();
    const target = await victim(testCase.dir);
    await mkdir(join(testCase.dataDir, 'logs'), { recursive: true, mode: 0o700 });
    await symlink(target.path, join(testCase.dataDir, 'logs', 'host.log'));
    createLogger({ stream: null, file: join(testCase.dataDir, 'logs', 'host.log') }).warn('a line');
    await target.unchanged();

    const other = await services.newCase();
    const folder = await victimFolder(other.dir);
    await mkdir(other.dataDir, { mode: 0o700 });
    await symlink(folder.path, join(other.dataDir, 'logs'));
    createLogger({ stream: null, file: join(other.dataDir, 'logs', 'host.log') }).warn('a line');
    await folder.unchanged();
  });
});

describe('folders open to other users', () => {
  it('refuses a data folder others can write to (0777), saying to chmod it; closes a merely readable one (0755)', async () => {
    const open = await services.newCase();
    await mkdir(open.dataDir, { mode: 0o777 });
    await chmod(open.dataDir, 0o777);
    const refused = await activate(open);
    expect(refused.code).toBe(5);
    expect(refused.stderr).toContain(`chmod 700 ${open.dataDir}`);

    const readable = await services.newCase();
    await mkdir(readable.dataDir, { mode: 0o755 });
    await chmod(readable.dataDir, 0o755);
    const ok = await activate(readable);
    expect(ok.code, ok.stderr).toBe(0);
    expect((await stat(readable.dataDir)).mode & 0o777).toBe(0o700);
  });

  it.skipIf(process.getuid?.() !== 0)(
    'refuses a data folder another user owns (needs root to hand one over)',
    async () => {
      const testCase = await services.newCase();
      await mkdir(testCase.dataDir, { mode: 0o700 });
      await chown(testCase.dataDir, 65534, 65534);
      const refused = await activate(testCase);
      expect(refused.code).toBe(5);
      expect(refused.stderr).toMatch(/belongs to another user \(uid 65534\)/);
    },
  );

  it('refuses a data folder below a folder others can write to, up to the home folder', async () => {
    const testCase = await services.newCase();
    await chmod(testCase.dir, 0o777); // the home folder (HOME) of this case
    try {
      const refused = await activate(testCase);
      expect(refused.code).toBe(5);
      expect(refused.stderr).toContain(`chmod go-w ${testCase.dir}`);
    } finally {
      await chmod(testCase.dir, 0o700);
    }
  });
});

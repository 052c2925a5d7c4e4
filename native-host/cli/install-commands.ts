/**
 * `install` and `uninstall`: turn flags into an install request for this machine
 * (install/this-machine.ts does the work) and the reports into text. Problems
 * surface as InstallError, which runCli maps to exit codes.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command } from 'commander';
import {
  BROWSER_IDS,
  BROWSERS,
  browserSpec,
  isBrowserId,
  type BrowserId,
  type InstallPlatform,
  type Scope,
} from '../install/browsers.ts';
import type { InstallReport } from '../install/install.ts';
import { detectSandboxedBrowsers } from '../install/sandbox.ts';
import { currentPlatform, HOST_BUNDLE_NAME, installForContext, uninstallForContext } from '../install/this-machine.ts';
import type { UninstallReport } from '../install/uninstall.ts';
import type { Settings, SettingsOptions } from '../settings.ts';
import { CliError, EXIT } from './exit-codes.ts';

export function parseBrowsers(names: string[] | undefined): BrowserId[] | undefined {
  if (!names || names.length === 0) return undefined;
  const ids = names
    .flatMap((n) => n.split(','))
    .map((n) => n.trim().toLowerCase())
    .filter(Boolean);
  const unknown = ids.filter((n) => !isBrowserId(n));
  if (unknown.length > 0) {
    throw new CliError(`Unknown browser ${unknown.join(', ')}: choose from ${BROWSER_IDS.join(', ')}.`, EXIT.USAGE);
  }
  return [...new Set(ids as BrowserId[])];
}

export function absoluteDirs(dirs: string[] | undefined): string[] | undefined {
  return dirs && dirs.length > 0 ? dirs.map((d) => resolve(d)) : undefined;
}

function browserNames(ids: readonly BrowserId[]): string {
  return ids.map((b) => browserSpec(b).name).join(', ');
}

function describeInstall(report: InstallReport, hostName: string, scope: Scope): string {
  const lines = [
    `Registered the native messaging host ${hostName}${scope === 'system' ? ' for every user' : ''}.`,
    `  launcher: ${report.launcher}${report.launcherChanged ? '' : ' (unchanged)'}`,
  ];
  for (const m of report.manifests) {
    const where = m.registryKey ? `${m.registryKey} -> ${m.path}` : m.path;
    lines.push(
      `  ${browserNames(m.browsers)}${m.flatpak ? ` (Flatpak ${m.flatpak})` : ''}: ${where}${m.changed ? '' : ' (unchanged)'}`,
    );
  }
  for (const s of report.skipped)
    lines.push(`  skipped ${isBrowserId(s.browser) ? browserSpec(s.browser).name : s.browser}: ${s.reason}`);
  for (const w of report.warnings) lines.push(`  warning: ${w}`);
  const flatpaks = report.manifests.filter((m) => m.flatpak).map((m) => m.flatpak!);
  for (const appId of flatpaks)
    lines.push(
      `  next: allow the Flatpak to start it: flatpak override --user --talk-name=org.freedesktop.Flatpak ${appId}`,
    );
  lines.push('Restart the browser if it was running, then check everything with: devpay-companion doctor');
  return `${lines.join('\n')}\n`;
}

function describeUninstall(report: UninstallReport): string {
  const lines: string[] = [];
  if (report.removed.length === 0 && report.registryCommands.length === 0)
    lines.push('Nothing of this installation was found; nothing removed.');
  else
    lines.push(
      'Removed:',
      ...report.removed.map((p) => `  ${p}`),
      ...report.registryCommands.map((c) => `  registry key ${c[2]}`),
    );
  for (const left of report.leftAlone) lines.push(`  left alone ${left.path}: ${left.reason}`);
  if (!report.complete) lines.push('The host stays registered with the other browsers.');
  return `${lines.join('\n')}\n`;
}

function sandboxAdvice(platform: InstallPlatform, hostName: string, loopbackPort: number): string {
  const findings = detectSandboxedBrowsers(platform, existsSync, hostName, loopbackPort);
  if (findings.length === 0) return '';
  const lines = ['Sandboxed browsers found:'];
  for (const f of findings) {
    lines.push(`  ${browserSpec(f.browser).name} (${f.packaging} ${f.appId}): ${f.summary}`);
    for (const step of f.steps) lines.push(`    - ${step}`);
  }
  return `${lines.join('\n')}\n`;
}

interface TargetFlags {
  browser?: string[];
  system?: boolean;
  userDataDir?: string[];
  flatpak?: boolean;
}

function addTargetOptions(command: Command, verb: string): Command {
  return command
    .option('--browser <name...>', `only these browsers (${BROWSER_IDS.join(', ')}); default: every browser found here`)
    .option('--system', `${verb} for every user (needs administrator rights; HKLM on Windows)`)
    .option(
      '--user-data-dir <dir...>',
      'a Chromium-family profile folder started with --user-data-dir (manifest in DIR/NativeMessagingHosts/)',
    )
    .option(
      '--flatpak',
      'also the Flatpak browsers found (Linux, per user): a manifest and wrapper inside each sandbox',
    );
}

export function writer(cmd: Command): (text: string) => void {
  const output = cmd.configureOutput();
  return output.writeOut ? (text) => output.writeOut!(text) : (text) => void process.stdout.write(text);
}

/** Adds `install` and `uninstall` to the CLI. */
export function registerInstallCommands(
  program: Command,
  resolveSettings: (opts: SettingsOptions) => Promise<Settings>,
): void {
  const browserList = BROWSERS.map((b) => `  ${b.id.padEnd(14)} ${b.name}`).join('\n');

  addTargetOptions(
    program
      .command('install')
      .description(
        "register the native messaging host with the browsers (writes each browser's host manifest and a launcher)",
      ),
    'register',
  )
    .option('--host-script <file>', `the host program the launcher runs (default: the ${HOST_BUNDLE_NAME} bundle)`)
    .addHelpText(
      'after',
      `\nBrowsers:\n${browserList}\n\nRunning it again is harmless: unchanged files are left as they are.\n`,
    )
    .action(async (flags: TargetFlags & { hostScript?: string }, cmd: Command) => {
      const settings = await resolveSettings(cmd.optsWithGlobals<SettingsOptions>());
      const scope: Scope = flags.system ? 'system' : 'user';
      const report = await installForContext(settings, {
        scope,
        browsers: parseBrowsers(flags.browser),
        userDataDirs: absoluteDirs(flags.userDataDir),
        flatpak: flags.flatpak,
        hostScript: flags.hostScript,
      });
      const write = writer(cmd);
      write(describeInstall(report, settings.config.nativeHostName, scope));
      if (!flags.flatpak)
        write(sandboxAdvice(currentPlatform(), settings.config.nativeHostName, settings.config.loopbackPort));
      process.exitCode = EXIT.OK;
    });

  addTargetOptions(
    program
      .command('uninstall')
      .description('remove what install wrote (manifests, registry keys, the launcher), and nothing else'),
    'unregister',
  ).action(async (flags: TargetFlags, cmd: Command) => {
    const settings = await resolveSettings(cmd.optsWithGlobals<SettingsOptions>());
    const report = await uninstallForContext(settings, {
      scope: flags.system ? 'system' : 'user',
      browsers: parseBrowsers(flags.browser),
      userDataDirs: absoluteDirs(flags.userDataDir),
      flatpak: flags.flatpak,
    });
    writer(cmd)(describeUninstall(report));
    process.exitCode = EXIT.OK;
  });
}

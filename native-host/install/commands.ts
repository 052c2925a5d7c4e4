import type { Command } from 'commander';
import type { GlobalOptions, HostContext } from '../cli/context.ts';

/** Adds `install`, `uninstall` and `doctor` to the CLI. (Owned by install/doctor; placeholder.) */
export function registerInstallCommands(_program: Command, _resolve: (opts: GlobalOptions) => Promise<HostContext>): void {}

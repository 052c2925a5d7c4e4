/**
 * The keychain broker inside the packaged executable (`devpay-companion
 * __keychain-broker`): the same broker source store/keychain.ts runs under node,
 * with keytar's addon loaded by process.dlopen from beside the executable
 * (the single executable has no node_modules to require it from).
 */
import { createRequire } from 'node:module';
import { BROKER_SOURCE } from '../store/keychain.ts';
import { keytarAddonPath } from './packaged.ts';

export function runKeychainBroker(): void {
  const addonPath = keytarAddonPath();
  const builtins = createRequire(process.execPath);
  const load = (id: string): unknown => {
    if (id !== addonPath) return builtins(id);
    const addon = { exports: {} as unknown };
    process.dlopen(addon, addonPath);
    return addon.exports;
  };
  // The broker source takes keytar's path from argv[1], as under `node -e SOURCE PATH`.
  process.argv = [process.execPath, addonPath];
  // The broker is this program's own bundled source, run with the addon loader as its `require`.
  // oxlint-disable-next-line typescript/no-implied-eval, typescript/no-unsafe-call
  new Function('require', BROKER_SOURCE)(load);
}

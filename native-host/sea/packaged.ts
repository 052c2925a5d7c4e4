/**
 * The packaged host: one executable (a Node single executable application) with
 * the keychain addon and the vendor configuration beside it. What differs from
 * running the bundle with a separate Node lives here.
 */
import { isSea } from 'node:sea';
import { dirname, join } from 'node:path';

/** The hidden subcommand that runs the keychain broker (see store/keychain.ts). */
export const KEYCHAIN_BROKER_COMMAND = '__keychain-broker';

/** keytar's addon file, shipped beside the executable. */
export const KEYTAR_ADDON_NAME = 'keytar.node';

/** True inside the single executable (then process.execPath is the app itself, not node). */
export function isPackaged(): boolean {
  return isSea();
}

/** Loaded from beside the executable, never extracted to a temp folder (Gatekeeper and AppLocker block code there). */
export function keytarAddonPath(): string {
  return join(dirname(process.execPath), KEYTAR_ADDON_NAME);
}

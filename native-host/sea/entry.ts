/**
 * Entry point of the packaged executable (a CommonJS bundle, see
 * scripts/release/executable.ts): the hidden keychain broker subcommand, else
 * the host exactly as native-host/main.ts runs it. (The bundler inlines these
 * imports; CommonJS has no top-level await.)
 */
import { KEYCHAIN_BROKER_COMMAND } from './packaged.ts';

if (process.argv[2] === KEYCHAIN_BROKER_COMMAND) {
  void import('./keychain-broker.ts').then(({ runKeychainBroker }) => runKeychainBroker());
} else {
  void import('../main.ts');
}

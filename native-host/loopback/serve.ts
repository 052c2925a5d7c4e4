/**
 * Starting the loopback channel from the desktop product's code: `serveLoopback()`
 * resolves the settings as the CLI does and starts the server. (`devpay-companion
 * serve` is cli/serve-command.ts.)
 */
import { silentLogger, type Logger } from '../log.ts';
import { createHostServices } from '../services.ts';
import { resolveSettings, type SettingsOptions } from '../settings.ts';
import { startLoopbackServer, type LoopbackLimits, type LoopbackServer } from './server.ts';

export interface ServeLoopbackOptions extends SettingsOptions {
  /** Default process.env (DEVPAY_CONFIG, DEVPAY_DATA_DIR, ...). */
  env?: NodeJS.ProcessEnv;
  /** Default the vendor configuration's loopbackPort; 0 picks a free port. */
  port?: number;
  tokenFile?: string;
  log?: Logger;
  limits?: Partial<LoopbackLimits>;
}

/** The loopback channel, configured as the CLI would be; close() it when done. */
export async function serveLoopback(options: ServeLoopbackOptions = {}): Promise<LoopbackServer> {
  const { env, port, tokenFile, log, limits, ...global } = options;
  const settings = await resolveSettings(global, env ?? process.env);
  const services = await createHostServices(settings, { log: log ?? silentLogger });
  return startLoopbackServer({
    services,
    ...(port !== undefined ? { port } : {}),
    ...(tokenFile !== undefined ? { tokenFile } : {}),
    ...(limits ? { limits } : {}),
  });
}

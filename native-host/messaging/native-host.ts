/**
 * The host as a browser starts it: resolve the settings, check the caller, then
 * serve native messaging on stdio until the browser closes stdin. stdout is
 * already reserved for frames by main.ts; `write` is the only way to reach it.
 */
import { ConfigError } from '../../shared/config.ts';
import type { ErrorReply, Reply } from '../../shared/messages.ts';
import { createLogger, parseLogLevel } from '../log.ts';
import { createRequestHandler } from '../protocol/handler.ts';
import { createHostServices, hostLogFile } from '../services.ts';
import { resolveSettings } from '../settings.ts';
import { warmKeychain } from '../store/keychain.ts';
import { isCallerAllowed, parseCaller } from './caller.ts';
import { encodeFrame } from './framing.ts';
import { serveNativeMessaging, type FrameWriter } from './native-messaging.ts';
import { browserStartedEnv } from './pinned-settings.ts';

/** The process's exit status (browsers ignore it; it tells a person reading logs why the host stopped). */
const EXIT_REFUSED_CALLER = 1;
const EXIT_MISCONFIGURED = 2;

function sendAndWait(write: FrameWriter, reply: ErrorReply): Promise<void> {
  return new Promise((resolve) => write(encodeFrame(reply), () => resolve()));
}

export async function runNativeHost(args: readonly string[], write: FrameWriter): Promise<number> {
  const level = parseLogLevel(process.env.DEVPAY_LOG_LEVEL, 'info');
  let log = createLogger({ level });

  let settings;
  try {
    // The License Service and CA only as install pinned them, never as the browser's environment says (pinned-settings.ts).
    settings = await resolveSettings({}, browserStartedEnv(process.env));
  } catch (error) {
    const message =
      error instanceof ConfigError ? error.message : 'The desktop companion could not load its configuration.';
    log.error(message);
    await sendAndWait(write, {
      type: 'error',
      id: null,
      code: 'VENDOR_CONFIGURATION',
      message: `The desktop companion is misconfigured: ${message.split('\n')[0]} Reinstall it or run "devpay-companion doctor".`,
    });
    return EXIT_MISCONFIGURED;
  }
  if (process.env.DEVPAY_LOG_FILE !== '0') log = createLogger({ level, file: hostLogFile(settings.dataDir) });

  const caller = parseCaller(args);
  if (!caller || !isCallerAllowed(caller, settings.config)) {
    log.warn('refused a caller', {
      caller: caller ? `${caller.browser}:${caller.extensionId}` : 'unrecognised arguments',
    });
    await sendAndWait(write, {
      type: 'error',
      id: null,
      code: 'CALLER_NOT_ALLOWED',
      message: `This desktop companion only talks to ${settings.config.vendor.name}'s extension.`,
    });
    return EXIT_REFUSED_CALLER;
  }
  log.info('started by browser', { browser: caller.browser, extension: caller.extensionId });

  let services;
  try {
    services = await createHostServices(settings, { log });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    log.error('could not start', { error: message });
    await sendAndWait(write, {
      type: 'error',
      id: null,
      code: 'VENDOR_CONFIGURATION',
      message: `The desktop companion is misconfigured: ${message}`,
    });
    return EXIT_MISCONFIGURED;
  }
  const handle = createRequestHandler(services);
  const code = await serveNativeMessaging({ input: process.stdin, write, handle: withKeychainWarmUp(handle), log });
  log.info('input closed; exiting', { code });
  return code;
}

/**
 * Nearly every connection goes on to a request that needs the keychain (status,
 * activate), whose broker is a second process that takes a Node start-up: start it
 * as soon as the first message is in, but after the reply to a hello (the
 * handshake the extension waits for) rather than before it.
 */
function withKeychainWarmUp(handle: (message: unknown) => Promise<Reply>): (message: unknown) => Promise<Reply> {
  let warmed = false;
  const warm = () => {
    if (warmed) return;
    warmed = true;
    warmKeychain();
  };
  return async (message) => {
    const isHello = typeof message === 'object' && message !== null && (message as { type?: unknown }).type === 'hello';
    if (!isHello) warm();
    const reply = await handle(message);
    if (isHello) setImmediate(warm);
    return reply;
  };
}

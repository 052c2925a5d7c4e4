/**
 * The native messaging transport: frames in on stdin, frames out on stdout,
 * each decoded message handed to the (transport-independent) request handler.
 * Ends when the browser closes stdin, once every reply has been flushed.
 */
import type { Readable } from 'node:stream';
import type { ErrorReply, Reply } from '../../shared/messages.ts';
import type { Logger } from '../log.ts';
import { encodeFrame, FrameDecoder, FramingError, OutboundFrameTooLargeError } from './framing.ts';

export type FrameWriter = (frame: Buffer, done: (error?: Error | null) => void) => void;

export interface NativeMessagingOptions {
  input: Readable;
  write: FrameWriter;
  handle: (message: unknown) => Promise<Reply>;
  log: Logger;
  /** Requests handled at once; more get BUSY (a browser sends one or two). */
  maxInFlight?: number;
  /** Reply bytes not yet flushed to stdout above which stdin is no longer read (back-pressure). */
  maxPendingBytes?: number;
}

/** Resolves with the process exit code: 0 after a clean end of input, 1 after a broken stream. */
export function serveNativeMessaging(options: NativeMessagingOptions): Promise<number> {
  const { input, write, handle, log } = options;
  const maxInFlight = options.maxInFlight ?? 8;
  const decoder = new FrameDecoder();
  let inFlight = 0;
  let pendingWrites = 0;
  // A browser that stops reading our replies must not make us buffer without end: stop reading its requests.
  const maxPendingBytes = options.maxPendingBytes ?? 1024 * 1024;
  let pendingBytes = 0;
  let pausedForOutput = false;
  let inputDone = false;
  let outputBroken = false;
  let exitCode = 0;

  return new Promise((resolve) => {
    const maybeFinish = () => {
      if (inputDone && inFlight === 0 && pendingWrites === 0) resolve(exitCode);
    };

    const send = (reply: Reply) => {
      if (outputBroken) return;
      let frame: Buffer;
      try {
        frame = encodeFrame(reply);
      } catch (error) {
        log.error('reply could not be encoded', {
          error: error instanceof OutboundFrameTooLargeError ? error.message : String(error),
        });
        const fallback: ErrorReply = {
          type: 'error',
          id: 'id' in reply ? reply.id : null,
          code: 'INTERNAL',
          message: 'The reply was too large to send.',
        };
        frame = encodeFrame(fallback);
      }
      pendingWrites++;
      pendingBytes += frame.length;
      if (pendingBytes > maxPendingBytes && !pausedForOutput && !inputDone) {
        pausedForOutput = true;
        input.pause();
      }
      write(frame, (error) => {
        pendingWrites--;
        pendingBytes -= frame.length;
        if (pausedForOutput && pendingBytes <= maxPendingBytes / 2) {
          pausedForOutput = false;
          if (!inputDone) input.resume();
        }
        if (error) {
          outputBroken = true; // the browser went away; nothing more to say
          log.warn('could not write a reply', { error: (error as NodeJS.ErrnoException).code ?? error.message });
        }
        maybeFinish();
      });
    };

    const stopReading = (code: number) => {
      if (inputDone) return;
      exitCode = Math.max(exitCode, code);
      inputDone = true;
      input.removeListener('data', onData);
      input.pause();
      maybeFinish();
    };

    const onData = (chunk: Buffer) => {
      let messages: unknown[];
      try {
        messages = decoder.push(chunk);
      } catch (error) {
        if (!(error instanceof FramingError)) throw error;
        log.error('broken input stream', { reason: error.reason, detail: error.message });
        send({
          type: 'error',
          id: null,
          code: 'BAD_MESSAGE',
          message: `${error.message} The connection is closed; reconnect to try again.`,
        });
        stopReading(1);
        return;
      }
      for (const message of messages) {
        if (inFlight >= maxInFlight) {
          const id =
            typeof message === 'object' && message !== null && typeof (message as { id?: unknown }).id === 'string'
              ? (message as { id: string }).id.slice(0, 64)
              : null;
          send({
            type: 'error',
            id,
            code: 'BUSY',
            message: 'Too many requests at once; wait for the earlier ones to be answered.',
          });
          continue;
        }
        inFlight++;
        handle(message)
          .then(send, (error: unknown) => {
            // The handler never throws; if it somehow did, the caller still gets an answer.
            log.error('handler failed', { error: error instanceof Error ? error.message : String(error) });
            send({
              type: 'error',
              id: null,
              code: 'INTERNAL',
              message: 'The desktop companion hit an internal error.',
            });
          })
          .finally(() => {
            inFlight--;
            maybeFinish();
          });
      }
    };

    input.on('data', onData);
    input.once('end', () => {
      try {
        decoder.end();
        stopReading(0);
      } catch (error) {
        log.error('input ended inside a frame', { detail: error instanceof Error ? error.message : String(error) });
        stopReading(1);
      }
    });
    input.once('error', (error) => {
      log.error('input stream failed', { error: error.message });
      stopReading(1);
    });
  });
}

/**
 * Ctrl+C (SIGINT) or SIGTERM for a command that must clean up before it ends
 * (serve closes its channel, reactivate clears its pending record).
 *
 * The listeners stay attached until the command disposes of them: a library
 * loaded later (proper-lockfile's signal-exit) re-raises a signal when it finds
 * itself the only listener, which would kill the process mid-cleanup.
 */
export interface Interruption {
  /** Aborted at the first signal. */
  readonly signal: AbortSignal;
  /** Resolves with the first signal. */
  readonly received: Promise<NodeJS.Signals>;
  /** Gives the signals back to their default handling. */
  dispose(): void;
}

export function interruption(): Interruption {
  const controller = new AbortController();
  let resolveReceived: (signal: NodeJS.Signals) => void = () => undefined;
  const received = new Promise<NodeJS.Signals>((resolve) => (resolveReceived = resolve));
  const on = (signal: NodeJS.Signals) => {
    resolveReceived(signal);
    controller.abort();
  };
  process.on('SIGINT', on);
  process.on('SIGTERM', on);
  return {
    signal: controller.signal,
    received,
    dispose() {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
    },
  };
}

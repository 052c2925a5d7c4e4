/**
 * Faults the License Service can be made to show, for tests and demos: each
 * queued fault is spent by one License Service request, in order; the added
 * latency applies to every request until changed.
 */

export const CREDENTIAL_PARTS = ['UserToken', 'AWSAccessKeyId', 'SecretAccessKey'] as const;
export type CredentialPart = (typeof CREDENTIAL_PARTS)[number];

export type Fault =
  /** 503 with `RequestThrottled`, as Amazon's guide says to retry. */
  | { kind: '503' }
  /** 500 with `InternalError`. */
  | { kind: '500' }
  /** The TCP connection is reset before any answer. */
  | { kind: 'reset' }
  /** 200 with a truncated, not well-formed body. */
  | { kind: 'unparsable' }
  /** 200 with a result that lacks one of the three parts (no set is issued). */
  | { kind: 'missing-part'; part: CredentialPart }
  /** Any ErrorResponse, e.g. a code the client must treat as its own bug. */
  | { kind: 'error'; code: string; status: number; message?: string };

export const FAULT_KINDS = ['503', '500', 'reset', 'unparsable', 'missing-part'] as const;

export class FaultPlan {
  /** Added before every License Service answer. */
  latencyMs = 0;
  private readonly queue: Fault[] = [];

  /** The next `times` License Service requests meet this fault. */
  add(fault: Fault, times = 1): this {
    for (let i = 0; i < times; i++) this.queue.push(fault);
    return this;
  }

  /** Called once per License Service request. */
  take(): Fault | undefined {
    return this.queue.shift();
  }

  get pending(): number {
    return this.queue.length;
  }

  clear(): void {
    this.queue.length = 0;
    this.latencyMs = 0;
  }
}

/** Reads `KIND[:COUNT]` as given on the simulator's command line, e.g. `503:3` or `missing-part:1`. */
export function parseFaultSpec(spec: string): { fault: Fault; times: number } {
  const match = /^([a-z0-9-]+)(?::(\d{1,4}))?$/.exec(spec);
  const kind = match?.[1];
  if (!match || !(FAULT_KINDS as readonly string[]).includes(kind ?? '')) {
    throw new Error(`Unknown fault "${spec}": use KIND or KIND:COUNT with KIND one of ${FAULT_KINDS.join(', ')}.`);
  }
  const times = match[2] === undefined ? 1 : Number(match[2]);
  const fault: Fault = kind === 'missing-part' ? { kind, part: 'SecretAccessKey' } : ({ kind } as Fault);
  return { fault, times };
}

/**
 * Native messaging frames: a 32-bit length in the machine's byte order, then that
 * many bytes of UTF-8 JSON. Browsers write several frames in one chunk or split a
 * frame (even its length prefix) across chunks, so the decoder buffers.
 */
import { endianness } from 'node:os';
import { MAX_INBOUND_MESSAGE_BYTES, MAX_OUTBOUND_MESSAGE_BYTES } from '../../shared/messages.ts';
import { BadJsonFrame } from '../protocol/bad-json.ts';

const LITTLE_ENDIAN = endianness() === 'LE';
const PREFIX_BYTES = 4;

/** The stream itself is broken (bad length, truncated): it cannot be resynchronised. */
export class FramingError extends Error {
  override name = 'FramingError';
  constructor(
    readonly reason: 'empty-frame' | 'frame-too-large' | 'truncated',
    message: string,
  ) {
    super(message);
  }
}

/** A reply too large for the browser to accept (it would kill the port). */
export class OutboundFrameTooLargeError extends Error {
  override name = 'OutboundFrameTooLargeError';
  constructor(readonly bytes: number) {
    super(`Reply of ${bytes} bytes exceeds the ${MAX_OUTBOUND_MESSAGE_BYTES}-byte native messaging limit.`);
  }
}

export function encodeFrame(message: unknown): Buffer {
  const json = JSON.stringify(message);
  if (json === undefined) throw new TypeError('encodeFrame: message is not JSON-serialisable');
  const body = Buffer.from(json, 'utf8');
  if (body.length > MAX_OUTBOUND_MESSAGE_BYTES) throw new OutboundFrameTooLargeError(body.length);
  const frame = Buffer.allocUnsafe(PREFIX_BYTES + body.length);
  if (LITTLE_ENDIAN) frame.writeUInt32LE(body.length, 0);
  else frame.writeUInt32BE(body.length, 0);
  body.copy(frame, PREFIX_BYTES);
  return frame;
}

export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Length of the frame being collected, once its prefix is complete. */
  private expected: number | null = null;
  private broken = false;

  constructor(private readonly maxFrameBytes = MAX_INBOUND_MESSAGE_BYTES) {}

  /**
   * Returns every message completed by this chunk, in order. A frame whose body is
   * not JSON comes back as a BadJsonFrame. Throws FramingError on an impossible
   * length, before buffering that frame's body.
   */
  push(chunk: Buffer): unknown[] {
    if (this.broken) throw new FramingError('truncated', 'Input stream already failed.');
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const messages: unknown[] = [];
    for (;;) {
      if (this.expected === null) {
        if (this.buffered < PREFIX_BYTES) break;
        const prefix = this.take(PREFIX_BYTES);
        const length = LITTLE_ENDIAN ? prefix.readUInt32LE(0) : prefix.readUInt32BE(0);
        if (length === 0) {
          this.broken = true;
          throw new FramingError('empty-frame', 'Received a frame of length 0.');
        }
        if (length > this.maxFrameBytes) {
          this.broken = true;
          throw new FramingError(
            'frame-too-large',
            `Received a frame of ${length} bytes; the limit is ${this.maxFrameBytes}.`,
          );
        }
        this.expected = length;
      }
      if (this.buffered < this.expected) break;
      const body = this.take(this.expected);
      this.expected = null;
      messages.push(parseBody(body));
    }
    return messages;
  }

  /** True when part of a frame has been received. */
  get pending(): boolean {
    return this.buffered > 0 || this.expected !== null;
  }

  /** End of input: a partial frame means the sender stopped mid-message. */
  end(): void {
    if (this.pending) {
      const got = this.buffered;
      const wanted = this.expected;
      this.chunks = [];
      this.buffered = 0;
      this.expected = null;
      throw new FramingError(
        'truncated',
        wanted === null
          ? `Input ended inside a length prefix (${got} of 4 bytes).`
          : `Input ended inside a frame (${got} of ${wanted} bytes).`,
      );
    }
  }

  private take(n: number): Buffer {
    const whole = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.buffered);
    const out = whole.subarray(0, n);
    const rest = whole.subarray(n);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered = rest.length;
    return out;
  }
}

function parseBody(body: Buffer): unknown {
  try {
    // fatal: invalid UTF-8 is as bad as invalid JSON.
    const text = new TextDecoder('utf-8', { fatal: true }).decode(body);
    return JSON.parse(text) as unknown;
  } catch {
    return new BadJsonFrame(body.length);
  }
}

import { endianness } from 'node:os';
import { describe, expect, it } from 'vitest';
import { MAX_INBOUND_MESSAGE_BYTES, MAX_OUTBOUND_MESSAGE_BYTES } from '../shared/messages.ts';
import {
  encodeFrame,
  FrameDecoder,
  FramingError,
  OutboundFrameTooLargeError,
} from '../native-host/messaging/framing.ts';
import { BadJsonFrame } from '../native-host/protocol/bad-json.ts';

const LE = endianness() === 'LE';
const prefix = (n: number) => {
  const b = Buffer.alloc(4);
  if (LE) b.writeUInt32LE(n, 0);
  else b.writeUInt32BE(n, 0);
  return b;
};
const rawFrame = (body: string | Buffer) => {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  return Buffer.concat([prefix(bytes.length), bytes]);
};

describe('encodeFrame', () => {
  it('writes the UTF-8 byte length in native order, then the JSON', () => {
    const frame = encodeFrame({ type: 'hello', text: 'é€😀' });
    const body = JSON.stringify({ type: 'hello', text: 'é€😀' });
    expect(frame.length).toBe(4 + Buffer.byteLength(body));
    expect(LE ? frame.readUInt32LE(0) : frame.readUInt32BE(0)).toBe(Buffer.byteLength(body));
    expect(frame.subarray(4).toString('utf8')).toBe(body);
  });

  it('refuses a reply over 1 MiB, which the browser would reject', () => {
    const atLimit = 'x'.repeat(MAX_OUTBOUND_MESSAGE_BYTES - 2); // plus two quotes
    expect(encodeFrame(atLimit).length).toBe(4 + MAX_OUTBOUND_MESSAGE_BYTES);
    expect(() => encodeFrame(atLimit + 'x')).toThrow(OutboundFrameTooLargeError);
  });
});

describe('FrameDecoder', () => {
  it('decodes several frames arriving in one read', () => {
    const decoder = new FrameDecoder();
    const chunk = Buffer.concat([encodeFrame({ n: 1 }), encodeFrame({ n: 2 }), encodeFrame({ n: 3 })]);
    expect(decoder.push(chunk)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    expect(decoder.pending).toBe(false);
    decoder.end();
  });

  it('reassembles frames split at every byte, length prefix included', () => {
    const decoder = new FrameDecoder();
    const stream = Buffer.concat([
      encodeFrame({ type: 'status', id: 'a' }),
      encodeFrame({ type: 'hello', id: 'b', text: 'ünï' }),
    ]);
    const got: unknown[] = [];
    for (let i = 0; i < stream.length; i++) got.push(...decoder.push(stream.subarray(i, i + 1)));
    expect(got).toEqual([
      { type: 'status', id: 'a' },
      { type: 'hello', id: 'b', text: 'ünï' },
    ]);
  });

  it("handles a frame whose end and the next frame's partial prefix share a read", () => {
    const decoder = new FrameDecoder();
    const a = encodeFrame({ a: 1 });
    const b = encodeFrame({ b: 2 });
    expect(decoder.push(Buffer.concat([a, b.subarray(0, 2)]))).toEqual([{ a: 1 }]);
    expect(decoder.push(b.subarray(2, 5))).toEqual([]);
    expect(decoder.push(b.subarray(5))).toEqual([{ b: 2 }]);
  });

  it('refuses a declared length of 0', () => {
    const decoder = new FrameDecoder();
    expect(() => decoder.push(prefix(0))).toThrow(expect.objectContaining({ reason: 'empty-frame' }));
  });

  it('refuses a length over 64 KiB from the prefix alone, before any body arrives', () => {
    const decoder = new FrameDecoder();
    let error: unknown;
    try {
      decoder.push(prefix(MAX_INBOUND_MESSAGE_BYTES + 1));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(FramingError);
    expect((error as FramingError).reason).toBe('frame-too-large');
    // A 4 GiB claim likewise, and the decoder stays refused.
    expect(() => new FrameDecoder().push(Buffer.from([0xff, 0xff, 0xff, 0xff]))).toThrow(FramingError);
    expect(() => decoder.push(encodeFrame({ ok: true }))).toThrow(FramingError);
  });

  it('accepts a frame of exactly 64 KiB', () => {
    const body = JSON.stringify('y'.repeat(MAX_INBOUND_MESSAGE_BYTES - 2));
    expect(Buffer.byteLength(body)).toBe(MAX_INBOUND_MESSAGE_BYTES);
    expect(new FrameDecoder().push(rawFrame(body))).toEqual(['y'.repeat(MAX_INBOUND_MESSAGE_BYTES - 2)]);
  });

  it('reports bad JSON and bad UTF-8 per frame and keeps decoding the frames after them', () => {
    const decoder = new FrameDecoder();
    const out = decoder.push(
      Buffer.concat([rawFrame('{"type":'), rawFrame(Buffer.from([0x22, 0xc3, 0x28, 0x22])), encodeFrame({ ok: 1 })]),
    );
    expect(out).toHaveLength(3);
    expect(out[0]).toBeInstanceOf(BadJsonFrame);
    expect(out[1]).toBeInstanceOf(BadJsonFrame);
    expect(out[2]).toEqual({ ok: 1 });
  });

  it('reports input that ends inside a frame or inside a length prefix', () => {
    const inBody = new FrameDecoder();
    const f = encodeFrame({ hello: 'world' });
    inBody.push(f.subarray(0, f.length - 1));
    expect(() => inBody.end()).toThrow(/inside a frame/);

    const inPrefix = new FrameDecoder();
    inPrefix.push(f.subarray(0, 3));
    expect(() => inPrefix.end()).toThrow(/length prefix/);

    const clean = new FrameDecoder();
    clean.push(f);
    expect(() => clean.end()).not.toThrow();
  });
});

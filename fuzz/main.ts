/**
 * `npm run fuzz`: property-based fuzzing (fast-check) of what hostile input
 * reaches first: native messaging framing, request parsing (native messaging
 * and loopback alike), the loopback authentication messages, and the key and
 * pairing-code text rules. Each property runs for a bounded time
 * (FUZZ_SECONDS each, default 15) and the figures are printed; a failing
 * property prints its shrunk counterexample and the script exits 1.
 *
 *   npm run fuzz                 # about a minute and a half
 *   FUZZ_SECONDS=120 npm run fuzz
 */
import * as fc from 'fast-check';
import * as v from 'valibot';
import { ACTIVATION_KEY_PATTERN, normaliseActivationKey } from '../shared/activation-key.ts';
import {
  AuthChallengeSchema,
  AuthHelloSchema,
  AuthProofSchema,
  normalisePairingCode,
  PAIRING_ALPHABET,
  PAIRING_CODE_LENGTH,
} from '../shared/loopback-auth.ts';
import { MAX_INBOUND_MESSAGE_BYTES, parseRequest, ReplySchema } from '../shared/messages.ts';
import { encodeFrame, FrameDecoder, FramingError } from '../native-host/messaging/framing.ts';
import { BadJsonFrame } from '../native-host/protocol/bad-json.ts';

const seconds = Number(process.env.FUZZ_SECONDS ?? 15);
const NOISE = [' ', '\u00A0', '\u00AD', '\u200B', '\u200E', '\u202E', '\uFEFF', '\t', '\n'];

/** Splits bytes at the given cut points (as a browser's reads would). */
function chunks(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const p of points) {
    out.push(bytes.subarray(from, p));
    from = p;
  }
  out.push(bytes.subarray(from));
  return out;
}

interface Figures {
  name: string;
  runs: number;
  detail: string;
}

function run(
  name: string,
  property: fc.IAsyncPropertyWithHooks<unknown> | fc.IPropertyWithHooks<unknown>,
  detail: () => string,
): Figures {
  const result = fc.check(property as fc.IProperty<unknown>, {
    numRuns: Number.MAX_SAFE_INTEGER,
    plugins: [fc.interruptAfterTimeLimit(seconds * 1000, { failOnInterrupt: false })],
  });
  if (result.failed) {
    console.error(fc.defaultReportMessage(result));
    process.exitCode = 1;
  }
  return { name, runs: result.numRuns, detail: `${result.failed ? 'FAILED' : 'held'}; ${detail()}` };
}

const figures: Figures[] = [];

// 1. Framing: whatever the messages and however the stream is cut, the decoder returns exactly them.
let frames = 0;
figures.push(
  run(
    'framing round trip',
    fc.property(
      fc.array(fc.jsonValue({ maxDepth: 3 }), { minLength: 1, maxLength: 8 }),
      fc.array(fc.nat(), { maxLength: 12 }),
      (messages, cuts) => {
        const wire = Buffer.concat(messages.map((m) => encodeFrame(m)));
        const decoder = new FrameDecoder();
        const out = chunks(wire, cuts).flatMap((c) => decoder.push(c));
        decoder.end();
        frames += messages.length;
        return JSON.stringify(out) === JSON.stringify(messages.map((m) => JSON.parse(JSON.stringify(m)) as unknown));
      },
    ),
    () => `${frames} frames`,
  ),
);

// 2. Framing: arbitrary bytes never crash the decoder: messages, BadJsonFrame, or a FramingError, nothing else; nothing over the limit buffered.
let garbageBytes = 0;
figures.push(
  run(
    'framing of arbitrary bytes',
    fc.property(
      fc.uint8Array({ maxLength: 4096 }),
      fc.array(fc.nat(), { maxLength: 8 }),
      fc.boolean(),
      (bytes, cuts, plausibleLength) => {
        const data = Buffer.from(bytes);
        if (plausibleLength && data.length >= 4)
          data.writeUInt32LE(Math.min(data.length - 4, MAX_INBOUND_MESSAGE_BYTES) || 1, 0);
        garbageBytes += data.length;
        const decoder = new FrameDecoder();
        try {
          for (const c of chunks(data, cuts)) for (const m of decoder.push(c)) if (m instanceof BadJsonFrame) continue;
          decoder.end();
        } catch (error) {
          if (!(error instanceof FramingError)) throw error;
        }
        return true;
      },
    ),
    () => `${(garbageBytes / 1024 / 1024).toFixed(1)} MiB of bytes`,
  ),
);

// 3. Request parsing: any JSON gets a request or a schema-valid error reply that echoes no value it was sent.
let parsed = 0;
const secretLike = fc.stringMatching(/^[A-Z0-9]{20,28}$/);
figures.push(
  run(
    'request parsing',
    fc.property(
      fc.oneof(
        fc.jsonValue({ maxDepth: 3 }),
        fc.record(
          {
            type: fc.constantFrom('hello', 'status', 'activate', 'x'),
            id: fc.string(),
            key: secretLike,
            productCode: fc.string(),
            capturedAt: fc.anything(),
            extra: fc.anything(),
          },
          { requiredKeys: [] },
        ),
      ),
      (data) => {
        parsed++;
        const result = parseRequest(data);
        if (result.ok) return true;
        if (!v.is(ReplySchema, result.reply)) return false;
        const key = typeof data === 'object' && data !== null ? (data as { key?: unknown }).key : undefined;
        return typeof key !== 'string' || !result.reply.message.includes(key);
      },
    ),
    () => `${parsed} messages`,
  ),
);

// 4. Loopback authentication messages: any JSON is accepted or refused by the schemas, never a crash.
let authMessages = 0;
figures.push(
  run(
    'loopback auth messages',
    fc.property(
      fc.oneof(
        fc.jsonValue({ maxDepth: 2 }),
        fc.record(
          {
            type: fc.constantFrom('auth-hello', 'auth-challenge', 'auth-proof'),
            mode: fc.string(),
            nonce: fc.string(),
            pairing: fc.string(),
            proof: fc.string(),
            salt: fc.string(),
          },
          { requiredKeys: [] },
        ),
      ),
      (data) => {
        authMessages++;
        for (const schema of [AuthHelloSchema, AuthChallengeSchema, AuthProofSchema]) v.safeParse(schema, data);
        return true;
      },
    ),
    () => `${authMessages} messages`,
  ),
);

// 5. Key text rules: a key wrapped in paste noise comes back exactly; anything accepted is a well-formed key.
let keyTexts = 0;
const key = fc.stringMatching(/^[A-Za-z0-9]{16,30}$/);
figures.push(
  run(
    'activation key text',
    fc.property(
      key,
      fc.array(fc.tuple(fc.nat(), fc.constantFrom(...NOISE)), { maxLength: 6 }),
      fc.string({ unit: 'binary', maxLength: 64 }),
      (k, noise, junk) => {
        keyTexts += 2;
        let text = k;
        for (const [at, n] of noise)
          text = text.slice(0, at % (text.length + 1)) + n + text.slice(at % (text.length + 1));
        const clean = normaliseActivationKey(text);
        const other = normaliseActivationKey(junk);
        return clean.ok && clean.key === k && (!other.ok || ACTIVATION_KEY_PATTERN.test(other.key));
      },
    ),
    () => `${keyTexts} texts`,
  ),
);

// 6. Pairing codes as typed: any grouping and case of a real code is that code; anything accepted is a code.
let codes = 0;
figures.push(
  run(
    'pairing code text',
    fc.property(
      fc.string({
        unit: fc.constantFrom(...PAIRING_ALPHABET.split('')),
        minLength: PAIRING_CODE_LENGTH,
        maxLength: PAIRING_CODE_LENGTH,
      }),
      fc.boolean(),
      fc.string({ maxLength: 20 }),
      (code, lower, junk) => {
        codes += 2;
        const typed = `${code.slice(0, 5)}-${code.slice(5)}`;
        const back = normalisePairingCode(lower ? typed.toLowerCase() : ` ${typed} `);
        const other = normalisePairingCode(junk);
        return (
          back === code &&
          (other === null ||
            (other.length === PAIRING_CODE_LENGTH && other.split('').every((c) => PAIRING_ALPHABET.includes(c))))
        );
      },
    ),
    () => `${codes} texts`,
  ),
);

for (const f of figures)
  console.log(`${f.name.padEnd(28)} ${String(f.runs).padStart(9)} runs in ${seconds}s  ${f.detail}`);

/**
 * The on-disk form of one product's credentials: AES-256-GCM under that
 * product's data key. The associated data names the format version, the vendor
 * and the product, so a file copied over another product's (or another
 * vendor's) does not decrypt, and neither does a tampered one.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import * as v from 'valibot';

export const SEALED_FORMAT = 'devpay-companion-credentials';
export const SEALED_FORMAT_VERSION = 1;
export const DATA_KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** A real file is about 1 KiB; anything far larger is not ours. */
export const MAX_SEALED_FILE_BYTES = 64 * 1024;

export interface Binding {
  vendorId: string;
  productCode: string;
}

const base64 = v.pipe(v.string(), v.regex(/^[A-Za-z0-9+/]*={0,2}$/), v.maxLength(MAX_SEALED_FILE_BYTES));
const EnvelopeSchema = v.strictObject({
  format: v.literal(SEALED_FORMAT),
  version: v.literal(SEALED_FORMAT_VERSION),
  vendor: v.string(),
  product: v.string(),
  iv: base64,
  tag: base64,
  data: base64,
});

/** Why a file cannot be opened; never carries its content. */
export class UnreadableFileError extends Error {
  override name = 'UnreadableFileError';
}

function associatedData(binding: Binding): Buffer {
  return Buffer.from(
    `${SEALED_FORMAT}\0v${SEALED_FORMAT_VERSION}\0${binding.vendorId}\0${binding.productCode}`,
    'utf8',
  );
}

export function seal(plaintext: Buffer, dataKey: Buffer, binding: Binding): Buffer {
  if (dataKey.length !== DATA_KEY_BYTES) throw new Error('seal: data key must be 32 bytes');
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', dataKey, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(associatedData(binding));
  const data = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const envelope: v.InferOutput<typeof EnvelopeSchema> = {
    format: SEALED_FORMAT,
    version: SEALED_FORMAT_VERSION,
    vendor: binding.vendorId,
    product: binding.productCode,
    iv: iv.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
    data: data.toString('base64'),
  };
  return Buffer.from(JSON.stringify(envelope) + '\n', 'utf8');
}

export function open(file: Buffer, dataKey: Buffer, binding: Binding): Buffer {
  if (file.length > MAX_SEALED_FILE_BYTES) throw new UnreadableFileError('file is too large');
  let parsed: unknown;
  try {
    parsed = JSON.parse(file.toString('utf8'));
  } catch {
    throw new UnreadableFileError('file is not a credentials file');
  }
  const envelope = v.safeParse(EnvelopeSchema, parsed);
  if (!envelope.success) throw new UnreadableFileError('file is not a credentials file of this version');
  const iv = Buffer.from(envelope.output.iv, 'base64');
  const tag = Buffer.from(envelope.output.tag, 'base64');
  if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES || dataKey.length !== DATA_KEY_BYTES) {
    throw new UnreadableFileError('file header is damaged');
  }
  try {
    const decipher = createDecipheriv('aes-256-gcm', dataKey, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(associatedData(binding));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(Buffer.from(envelope.output.data, 'base64')), decipher.final()]);
  } catch {
    // Tampered, swapped, or sealed under another data key: GCM cannot tell which.
    throw new UnreadableFileError("file does not decrypt with this product's key");
  }
}

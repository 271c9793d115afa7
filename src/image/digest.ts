import { createHash, type Hash } from 'node:crypto';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { AppError } from '../core/errors.js';

/**
 * A pass-through that hashes what flows through it and fails the stream when the bytes are not what
 * the descriptor promised: more bytes than `size` (checked as they arrive, so a lying server cannot
 * make us read forever), fewer bytes, or another sha256.
 */
export class VerifyingStream extends Transform {
  private readonly hash: Hash = createHash('sha256');
  private seen = 0;

  constructor(
    private readonly expectedDigest: string | undefined,
    private readonly expectedSize: number | undefined,
    private readonly label: string,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.seen += chunk.length;
    if (this.expectedSize !== undefined && this.expectedSize >= 0 && this.seen > this.expectedSize) {
      callback(
        new AppError('UPSTREAM', `${this.label} is larger than its declared size of ${this.expectedSize} bytes; the image source is corrupt or lying`, {
          details: { blob: this.label, size: this.expectedSize },
        }),
      );
      return;
    }
    if (this.expectedDigest !== undefined) this.hash.update(chunk);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (this.expectedSize !== undefined && this.expectedSize >= 0 && this.seen < this.expectedSize) {
      callback(
        new AppError('UPSTREAM', `${this.label} ended after ${this.seen} of its declared ${this.expectedSize} bytes; the blob is truncated`, {
          details: { blob: this.label },
        }),
      );
      return;
    }
    if (this.expectedDigest !== undefined) {
      const actual = `sha256:${this.hash.digest('hex')}`;
      if (actual !== this.expectedDigest) {
        callback(
          new AppError('UPSTREAM', `${this.label} has digest ${actual}, not the ${this.expectedDigest} its manifest names; the image is corrupt or was tampered with`, {
            details: { blob: this.label, expected: this.expectedDigest, actual },
          }),
        );
        return;
      }
    }
    callback();
  }
}

export function sha256Digest(bytes: Buffer | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** Checks an already-read document against its digest. */
export function verifyBytes(bytes: Buffer, expectedDigest: string, label: string): void {
  const actual = sha256Digest(bytes);
  if (actual !== expectedDigest) {
    throw new AppError('UPSTREAM', `${label} has digest ${actual}, not the ${expectedDigest} it was asked for; the image is corrupt or was tampered with`, {
      details: { blob: label, expected: expectedDigest, actual },
    });
  }
}

/** Reads a whole stream into memory, refusing more than `max` bytes. */
export async function readAllCapped(stream: NodeJS.ReadableStream, max: number, label: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    total += buf.length;
    if (total > max) {
      throw new AppError('TOO_LARGE', `${label} is larger than the ${max}-byte limit; refusing to read it`, { details: { blob: label, limit: max } });
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}

/** `source` piped through a VerifyingStream; errors and early destruction travel both ways. */
export function verified(source: Readable, expectedDigest: string | undefined, expectedSize: number | undefined, label: string): Readable {
  const verifier = new VerifyingStream(expectedDigest, expectedSize, label);
  source.on('error', (error) => verifier.destroy(error));
  verifier.on('close', () => source.destroy());
  return source.pipe(verifier);
}

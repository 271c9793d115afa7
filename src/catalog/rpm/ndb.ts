import { MAX_RPM_HEADER_BYTES } from './header.js';
import type { BlobList } from './container.js';

/**
 * Header blobs of rpm's "ndb" database (`Packages.db`, SUSE and openSUSE since rpm 4.16), after
 * rpm's lib/backend/ndb/rpmpkg.c. All integers little-endian; the file is made of 16-byte blocks.
 *
 * - The file starts with slot pages of 4096 bytes; their first 32 bytes are the database header:
 *   magic 'RpmP', format version 0, generation, number of slot pages, next package index.
 * - The rest of the slot pages is an array of 16-byte slots: magic 'Slot', package index, block
 *   offset (0 = free slot) and block count.
 * - A blob starts at its block offset with a 16-byte head (magic 'BlbS', package index, timestamp,
 *   blob length), then the rpm header blob, zero padding to a whole block, and a 12-byte tail
 *   (Adler-32 of head, blob and padding; blob length; magic 'BlbE'). All of it is checked.
 */
const BLOCK = 16;
const SLOT_PAGE = 4096;
const MAX_SLOT_PAGES = 2048;
const BLOB_HEAD = 16;
const BLOB_TAIL = 12;
const magic = (text: string): number => Buffer.from(text, 'latin1').readUInt32LE(0);
const HEADER_MAGIC = magic('RpmP');
const SLOT_MAGIC = magic('Slot');
const BLOB_MAGIC = magic('BlbS');
const BLOB_TAIL_MAGIC = magic('BlbE');

/** Adler-32 (RFC 1950), as rpm checksums ndb blobs. */
export function adler32(bytes: Buffer): number {
  let s1 = 1;
  let s2 = 0;
  for (let i = 0; i < bytes.length; ) {
    const end = Math.min(i + 5552, bytes.length);
    for (; i < end; i++) {
      s1 += bytes[i] ?? 0;
      s2 += s1;
    }
    s1 %= 65521;
    s2 %= 65521;
  }
  return ((s2 << 16) | s1) >>> 0;
}

export function isNdb(bytes: Buffer): boolean {
  return bytes.length >= 32 && bytes.readUInt32LE(0) === HEADER_MAGIC;
}

export class NdbFormatError extends Error {
  override readonly name = 'NdbFormatError';
}

/** The blob a slot points at, or undefined when its head, length, tail or checksum is wrong. */
function readBlob(bytes: Buffer, pkgIndex: number, blockOffset: number, blockCount: number): Buffer | undefined {
  const start = blockOffset * BLOCK;
  const end = start + blockCount * BLOCK;
  if (end > bytes.length || blockCount * BLOCK < BLOB_HEAD + BLOB_TAIL) return undefined;
  if (bytes.readUInt32LE(start) !== BLOB_MAGIC || bytes.readUInt32LE(start + 4) !== pkgIndex) return undefined;
  const length = bytes.readUInt32LE(start + 12);
  if (length > MAX_RPM_HEADER_BYTES || blockCount !== Math.ceil((BLOB_HEAD + length + BLOB_TAIL) / BLOCK)) return undefined;
  const tail = end - BLOB_TAIL;
  if (bytes.readUInt32LE(tail + 4) !== length || bytes.readUInt32LE(tail + 8) !== BLOB_TAIL_MAGIC) return undefined;
  if (bytes.readUInt32LE(tail) !== adler32(bytes.subarray(start, tail))) return undefined;
  return bytes.subarray(start + BLOB_HEAD, start + BLOB_HEAD + length);
}

export function readNdbBlobs(bytes: Buffer): BlobList {
  if (!isNdb(bytes)) throw new NdbFormatError("not an rpm ndb database (no 'RpmP' magic)");
  const version = bytes.readUInt32LE(4);
  if (version !== 0) throw new NdbFormatError(`unsupported ndb format version ${version}`);
  const slotPages = bytes.readUInt32LE(12);
  if (slotPages === 0 || slotPages > MAX_SLOT_PAGES) throw new NdbFormatError(`ndb header claims ${slotPages} slot pages`);
  const slotsEnd = slotPages * SLOT_PAGE;
  if (slotsEnd > bytes.length) throw new NdbFormatError(`ndb slot pages run past the end of the ${bytes.length}-byte file`);
  const firstBlobBlock = slotsEnd / BLOCK;

  const blobs: Buffer[] = [];
  let bad = 0;
  // The first two slot positions hold the database header.
  for (let at = 2 * BLOCK; at < slotsEnd; at += BLOCK) {
    if (bytes.readUInt32LE(at) !== SLOT_MAGIC) {
      bad++;
      continue;
    }
    const blockOffset = bytes.readUInt32LE(at + 8);
    if (blockOffset === 0) continue;
    const pkgIndex = bytes.readUInt32LE(at + 4);
    const blockCount = bytes.readUInt32LE(at + 12);
    const blob = pkgIndex !== 0 && blockOffset >= firstBlobBlock ? readBlob(bytes, pkgIndex, blockOffset, blockCount) : undefined;
    if (blob) blobs.push(blob);
    else bad++;
  }
  return { blobs, bad };
}

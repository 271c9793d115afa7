import { MAX_RPM_HEADER_BYTES } from './header.js';
import type { BlobList } from './container.js';

/**
 * Header blobs of a Berkeley DB hash database (`/var/lib/rpm/Packages`, rpm < 4.16), read from the
 * page layout of libdb's db_page.h:
 *
 * - page 0 is the hash metadata page: magic 0x061561 at 12 (its byte order tells the file's), page
 *   size at 20, encryption at 24, page type 8 at 25, last page number at 32;
 * - every page starts with a 26-byte header: page number at 8, previous at 12, next at 16, entry count
 *   (u16) at 20, high free offset (u16) at 22, level at 24, type at 25;
 * - hash pages (type 13, or 2 for old unsorted ones) hold an array of u16 item offsets right after
 *   the header, keys and values alternating; an item starts with its type: 1 = inline data (its length
 *   runs to the previous item's offset), 3 = off-page (u32 first overflow page at 4, u32 total length
 *   at 8);
 * - overflow pages (type 7) chain through `next`; their high-free-offset field holds the number of data
 *   bytes on the page.
 *
 * Values are rpm header blobs; rpm's 4-byte bookkeeping record under key 0 is too short to be one and
 * is left out.
 */
const HASH_MAGIC = 0x061561;
const PAGE_HEADER = 26;
const PAGE_HASH_UNSORTED = 2;
const PAGE_OVERFLOW = 7;
const PAGE_HASH_META = 8;
const PAGE_HASH = 13;
const ITEM_KEYDATA = 1;
const ITEM_OFFPAGE = 3;
const VALID_PAGE_SIZES = new Set([512, 1024, 2048, 4096, 8192, 16384, 32768, 65536]);
/** Shorter inline values cannot be rpm headers (8-byte preamble plus one 16-byte index entry). */
const MIN_HEADER_BYTES = 24;

export const BDB_HASH_MAGIC_OFFSET = 12;

export function isBdbHash(bytes: Buffer): boolean {
  if (bytes.length < 512) return false;
  const le = bytes.readUInt32LE(BDB_HASH_MAGIC_OFFSET);
  const be = bytes.readUInt32BE(BDB_HASH_MAGIC_OFFSET);
  return (le === HASH_MAGIC || be === HASH_MAGIC) && bytes[25] === PAGE_HASH_META;
}

export class BdbFormatError extends Error {
  override readonly name = 'BdbFormatError';
}

export function readBdbBlobs(bytes: Buffer): BlobList {
  if (!isBdbHash(bytes)) throw new BdbFormatError('not a Berkeley DB hash database (bad magic or metadata page type)');
  const littleEndian = bytes.readUInt32LE(BDB_HASH_MAGIC_OFFSET) === HASH_MAGIC;
  const u16 = (at: number): number => (littleEndian ? bytes.readUInt16LE(at) : bytes.readUInt16BE(at));
  const u32 = (at: number): number => (littleEndian ? bytes.readUInt32LE(at) : bytes.readUInt32BE(at));

  const pageSize = u32(20);
  if (!VALID_PAGE_SIZES.has(pageSize)) throw new BdbFormatError(`unexpected Berkeley DB page size ${pageSize}`);
  if (bytes[24] !== 0) throw new BdbFormatError('encrypted Berkeley DB databases are not supported');
  const pageCount = Math.min(u32(32) + 1, Math.floor(bytes.length / pageSize));

  const overflowValue = (firstPage: number, totalLength: number): Buffer | undefined => {
    if (totalLength > MAX_RPM_HEADER_BYTES) return undefined;
    const parts: Buffer[] = [];
    let collected = 0;
    const seen = new Set<number>();
    for (let page = firstPage; page !== 0; ) {
      if (page >= pageCount || seen.has(page)) return undefined;
      seen.add(page);
      const start = page * pageSize;
      if (bytes[start + 25] !== PAGE_OVERFLOW) return undefined;
      const length = Math.min(u16(start + 22), pageSize - PAGE_HEADER);
      parts.push(bytes.subarray(start + PAGE_HEADER, start + PAGE_HEADER + length));
      collected += length;
      if (collected > totalLength) return undefined;
      page = u32(start + 16);
    }
    return collected === totalLength ? Buffer.concat(parts, collected) : undefined;
  };

  const blobs: Buffer[] = [];
  let bad = 0;
  for (let page = 1; page < pageCount; page++) {
    const start = page * pageSize;
    const type = bytes[start + 25];
    if (type !== PAGE_HASH && type !== PAGE_HASH_UNSORTED) continue;
    const entries = u16(start + 20);
    if (PAGE_HEADER + entries * 2 > pageSize) {
      bad++;
      continue;
    }
    const offsets: number[] = [];
    for (let i = 0; i < entries; i++) offsets.push(u16(start + PAGE_HEADER + i * 2));
    // Values sit at odd positions: key, value, key, value …
    for (let i = 1; i < entries; i += 2) {
      const offset = offsets[i] ?? 0;
      const end = offsets[i - 1] ?? pageSize;
      if (offset < PAGE_HEADER || offset >= pageSize || end > pageSize || end <= offset) {
        bad++;
        continue;
      }
      const item = start + offset;
      if (bytes[item] === ITEM_OFFPAGE) {
        const value = overflowValue(u32(item + 4), u32(item + 8));
        if (value) blobs.push(value);
        else bad++;
      } else if (bytes[item] === ITEM_KEYDATA && end - offset - 1 >= MIN_HEADER_BYTES) {
        blobs.push(bytes.subarray(item + 1, start + end));
      }
    }
  }
  return { blobs, bad };
}

/**
 * Test helpers that write rpm header blobs and the three rpm database containers in their real
 * on-disk formats, so the readers are tested against bytes laid out as rpm and libdb lay them out.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TAG, TYPE } from '../header.js';
import { adler32 } from '../ndb.js';

export type HeaderValue =
  | { type: typeof TYPE.STRING | typeof TYPE.I18NSTRING; value: string }
  | { type: typeof TYPE.STRING_ARRAY; value: string[] }
  | { type: typeof TYPE.INT32; value: number[] };

export interface HeaderEntry {
  tag: number;
  data: HeaderValue;
}

const REGION_IMMUTABLE = 63;

/**
 * Encodes an rpm header blob as rpm stores it in its database: an immutable-region entry first (its
 * 16-byte trailer at the end of the data store), then the given entries, data aligned as rpm aligns it.
 */
export function encodeHeader(entries: HeaderEntry[]): Buffer {
  const nindex = entries.length + 1;
  const chunks: Buffer[] = [];
  let size = 0;
  const index: Buffer[] = [];
  const entryBuffer = (tag: number, type: number, offset: number, count: number): Buffer => {
    const b = Buffer.alloc(16);
    b.writeUInt32BE(tag, 0);
    b.writeUInt32BE(type, 4);
    b.writeInt32BE(offset, 8);
    b.writeUInt32BE(count, 12);
    return b;
  };
  for (const { tag, data } of entries) {
    let bytes: Buffer;
    let count: number;
    if (data.type === TYPE.INT32) {
      const pad = (4 - (size % 4)) % 4;
      if (pad > 0) {
        chunks.push(Buffer.alloc(pad));
        size += pad;
      }
      bytes = Buffer.alloc(data.value.length * 4);
      data.value.forEach((v, i) => bytes.writeInt32BE(v, i * 4));
      count = data.value.length;
    } else if (data.type === TYPE.STRING_ARRAY) {
      bytes = Buffer.from(data.value.map((v) => `${v}\0`).join(''));
      count = data.value.length;
    } else {
      bytes = Buffer.from(`${data.value}\0`);
      count = 1;
    }
    index.push(entryBuffer(tag, data.type, size, count));
    chunks.push(bytes);
    size += bytes.length;
  }
  const trailer = entryBuffer(REGION_IMMUTABLE, TYPE.BIN, -(nindex * 16), 16);
  const regionOffset = size;
  chunks.push(trailer);
  size += trailer.length;
  const preamble = Buffer.alloc(8);
  preamble.writeUInt32BE(nindex, 0);
  preamble.writeUInt32BE(size, 4);
  return Buffer.concat([preamble, entryBuffer(REGION_IMMUTABLE, TYPE.BIN, regionOffset, 16), ...index, ...chunks]);
}

export interface TestPackage {
  name: string;
  version: string;
  release: string;
  epoch?: number;
  arch?: string;
  sourceRpm?: string;
  license?: string;
  vendor?: string;
  files?: string[];
  /** Write the file list the pre-4.x way (OLDFILENAMES) instead of BASENAMES/DIRNAMES/DIRINDEXES. */
  oldFilenames?: boolean;
}

export function packageHeader(pkg: TestPackage): Buffer {
  const s = (tag: number, value: string | undefined): HeaderEntry[] => (value === undefined ? [] : [{ tag, data: { type: TYPE.STRING, value } }]);
  const entries: HeaderEntry[] = [
    ...s(TAG.NAME, pkg.name),
    ...s(TAG.VERSION, pkg.version),
    ...s(TAG.RELEASE, pkg.release),
    ...(pkg.epoch === undefined ? [] : [{ tag: TAG.EPOCH, data: { type: TYPE.INT32, value: [pkg.epoch] } } satisfies HeaderEntry]),
    ...s(TAG.VENDOR, pkg.vendor),
    ...s(TAG.LICENSE, pkg.license),
    ...s(TAG.ARCH, pkg.arch),
    ...s(TAG.SOURCERPM, pkg.sourceRpm),
  ];
  const files = pkg.files ?? [];
  if (files.length > 0 && pkg.oldFilenames) {
    entries.push({ tag: TAG.OLDFILENAMES, data: { type: TYPE.STRING_ARRAY, value: files } });
  } else if (files.length > 0) {
    const dirnames: string[] = [];
    const dirindexes: number[] = [];
    const basenames: string[] = [];
    for (const file of files) {
      const slash = file.lastIndexOf('/');
      const dir = file.slice(0, slash + 1);
      if (!dirnames.includes(dir)) dirnames.push(dir);
      dirindexes.push(dirnames.indexOf(dir));
      basenames.push(file.slice(slash + 1));
    }
    entries.push(
      { tag: TAG.DIRINDEXES, data: { type: TYPE.INT32, value: dirindexes } },
      { tag: TAG.BASENAMES, data: { type: TYPE.STRING_ARRAY, value: basenames } },
      { tag: TAG.DIRNAMES, data: { type: TYPE.STRING_ARRAY, value: dirnames } },
    );
  }
  return encodeHeader(entries);
}

/** An rpm ≥ 4.16 SQLite database; `wal` leaves it in WAL journal mode as rpm does. */
export function buildSqliteDb(blobs: Buffer[], options: { wal?: boolean } = {}): Buffer {
  const dir = mkdtempSync(path.join(tmpdir(), 'palisade-rpmdb-'));
  try {
    const file = path.join(dir, 'rpmdb.sqlite');
    const db = new Database(file);
    if (options.wal) db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)');
    const insert = db.prepare('INSERT INTO Packages (blob) VALUES (?)');
    for (const blob of blobs) insert.run(blob);
    if (options.wal) db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
    return readFileSync(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A Berkeley DB hash database as rpm < 4.16 writes `/var/lib/rpm/Packages`: metadata page 0, one
 * bucket page (page 1) with key/value pairs, values stored off-page in overflow page chains — except
 * rpm's 4-byte record under key 0, which stays inline. Written little- or big-endian.
 */
export function buildBdbHashDb(blobs: Buffer[], options: { pageSize?: number; bigEndian?: boolean } = {}): Buffer {
  const pageSize = options.pageSize ?? 4096;
  const be = options.bigEndian ?? false;
  const u16 = (b: Buffer, v: number, at: number): void => void (be ? b.writeUInt16BE(v, at) : b.writeUInt16LE(v, at));
  const u32 = (b: Buffer, v: number, at: number): void => void (be ? b.writeUInt32BE(v, at) : b.writeUInt32LE(v, at));
  const pages: Buffer[] = [Buffer.alloc(pageSize), Buffer.alloc(pageSize)];
  const dataPerPage = pageSize - 26;

  const pageHeader = (page: Buffer, pgno: number, prev: number, next: number, entries: number, hfOffset: number, type: number): void => {
    u32(page, pgno, 8);
    u32(page, prev, 12);
    u32(page, next, 16);
    u16(page, entries, 20);
    u16(page, hfOffset, 22);
    page[24] = 0;
    page[25] = type;
  };

  const items: Buffer[] = [];
  const key = (n: number): Buffer => {
    const item = Buffer.alloc(5);
    item[0] = 1;
    u32(item, n, 1);
    return item;
  };
  // rpm's bookkeeping record: key 0 → next free header instance, inline.
  const zeroValue = Buffer.alloc(5);
  zeroValue[0] = 1;
  u32(zeroValue, blobs.length + 1, 1);
  items.push(key(0), zeroValue);

  blobs.forEach((blob, i) => {
    const first = pages.length;
    const count = Math.max(1, Math.ceil(blob.length / dataPerPage));
    for (let p = 0; p < count; p++) {
      const page = Buffer.alloc(pageSize);
      const part = blob.subarray(p * dataPerPage, (p + 1) * dataPerPage);
      part.copy(page, 26);
      const pgno = first + p;
      pageHeader(page, pgno, p === 0 ? 0 : pgno - 1, p === count - 1 ? 0 : pgno + 1, 1, part.length, 7);
      pages.push(page);
    }
    const offpage = Buffer.alloc(12);
    offpage[0] = 3;
    u32(offpage, first, 4);
    u32(offpage, blob.length, 8);
    items.push(key(i + 1), offpage);
  });

  const bucket = pages[1] ?? Buffer.alloc(pageSize);
  let free = pageSize;
  items.forEach((item, i) => {
    free -= item.length;
    item.copy(bucket, free);
    u16(bucket, free, 26 + i * 2);
  });
  if (26 + items.length * 2 > free) throw new Error('test bucket page overflowed: use a larger page size');
  pageHeader(bucket, 1, 0, 0, items.length, free, 13);

  const meta = pages[0] ?? Buffer.alloc(pageSize);
  u32(meta, 0, 8);
  u32(meta, 0x061561, 12);
  u32(meta, 9, 16);
  u32(meta, pageSize, 20);
  meta[24] = 0;
  meta[25] = 8;
  u32(meta, pages.length - 1, 32);
  u32(meta, 0, 72); // max bucket
  u32(meta, 0, 76); // high mask
  u32(meta, 0, 80); // low mask
  u32(meta, 0, 84); // fill factor
  u32(meta, items.length / 2, 88); // number of keys
  return Buffer.concat(pages);
}

/**
 * rpm's ndb `Packages.db` as rpmpkg.c writes it: one slot page (header, then slots), each blob in
 * 16-byte blocks after it with head, zero padding and a tail carrying the Adler-32 checksum.
 */
export function buildNdbDb(blobs: Buffer[], timestamp = 1_700_000_000): Buffer {
  if (blobs.length > 254) throw new Error('the test ndb writer fills one slot page: at most 254 packages');
  const slotPage = Buffer.alloc(4096);
  for (let at = 0; at < 4096; at += 16) slotPage.write('Slot', at, 'latin1');
  slotPage.fill(0, 0, 32);
  slotPage.write('RpmP', 0, 'latin1');
  slotPage.writeUInt32LE(0, 4); // version
  slotPage.writeUInt32LE(blobs.length + 1, 8); // generation
  slotPage.writeUInt32LE(1, 12); // slot pages
  slotPage.writeUInt32LE(blobs.length + 1, 16); // next package index

  const blocks: Buffer[] = [];
  let blockOffset = 4096 / 16;
  blobs.forEach((blob, i) => {
    const pkgIndex = i + 1;
    const count = Math.ceil((16 + blob.length + 12) / 16);
    const raw = Buffer.alloc(count * 16);
    raw.write('BlbS', 0, 'latin1');
    raw.writeUInt32LE(pkgIndex, 4);
    raw.writeUInt32LE(timestamp, 8);
    raw.writeUInt32LE(blob.length, 12);
    blob.copy(raw, 16);
    const tail = raw.length - 12;
    raw.writeUInt32LE(adler32(raw.subarray(0, tail)), tail);
    raw.writeUInt32LE(blob.length, tail + 4);
    raw.write('BlbE', tail + 8, 'latin1');
    const slotAt = 32 + i * 16;
    slotPage.writeUInt32LE(pkgIndex, slotAt + 4);
    slotPage.writeUInt32LE(blockOffset, slotAt + 8);
    slotPage.writeUInt32LE(count, slotAt + 12);
    blocks.push(raw);
    blockOffset += count;
  });
  return Buffer.concat([slotPage, ...blocks]);
}

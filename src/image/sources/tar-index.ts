import { open, type FileHandle } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { posix } from 'node:path';
import { Readable } from 'node:stream';
import { AppError } from '../../core/errors.js';
import type { LayoutFiles } from './types.js';

/**
 * Indexes the entries of an uncompressed tar file in one pass over its headers (reading 512-byte
 * headers and seeking past the bodies), so blobs can then be read by offset with createReadStream
 * start/end instead of extracting the archive. Handles ustar prefixes, GNU long names and pax paths.
 */
export interface TarEntryLocation {
  offset: number;
  size: number;
}

const BLOCK = 512;
const MAX_ENTRIES = 1_000_000;
const MAX_META_BYTES = 1024 * 1024;

function cString(buf: Buffer, start: number, length: number): string {
  const slice = buf.subarray(start, start + length);
  const nul = slice.indexOf(0);
  return slice.subarray(0, nul >= 0 ? nul : slice.length).toString('utf8');
}

function parseSize(buf: Buffer): number {
  const field = buf.subarray(124, 136);
  if ((field[0] ?? 0) & 0x80) {
    // base-256 (GNU) for sizes over 8 GiB
    let value = 0;
    for (let i = 1; i < field.length; i++) value = value * 256 + (field[i] ?? 0);
    return value;
  }
  const text = cString(buf, 124, 12).trim();
  if (text.length === 0) return 0;
  if (!/^[0-7]+$/.test(text)) throw new Error(`bad size field "${text}"`);
  return parseInt(text, 8);
}

function checksumOk(buf: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : (buf[i] ?? 0);
  const stored = parseInt(cString(buf, 148, 8).trim(), 8);
  return stored === sum;
}

function paxPath(data: Buffer): string | undefined {
  let pos = 0;
  let found: string | undefined;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    if (space < 0) break;
    const len = parseInt(data.subarray(pos, space).toString('ascii'), 10);
    if (!Number.isFinite(len) || len <= 0) break;
    const record = data.subarray(space + 1, pos + len - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq > 0 && record.slice(0, eq) === 'path') found = record.slice(eq + 1);
    pos += len;
  }
  return found;
}

export function normaliseArchivePath(name: string): string {
  const cleaned = posix.normalize(name.replace(/^\/+/, '')).replace(/\/+$/, '');
  return cleaned === '.' ? '' : cleaned.replace(/^\.\//, '');
}

export async function indexTar(path: string, label: string): Promise<Map<string, TarEntryLocation>> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (cause) {
    throw new AppError('NOT_FOUND', `cannot open ${label}: ${path} does not exist or is not readable`, { cause, details: { path } });
  }
  const entries = new Map<string, TarEntryLocation>();
  try {
    const { size: fileSize } = await handle.stat();
    const header = Buffer.alloc(BLOCK);
    let offset = 0;
    let longName: string | undefined;
    let paxName: string | undefined;
    while (offset + BLOCK <= fileSize) {
      const { bytesRead } = await handle.read(header, 0, BLOCK, offset);
      if (bytesRead < BLOCK) break;
      if (header.every((b) => b === 0)) break;
      if (!checksumOk(header)) {
        throw new AppError('BAD_INPUT', `${label} is not a tar archive or is damaged (bad header checksum at byte ${offset}); pass an uncompressed tar`, {
          details: { path, offset },
        });
      }
      const size = parseSize(header);
      const type = String.fromCharCode(header[156] ?? 0x30);
      const dataOffset = offset + BLOCK;
      if (dataOffset + size > fileSize) {
        throw new AppError('BAD_INPUT', `${label} is truncated: an entry at byte ${offset} runs past the end of the file`, { details: { path, offset } });
      }
      const readMeta = async (): Promise<Buffer> => {
        if (size > MAX_META_BYTES) throw new AppError('BAD_INPUT', `${label} has a ${size}-byte tar meta header; refusing it`);
        const buf = Buffer.alloc(size);
        await handle.read(buf, 0, size, dataOffset);
        return buf;
      };
      if (type === 'L') {
        longName = cString(await readMeta(), 0, size);
      } else if (type === 'x') {
        paxName = paxPath(await readMeta());
      } else if (type === 'g') {
        // global pax header: no per-entry meaning for our purposes
      } else {
        const prefix = cString(header, 345, 155);
        const shortName = cString(header, 0, 100);
        const name = paxName ?? longName ?? (prefix ? `${prefix}/${shortName}` : shortName);
        paxName = undefined;
        longName = undefined;
        if (type === '0' || type === '\0' || type === '7') {
          entries.set(normaliseArchivePath(name), { offset: dataOffset, size });
          if (entries.size > MAX_ENTRIES) throw new AppError('TOO_LARGE', `${label} has more than ${MAX_ENTRIES} entries; refusing it`);
        }
      }
      offset = dataOffset + Math.ceil(size / BLOCK) * BLOCK;
    }
  } catch (error) {
    if (error instanceof AppError) throw error;
    throw new AppError('BAD_INPUT', `${label} could not be read as a tar archive: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  } finally {
    await handle.close();
  }
  return entries;
}

/** LayoutFiles over the entries of a tar archive, read by offset. */
export async function tarLayoutFiles(archivePath: string, label: string, root = ''): Promise<LayoutFiles> {
  const entries = await indexTar(archivePath, label);
  const key = (p: string): string => normaliseArchivePath(root ? `${root}/${p}` : p);
  const locate = (p: string): TarEntryLocation | undefined => entries.get(key(p));
  return {
    label,
    exists: async (p) => locate(p) !== undefined,
    size: async (p) => locate(p)?.size,
    readFile: async (p, maxBytes) => {
      const at = locate(p);
      if (!at) throw new AppError('NOT_FOUND', `${label} has no file ${p}; it is not a complete image archive`, { details: { file: p } });
      if (at.size > maxBytes) throw new AppError('TOO_LARGE', `${p} in ${label} is ${at.size} bytes, over the ${maxBytes}-byte limit`);
      if (at.size === 0) return Buffer.alloc(0);
      // The entry's size is known (and within maxBytes): one positioned read, no stream.
      const handle = await open(archivePath, 'r');
      try {
        const bytes = Buffer.alloc(at.size);
        let filled = 0;
        while (filled < at.size) {
          const { bytesRead } = await handle.read(bytes, filled, at.size - filled, at.offset + filled);
          if (bytesRead === 0) break; // the archive was cut short since it was indexed
          filled += bytesRead;
        }
        return filled === at.size ? bytes : bytes.subarray(0, filled);
      } finally {
        await handle.close();
      }
    },
    open: (p): Readable => {
      const at = locate(p);
      if (!at) throw new AppError('NOT_FOUND', `${label} has no file ${p}; it is not a complete image archive`, { details: { file: p } });
      if (at.size === 0) return Readable.from([]);
      return createReadStream(archivePath, { start: at.offset, end: at.offset + at.size - 1, highWaterMark: 1024 * 1024 });
    },
    close: async () => {},
  };
}

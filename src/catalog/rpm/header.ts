/**
 * The rpm header blob as the rpm database stores it (no lead, no header magic):
 *
 *   u32 BE  index entry count (nindex)
 *   u32 BE  data store size in bytes (hsize)
 *   nindex × { u32 BE tag, u32 BE type, i32 BE offset into the data store, u32 BE count }
 *   hsize bytes of data store
 *
 * Strings are NUL-terminated; a STRING_ARRAY / I18NSTRING entry holds `count` of them back to back;
 * INT32 entries hold `count` big-endian integers. Region tags (61–63) only describe signatures and are
 * ignored here.
 */
export const MAX_RPM_HEADER_BYTES = 64 * 1024 * 1024;
/** rpm itself refuses headers with more index entries than this (hdrchkTags). */
const MAX_INDEX_ENTRIES = 0xffff;

export const TAG = {
  NAME: 1000,
  VERSION: 1001,
  RELEASE: 1002,
  EPOCH: 1003,
  VENDOR: 1011,
  LICENSE: 1014,
  ARCH: 1022,
  OLDFILENAMES: 1027,
  SOURCERPM: 1044,
  DIRINDEXES: 1116,
  BASENAMES: 1117,
  DIRNAMES: 1118,
} as const;

export const TYPE = {
  NULL: 0,
  CHAR: 1,
  INT8: 2,
  INT16: 3,
  INT32: 4,
  INT64: 5,
  STRING: 6,
  BIN: 7,
  STRING_ARRAY: 8,
  I18NSTRING: 9,
} as const;

export interface RpmHeader {
  name: string;
  version: string;
  release: string;
  epoch?: number;
  arch?: string;
  sourceRpm?: string;
  license?: string;
  vendor?: string;
  /** Absolute paths of the files the package installed. */
  files: string[];
}

/** Why a header blob could not be read. Headers that fail are skipped by the caller and counted. */
export class RpmHeaderError extends Error {
  override readonly name = 'RpmHeaderError';
}

interface IndexEntry {
  type: number;
  offset: number;
  count: number;
}

class HeaderReader {
  private readonly entries = new Map<number, IndexEntry>();
  private readonly data: Buffer;

  constructor(blob: Buffer) {
    if (blob.length > MAX_RPM_HEADER_BYTES) {
      throw new RpmHeaderError(`rpm header of ${blob.length} bytes is over the ${MAX_RPM_HEADER_BYTES}-byte limit`);
    }
    if (blob.length < 8) throw new RpmHeaderError(`rpm header of ${blob.length} bytes is too short`);
    const nindex = blob.readUInt32BE(0);
    const hsize = blob.readUInt32BE(4);
    if (nindex === 0 || nindex > MAX_INDEX_ENTRIES) throw new RpmHeaderError(`rpm header has ${nindex} index entries`);
    const dataStart = 8 + nindex * 16;
    if (dataStart + hsize > blob.length) {
      throw new RpmHeaderError(`rpm header claims ${nindex} entries and ${hsize} data bytes but holds ${blob.length} bytes`);
    }
    this.data = blob.subarray(dataStart, dataStart + hsize);
    for (let i = 0; i < nindex; i++) {
      const at = 8 + i * 16;
      const tag = blob.readUInt32BE(at);
      if (this.entries.has(tag)) continue;
      const entry = { type: blob.readUInt32BE(at + 4), offset: blob.readInt32BE(at + 8), count: blob.readUInt32BE(at + 12) };
      if (entry.offset < 0 || entry.offset > hsize) continue;
      this.entries.set(tag, entry);
    }
  }

  private cString(offset: number): { value: string; next: number } {
    const end = this.data.indexOf(0, offset);
    if (end < 0) throw new RpmHeaderError(`unterminated string at data offset ${offset}`);
    return { value: this.data.toString('utf8', offset, end), next: end + 1 };
  }

  string(tag: number): string | undefined {
    const entry = this.entries.get(tag);
    if (!entry) return undefined;
    if (entry.type !== TYPE.STRING && entry.type !== TYPE.STRING_ARRAY && entry.type !== TYPE.I18NSTRING) {
      throw new RpmHeaderError(`tag ${tag} has type ${entry.type}, expected a string`);
    }
    return this.cString(entry.offset).value;
  }

  strings(tag: number): string[] {
    const entry = this.entries.get(tag);
    if (!entry) return [];
    if (entry.type !== TYPE.STRING_ARRAY && entry.type !== TYPE.I18NSTRING && entry.type !== TYPE.STRING) {
      throw new RpmHeaderError(`tag ${tag} has type ${entry.type}, expected a string array`);
    }
    if (entry.count > this.data.length) throw new RpmHeaderError(`tag ${tag} claims ${entry.count} strings`);
    const values: string[] = [];
    let offset = entry.offset;
    for (let i = 0; i < entry.count; i++) {
      const { value, next } = this.cString(offset);
      values.push(value);
      offset = next;
    }
    return values;
  }

  int32s(tag: number): number[] {
    const entry = this.entries.get(tag);
    if (!entry) return [];
    if (entry.type !== TYPE.INT32) throw new RpmHeaderError(`tag ${tag} has type ${entry.type}, expected INT32`);
    if (entry.offset + entry.count * 4 > this.data.length) throw new RpmHeaderError(`tag ${tag} runs past the data store`);
    const values: number[] = [];
    for (let i = 0; i < entry.count; i++) values.push(this.data.readInt32BE(entry.offset + i * 4));
    return values;
  }
}

function fileList(reader: HeaderReader): string[] {
  const basenames = reader.strings(TAG.BASENAMES);
  if (basenames.length === 0) return reader.strings(TAG.OLDFILENAMES);
  const dirnames = reader.strings(TAG.DIRNAMES);
  const dirindexes = reader.int32s(TAG.DIRINDEXES);
  if (dirindexes.length !== basenames.length) {
    throw new RpmHeaderError(`header has ${basenames.length} basenames but ${dirindexes.length} dir indexes`);
  }
  return basenames.map((base, i) => {
    const dir = dirnames[dirindexes[i] ?? -1];
    if (dir === undefined) throw new RpmHeaderError(`dir index ${dirindexes[i]} is out of range`);
    return `${dir}${base}`;
  });
}

export function parseRpmHeader(blob: Buffer): RpmHeader {
  const reader = new HeaderReader(blob);
  const name = reader.string(TAG.NAME);
  const version = reader.string(TAG.VERSION);
  const release = reader.string(TAG.RELEASE);
  if (!name || !version || release === undefined) throw new RpmHeaderError('rpm header lacks NAME, VERSION or RELEASE');
  const [epoch] = reader.int32s(TAG.EPOCH);
  return {
    name,
    version,
    release,
    ...(epoch !== undefined ? { epoch } : {}),
    ...optional('arch', reader.string(TAG.ARCH)),
    ...optional('sourceRpm', reader.string(TAG.SOURCERPM)),
    ...optional('license', reader.string(TAG.LICENSE)),
    ...optional('vendor', reader.string(TAG.VENDOR)),
    files: fileList(reader),
  };
}

function optional<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  if (!value) return {};
  const out: Partial<Record<K, string>> = {};
  out[key] = value;
  return out;
}

import { elfOffsetOf, readElf, elfSectionBytes, isElf } from '../generic.js';

/** What `go version -m` prints: the toolchain, the main module, its dependencies and build settings. */
export interface GoModule {
  path: string;
  version: string;
  sum?: string;
  replace?: GoModule;
}

export interface GoBuildInfo {
  goVersion: string;
  path?: string;
  main?: GoModule;
  deps: GoModule[];
  settings: Map<string, string>;
}

const MAGIC = Buffer.from('\xff Go buildinf:', 'latin1');
const HEADER_SIZE = 32;
const FLAG_BIG_ENDIAN = 0x1;
const FLAG_VERSION_INLINE = 0x2;
/** Largest string read out of build info (module lists of big programs stay well under this). */
const MAX_STRING = 4 * 1024 * 1024;

function isMachO(b: Buffer): boolean {
  if (b.length < 4) return false;
  const m = b.readUInt32BE(0);
  return m === 0xfeedface || m === 0xfeedfacf || m === 0xcefaedfe || m === 0xcffaedfe || m === 0xcafebabe;
}

function isPe(b: Buffer): boolean {
  return b.length >= 64 && b[0] === 0x4d && b[1] === 0x5a;
}

/** An unsigned LEB128 varint (Go's binary.Uvarint) at `offset`. */
function readUvarint(b: Buffer, offset: number): { value: number; next: number } | undefined {
  let value = 0;
  let shift = 0;
  for (let i = offset; i < b.length && i < offset + 10; i++) {
    const byte = b[i] ?? 0;
    value += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return { value, next: i + 1 };
    shift += 7;
  }
  return undefined;
}

function readInlineBytes(b: Buffer, offset: number): { value: Buffer; next: number } | undefined {
  const len = readUvarint(b, offset);
  if (!len || len.value > MAX_STRING || len.next + len.value > b.length) return undefined;
  return { value: b.subarray(len.next, len.next + len.value), next: len.next + len.value };
}

/** Where the build-info header lies: the `.go.buildinfo` section of an ELF, else a search of the file. */
function findHeader(bytes: Buffer): number {
  if (isElf(bytes)) {
    const elf = readElf(bytes);
    if (elf && elf.sections.length > 0) {
      const section = elfSectionBytes(elf, bytes, '.go.buildinfo');
      if (!section) return -1; // an ELF with section headers and no .go.buildinfo is not a Go ≥1.13 binary
      const at = section.indexOf(MAGIC);
      return at < 0 ? -1 : section.byteOffset - bytes.byteOffset + at;
    }
  }
  return bytes.indexOf(MAGIC);
}

/**
 * Reads the pointer-based header of Go < 1.18: two pointers to Go string headers (data pointer and
 * length) at virtual addresses; implemented for ELF (Mach-O and PE binaries of Go < 1.18 are not read).
 */
function readPointerStrings(bytes: Buffer, at: number, ptrSize: number, bigEndian: boolean): [Buffer, Buffer] | undefined {
  const elf = readElf(bytes);
  if (!elf || (ptrSize !== 4 && ptrSize !== 8)) return undefined;
  const readPtr = (offset: number): bigint | undefined => {
    if (offset < 0 || offset + ptrSize > bytes.length) return undefined;
    if (ptrSize === 8) return bigEndian ? bytes.readBigUInt64BE(offset) : bytes.readBigUInt64LE(offset);
    return BigInt(bigEndian ? bytes.readUInt32BE(offset) : bytes.readUInt32LE(offset));
  };
  const readGoString = (addr: bigint | undefined): Buffer | undefined => {
    if (addr === undefined) return undefined;
    const headerOffset = elfOffsetOf(elf, addr);
    if (headerOffset === undefined) return undefined;
    const dataAddr = readPtr(headerOffset);
    const len = readPtr(headerOffset + ptrSize);
    if (dataAddr === undefined || len === undefined || len > BigInt(MAX_STRING)) return undefined;
    if (len === 0n) return Buffer.alloc(0);
    const dataOffset = elfOffsetOf(elf, dataAddr);
    if (dataOffset === undefined || dataOffset + Number(len) > bytes.length) return undefined;
    return bytes.subarray(dataOffset, dataOffset + Number(len));
  };
  const version = readGoString(readPtr(at + 16));
  const modinfo = readGoString(readPtr(at + 16 + ptrSize));
  return version === undefined || modinfo === undefined ? undefined : [version, modinfo];
}

/** Strips the 16-byte sentinels the linker wraps around the module info string (bytes, not UTF-8). */
function unwrapModinfo(modinfo: Buffer): string {
  if (modinfo.length >= 33 && modinfo[modinfo.length - 17] === 0x0a) return modinfo.toString('utf8', 16, modinfo.length - 16);
  return modinfo.toString('utf8');
}

function parseModLine(fields: string[]): GoModule | undefined {
  const [path, version, sum] = fields;
  if (!path) return undefined;
  return sum ? { path, version: version ?? '', sum } : { path, version: version ?? '' };
}

/** The text of runtime/debug.BuildInfo (`path`, `mod`, `dep`, `=>`, `build` lines). */
export function parseModinfo(goVersion: string, text: string): GoBuildInfo {
  const info: GoBuildInfo = { goVersion, deps: [], settings: new Map() };
  let last: GoModule | undefined;
  for (const line of text.split('\n')) {
    const fields = line.split('\t');
    const [kind, ...rest] = fields;
    if (kind === 'path') info.path = rest[0];
    else if (kind === 'mod') {
      last = parseModLine(rest);
      if (last) info.main = last;
    } else if (kind === 'dep') {
      last = parseModLine(rest);
      if (last) info.deps.push(last);
    } else if (kind === '=>') {
      const replace = parseModLine(rest);
      if (last && replace) last.replace = replace;
    } else if (kind === 'build') {
      const setting = rest.join('\t');
      const eq = setting.indexOf('=');
      if (eq > 0) info.settings.set(setting.slice(0, eq), setting.slice(eq + 1));
    }
  }
  return info;
}

/**
 * The Go build info embedded in an executable (ELF, Mach-O or PE), or undefined when the file is not
 * a Go binary built with module support (Go ≥ 1.13). Go ≥ 1.18 stores the strings inline after the
 * 32-byte header; older toolchains store pointers, which are followed for ELF only.
 */
export function readGoBuildInfo(bytes: Buffer): GoBuildInfo | undefined {
  if (!isElf(bytes) && !isMachO(bytes) && !isPe(bytes)) return undefined;
  const at = findHeader(bytes);
  if (at < 0 || at + HEADER_SIZE > bytes.length) return undefined;
  const ptrSize = bytes[at + 14] ?? 0;
  const flags = bytes[at + 15] ?? 0;
  let version: Buffer;
  let modinfo: Buffer;
  if ((flags & FLAG_VERSION_INLINE) !== 0) {
    const inlineVersion = readInlineBytes(bytes, at + HEADER_SIZE);
    const inlineMod = inlineVersion ? readInlineBytes(bytes, inlineVersion.next) : undefined;
    if (!inlineVersion || !inlineMod) return undefined;
    version = inlineVersion.value;
    modinfo = inlineMod.value;
  } else {
    const strings = readPointerStrings(bytes, at, ptrSize, (flags & FLAG_BIG_ENDIAN) !== 0);
    if (!strings) return undefined;
    [version, modinfo] = strings;
  }
  const goVersion = version.toString('utf8');
  if (!goVersion.startsWith('go') && !goVersion.startsWith('devel')) return undefined;
  return parseModinfo(goVersion, unwrapModinfo(modinfo));
}

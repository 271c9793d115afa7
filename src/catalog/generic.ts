import type { Package, PackageLocation, PackageType } from '../core/index.js';
import { AppError } from '../core/index.js';
import type { CatalogFile } from './types.js';

/**
 * Helpers shared by the language catalogers: the package record they all build, a strict parser for
 * the TOML subset that lockfiles use (Cargo.lock, poetry.lock, uv.lock), and an ELF reader for the
 * binary catalogers (Go build info, cargo-auditable).
 */

/** What a parser found in one file: the packages, and how many records it skipped as unusable. */
export interface ParseOutcome {
  packages: Package[];
  skipped: number;
}

export interface PackageFields {
  type: PackageType;
  name: string;
  version: string;
  purl: string;
  licenses?: readonly string[];
}

/** The location of a package recorded in `file` (optionally at a path inside it, e.g. a nested jar). */
export function locationOf(file: Pick<CatalogFile, 'path' | 'layer'>, path = file.path): PackageLocation {
  return file.layer === '' ? { path } : { path, layer: file.layer };
}

export function languagePackage(fields: PackageFields, location: PackageLocation): Package {
  const pkg: Package = {
    type: fields.type,
    name: fields.name,
    version: fields.version,
    purl: fields.purl,
    locations: [location],
  };
  const licenses = (fields.licenses ?? []).map((l) => l.trim()).filter((l) => l !== '');
  if (licenses.length > 0) pkg.licenses = [...new Set(licenses)];
  return pkg;
}

/** The last path segment. */
export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

const INSTALLED_PACKAGE_DIRS = ['/node_modules/', '/site-packages/', '/dist-packages/', '/vendor/', '/.cargo/registry/', '/.cargo/git/'];
/** An installed gem's own folder: `…/gems/<name>-<version>/…`. */
const GEM_DIR = /\/gems\/[^/]+-\d[^/]*\//;

/**
 * True when a path lies inside an installed package or a package cache (node_modules, site-packages,
 * vendor, a gem's folder, the cargo registry). Lockfiles and requirement files there are the package
 * authors' development files, not what the image installs, so lockfile catalogers ignore them.
 */
export function isInsideInstalledPackage(path: string): boolean {
  return INSTALLED_PACKAGE_DIRS.some((dir) => path.includes(dir)) || GEM_DIR.test(path);
}

/** Parses JSON or throws a BAD_INPUT AppError naming the file. */
export function parseJsonFile(file: Pick<CatalogFile, 'path' | 'bytes'>, what: string): unknown {
  try {
    return JSON.parse(stripBom(file.bytes.toString('utf8')));
  } catch (cause) {
    throw new AppError('BAD_INPUT', `${file.path} is not valid JSON, so the ${what} cannot be read; fix or remove the file`, {
      cause,
      details: { path: file.path },
    });
  }
}

export function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** Splits text into lines, accepting LF and CRLF. */
export function splitLines(text: string): string[] {
  return stripBom(text).split(/\r?\n/);
}

// ---------------------------------------------------------------------------------------------------
// TOML subset
// ---------------------------------------------------------------------------------------------------

export type TomlValue = string | number | boolean | TomlValue[] | TomlTable;
export interface TomlTable {
  [key: string]: TomlValue;
}

/**
 * Parses the TOML that lockfile writers emit (Cargo, Poetry/tomlkit, uv): tables, arrays of tables,
 * dotted and quoted keys, basic/literal/multi-line strings, integers, floats, booleans, arrays spanning
 * lines, inline tables. Date-times are returned as their source text. Anything else is a syntax error:
 * an AppError BAD_INPUT with the line number.
 */
export function parseToml(text: string, source = 'TOML file'): TomlTable {
  return new TomlParser(stripBom(text), source).parseDocument();
}

/** A table without a prototype, so keys such as "__proto__" or "constructor" are plain keys. */
function newTable(): TomlTable {
  return Object.create(null);
}

function isTable(value: TomlValue | undefined): value is TomlTable {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const BARE_KEY = /[A-Za-z0-9_-]/;
const BARE_VALUE = /[A-Za-z0-9_:.+-]/;

class TomlParser {
  private pos = 0;
  private readonly root: TomlTable = newTable();
  /** Tables created by a [header] (may not be defined twice) and inline/static ones (may not be extended). */
  private readonly explicit = new Set<TomlTable>();
  private readonly frozen = new Set<TomlValue>();

  constructor(
    private readonly src: string,
    private readonly source: string,
  ) {}

  parseDocument(): TomlTable {
    let current = this.root;
    for (;;) {
      this.skipWhitespaceCommentsNewlines();
      if (this.pos >= this.src.length) return this.root;
      const ch = this.src[this.pos];
      if (ch === '[') {
        current = this.parseHeader();
      } else {
        this.parseKeyValue(current);
      }
      this.expectLineEnd();
    }
  }

  private fail(message: string): never {
    const line = this.src.slice(0, this.pos).split('\n').length;
    throw new AppError('BAD_INPUT', `${this.source}: TOML syntax error at line ${line}: ${message}; the file cannot be read`, {
      details: { line },
    });
  }

  private skipSpaces(): void {
    while (this.pos < this.src.length && (this.src[this.pos] === ' ' || this.src[this.pos] === '\t')) this.pos++;
  }

  private skipComment(): void {
    if (this.src[this.pos] === '#') {
      while (this.pos < this.src.length && this.src[this.pos] !== '\n') this.pos++;
    }
  }

  private skipWhitespaceCommentsNewlines(): void {
    for (;;) {
      this.skipSpaces();
      this.skipComment();
      const ch = this.src[this.pos];
      if (ch === '\n') this.pos++;
      else if (ch === '\r' && this.src[this.pos + 1] === '\n') this.pos += 2;
      else return;
    }
  }

  private expectLineEnd(): void {
    this.skipSpaces();
    this.skipComment();
    if (this.pos >= this.src.length) return;
    const ch = this.src[this.pos];
    if (ch === '\n') this.pos++;
    else if (ch === '\r' && this.src[this.pos + 1] === '\n') this.pos += 2;
    else this.fail(`unexpected ${JSON.stringify(ch)} after a value`);
  }

  private parseHeader(): TomlTable {
    const isArray = this.src.startsWith('[[', this.pos);
    this.pos += isArray ? 2 : 1;
    this.skipSpaces();
    const keys = this.parseKey();
    this.skipSpaces();
    if (isArray ? !this.src.startsWith(']]', this.pos) : this.src[this.pos] !== ']') this.fail('unclosed table header');
    this.pos += isArray ? 2 : 1;
    const parent = this.descend(this.root, keys.slice(0, -1));
    const last = keys[keys.length - 1] ?? this.fail('empty table header');
    const existing = Object.hasOwn(parent, last) ? parent[last] : undefined;
    if (isArray) {
      const table: TomlTable = newTable();
      if (existing === undefined) {
        parent[last] = [table];
      } else if (Array.isArray(existing) && !this.frozen.has(existing)) {
        existing.push(table);
      } else {
        this.fail(`key "${keys.join('.')}" is already defined and is not an array of tables`);
      }
      this.explicit.add(table);
      return table;
    }
    if (existing === undefined) {
      const table: TomlTable = newTable();
      parent[last] = table;
      this.explicit.add(table);
      return table;
    }
    if (isTable(existing) && !this.explicit.has(existing) && !this.frozen.has(existing)) {
      this.explicit.add(existing);
      return existing;
    }
    return this.fail(`table "${keys.join('.')}" is defined twice`);
  }

  /** Walks (creating implicit tables) to the table named by keys; the last element of an array of tables. */
  private descend(from: TomlTable, keys: string[]): TomlTable {
    let table = from;
    for (const key of keys) {
      const next = Object.hasOwn(table, key) ? table[key] : undefined;
      if (next === undefined) {
        const created: TomlTable = newTable();
        table[key] = created;
        table = created;
      } else if (isTable(next) && !this.frozen.has(next)) {
        table = next;
      } else if (Array.isArray(next) && !this.frozen.has(next)) {
        const lastItem = next[next.length - 1];
        if (!isTable(lastItem)) this.fail(`key "${key}" is not a table`);
        table = lastItem;
      } else {
        this.fail(`key "${key}" is already a value, not a table`);
      }
    }
    return table;
  }

  private parseKeyValue(table: TomlTable): void {
    const keys = this.parseKey();
    this.skipSpaces();
    if (this.src[this.pos] !== '=') this.fail(`expected "=" after key "${keys.join('.')}"`);
    this.pos++;
    this.skipSpaces();
    const value = this.parseValue();
    const target = this.descend(table, keys.slice(0, -1));
    const last = keys[keys.length - 1] ?? this.fail('empty key');
    if (Object.hasOwn(target, last)) this.fail(`key "${keys.join('.')}" is defined twice`);
    target[last] = value;
  }

  private parseKey(): string[] {
    const keys: string[] = [];
    for (;;) {
      this.skipSpaces();
      const ch = this.src[this.pos];
      if (ch === '"') keys.push(this.parseBasicString());
      else if (ch === "'") keys.push(this.parseLiteralString());
      else {
        const start = this.pos;
        while (this.pos < this.src.length && BARE_KEY.test(this.src[this.pos] ?? '')) this.pos++;
        if (this.pos === start) this.fail('expected a key');
        keys.push(this.src.slice(start, this.pos));
      }
      this.skipSpaces();
      if (this.src[this.pos] !== '.') return keys;
      this.pos++;
    }
  }

  private parseValue(): TomlValue {
    const ch = this.src[this.pos];
    if (ch === '"') {
      return this.src.startsWith('"""', this.pos) ? this.parseMultilineBasic() : this.parseBasicString();
    }
    if (ch === "'") {
      return this.src.startsWith("'''", this.pos) ? this.parseMultilineLiteral() : this.parseLiteralString();
    }
    if (ch === '[') return this.parseArray();
    if (ch === '{') return this.parseInlineTable();
    return this.parseScalar();
  }

  private parseScalar(): TomlValue {
    const start = this.pos;
    while (this.pos < this.src.length) {
      const c = this.src[this.pos] ?? '';
      // A space is part of a date-time ("1979-05-27 07:32:00Z") only between a date and a time.
      if (c === ' ' && /^\d{4}-\d{2}-\d{2}$/.test(this.src.slice(start, this.pos)) && /\d/.test(this.src[this.pos + 1] ?? '')) {
        this.pos++;
        continue;
      }
      if (!BARE_VALUE.test(c)) break;
      this.pos++;
    }
    const token = this.src.slice(start, this.pos);
    if (token === '') this.fail('expected a value');
    if (token === 'true') return true;
    if (token === 'false') return false;
    if (/^[+-]?(0|[1-9](_?\d)*)$/.test(token)) return Number(token.replace(/_/g, ''));
    if (/^0x[0-9A-Fa-f](_?[0-9A-Fa-f])*$/.test(token)) return parseInt(token.slice(2).replace(/_/g, ''), 16);
    if (/^[+-]?(0|[1-9](_?\d)*)(\.\d(_?\d)*)?([eE][+-]?\d(_?\d)*)?$/.test(token)) return Number(token.replace(/_/g, ''));
    if (/^[+-]?(inf|nan)$/.test(token)) return token.endsWith('inf') ? (token.startsWith('-') ? -Infinity : Infinity) : NaN;
    if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?$/i.test(token)) return token;
    if (/^\d{2}:\d{2}:\d{2}(\.\d+)?$/.test(token)) return token;
    return this.fail(`invalid value ${JSON.stringify(token)}`);
  }

  private parseBasicString(): string {
    this.pos++;
    let out = '';
    for (;;) {
      const ch = this.src[this.pos];
      if (ch === undefined || ch === '\n') this.fail('unterminated string');
      if (ch === '"') {
        this.pos++;
        return out;
      }
      if (ch === '\\') out += this.parseEscape();
      else {
        out += ch;
        this.pos++;
      }
    }
  }

  private parseEscape(): string {
    const esc = this.src[this.pos + 1];
    this.pos += 2;
    switch (esc) {
      case '"':
        return '"';
      case '\\':
        return '\\';
      case 'b':
        return '\b';
      case 't':
        return '\t';
      case 'n':
        return '\n';
      case 'f':
        return '\f';
      case 'r':
        return '\r';
      case 'e':
        return '\x1b';
      case 'u':
      case 'U': {
        const len = esc === 'u' ? 4 : 8;
        const hex = this.src.slice(this.pos, this.pos + len);
        if (!/^[0-9A-Fa-f]+$/.test(hex) || hex.length !== len) this.fail('invalid unicode escape');
        this.pos += len;
        const code = parseInt(hex, 16);
        if (code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) this.fail('invalid unicode scalar in escape');
        return String.fromCodePoint(code);
      }
      default:
        return this.fail(`invalid escape "\\${esc ?? ''}"`);
    }
  }

  private parseLiteralString(): string {
    this.pos++;
    const end = this.src.indexOf("'", this.pos);
    const nl = this.src.indexOf('\n', this.pos);
    if (end < 0 || (nl >= 0 && nl < end)) this.fail('unterminated literal string');
    const out = this.src.slice(this.pos, end);
    this.pos = end + 1;
    return out;
  }

  private skipFirstNewline(): void {
    if (this.src[this.pos] === '\n') this.pos++;
    else if (this.src.startsWith('\r\n', this.pos)) this.pos += 2;
  }

  private parseMultilineBasic(): string {
    this.pos += 3;
    this.skipFirstNewline();
    let out = '';
    for (;;) {
      if (this.pos >= this.src.length) this.fail('unterminated multi-line string');
      if (this.src.startsWith('"""', this.pos)) {
        // Up to two quotes may sit right before the closing delimiter.
        let extra = 0;
        while (extra < 2 && this.src[this.pos + 3 + extra] === '"') extra++;
        out += '"'.repeat(extra);
        this.pos += 3 + extra;
        return out;
      }
      const ch = this.src[this.pos] ?? '';
      if (ch === '\\') {
        // Line-ending backslash: trims the newline and the whitespace that follows.
        const rest = /^\\[ \t]*\r?\n/.exec(this.src.slice(this.pos, this.pos + 64));
        if (rest) {
          this.pos += rest[0].length;
          while (/[ \t\r\n]/.test(this.src[this.pos] ?? '')) this.pos++;
        } else {
          out += this.parseEscape();
        }
      } else {
        out += ch;
        this.pos++;
      }
    }
  }

  private parseMultilineLiteral(): string {
    this.pos += 3;
    this.skipFirstNewline();
    const end = this.src.indexOf("'''", this.pos);
    if (end < 0) this.fail('unterminated multi-line literal string');
    let stop = end;
    while (stop + 3 < this.src.length && this.src[stop + 3] === "'" && stop - end < 2) stop++;
    const out = this.src.slice(this.pos, stop);
    this.pos = stop + 3;
    return out;
  }

  private parseArray(): TomlValue[] {
    this.pos++;
    const items: TomlValue[] = [];
    for (;;) {
      this.skipWhitespaceCommentsNewlines();
      if (this.src[this.pos] === ']') {
        this.pos++;
        break;
      }
      items.push(this.parseValue());
      this.skipWhitespaceCommentsNewlines();
      const ch = this.src[this.pos];
      if (ch === ',') this.pos++;
      else if (ch === ']') {
        this.pos++;
        break;
      } else this.fail('expected "," or "]" in array');
    }
    this.frozen.add(items);
    return items;
  }

  private parseInlineTable(): TomlTable {
    this.pos++;
    const table: TomlTable = newTable();
    this.skipSpaces();
    if (this.src[this.pos] === '}') {
      this.pos++;
      this.frozen.add(table);
      return table;
    }
    for (;;) {
      this.skipSpaces();
      this.parseKeyValue(table);
      this.skipSpaces();
      const ch = this.src[this.pos];
      if (ch === ',') this.pos++;
      else if (ch === '}') {
        this.pos++;
        break;
      } else this.fail('expected "," or "}" in inline table');
    }
    this.frozen.add(table);
    return table;
  }
}

// ---------------------------------------------------------------------------------------------------
// ELF
// ---------------------------------------------------------------------------------------------------

export interface ElfSection {
  name: string;
  type: number;
  addr: bigint;
  offset: number;
  size: number;
}

export interface ElfSegment {
  type: number;
  offset: number;
  vaddr: bigint;
  filesz: number;
}

export interface ElfFile {
  is64: boolean;
  littleEndian: boolean;
  sections: ElfSection[];
  segments: ElfSegment[];
}

const SHT_NOBITS = 8;
const PT_LOAD = 1;
const MAX_ELF_HEADERS = 65_536;

export function isElf(bytes: Buffer): boolean {
  return bytes.length >= 52 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46;
}

/**
 * Reads the section and program header tables of an ELF file. Returns undefined when the bytes are
 * not ELF or the header tables lie outside the file (a truncated or hostile binary).
 */
export function readElf(bytes: Buffer): ElfFile | undefined {
  if (!isElf(bytes)) return undefined;
  const is64 = bytes[4] === 2;
  if (!is64 && bytes[4] !== 1) return undefined;
  const littleEndian = bytes[5] === 1;
  if (!littleEndian && bytes[5] !== 2) return undefined;
  if (is64 && bytes.length < 64) return undefined;
  const u16 = (o: number): number => (littleEndian ? bytes.readUInt16LE(o) : bytes.readUInt16BE(o));
  const u32 = (o: number): number => (littleEndian ? bytes.readUInt32LE(o) : bytes.readUInt32BE(o));
  const u64 = (o: number): bigint => (littleEndian ? bytes.readBigUInt64LE(o) : bytes.readBigUInt64BE(o));
  const word = (o: number): bigint => (is64 ? u64(o) : BigInt(u32(o)));
  const small = (v: bigint): number => (v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v));

  const phoff = small(word(is64 ? 0x20 : 0x1c));
  const shoff = small(word(is64 ? 0x28 : 0x20));
  const phentsize = u16(is64 ? 0x36 : 0x2a);
  const phnum = u16(is64 ? 0x38 : 0x2c);
  const shentsize = u16(is64 ? 0x3a : 0x2e);
  const shnum = u16(is64 ? 0x3c : 0x30);
  const shstrndx = u16(is64 ? 0x3e : 0x32);

  const segments: ElfSegment[] = [];
  const minPh = is64 ? 56 : 32;
  if (phoff > 0 && phentsize >= minPh && phnum <= MAX_ELF_HEADERS && phoff + phnum * phentsize <= bytes.length) {
    for (let i = 0; i < phnum; i++) {
      const o = phoff + i * phentsize;
      segments.push(
        is64
          ? { type: u32(o), offset: small(u64(o + 8)), vaddr: u64(o + 16), filesz: small(u64(o + 32)) }
          : { type: u32(o), offset: u32(o + 4), vaddr: BigInt(u32(o + 8)), filesz: u32(o + 16) },
      );
    }
  }

  const sections: ElfSection[] = [];
  const minSh = is64 ? 64 : 40;
  if (shoff > 0 && shentsize >= minSh && shnum <= MAX_ELF_HEADERS && shoff + shnum * shentsize <= bytes.length) {
    const raw: { nameOff: number; type: number; addr: bigint; offset: number; size: number }[] = [];
    for (let i = 0; i < shnum; i++) {
      const o = shoff + i * shentsize;
      raw.push(
        is64
          ? { nameOff: u32(o), type: u32(o + 4), addr: u64(o + 16), offset: small(u64(o + 24)), size: small(u64(o + 32)) }
          : { nameOff: u32(o), type: u32(o + 4), addr: BigInt(u32(o + 12)), offset: u32(o + 16), size: u32(o + 20) },
      );
    }
    const strtab = raw[shstrndx];
    for (const s of raw) {
      let name = '';
      if (strtab && strtab.offset + s.nameOff < bytes.length) {
        const start = strtab.offset + s.nameOff;
        const end = bytes.indexOf(0, start);
        name = bytes.toString('latin1', start, end < 0 ? Math.min(bytes.length, start + 256) : end);
      }
      sections.push({ name, type: s.type, addr: s.addr, offset: s.offset, size: s.size });
    }
  }
  return { is64, littleEndian, sections, segments };
}

/** The bytes of a named section (undefined if absent, NOBITS or outside the file). */
export function elfSectionBytes(elf: ElfFile, bytes: Buffer, name: string): Buffer | undefined {
  const section = elf.sections.find((s) => s.name === name);
  if (!section || section.type === SHT_NOBITS) return undefined;
  if (section.offset + section.size > bytes.length) return undefined;
  return bytes.subarray(section.offset, section.offset + section.size);
}

/** Maps a virtual address to a file offset through the loadable segments (or the sections). */
export function elfOffsetOf(elf: ElfFile, vaddr: bigint): number | undefined {
  for (const seg of elf.segments) {
    if (seg.type !== PT_LOAD) continue;
    if (vaddr >= seg.vaddr && vaddr < seg.vaddr + BigInt(seg.filesz)) return seg.offset + Number(vaddr - seg.vaddr);
  }
  for (const s of elf.sections) {
    if (s.type === SHT_NOBITS || s.addr === 0n) continue;
    if (vaddr >= s.addr && vaddr < s.addr + BigInt(s.size)) return s.offset + Number(vaddr - s.addr);
  }
  return undefined;
}

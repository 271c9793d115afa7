import { AppError, isSeverity, type AffectedRange, type CvssScore, type EpssScore, type FixState, type RangeEvent, type Severity } from '../core/index.js';
import type { AdvisorySummary, AffectedRecord } from './types.js';

/**
 * Column encodings of the advisory DB. Ranges are stored as JSON in the domain's own shape
 * (`[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1.2.3"}]}]`), so that one
 * JSON.parse of a `packages` row yields the objects range evaluation takes, with no decoding pass
 * and no intermediate garbage; the shape is checked in place.
 *
 * The DB is written by this program, so the decoders check shapes by hand (typeof, Array.isArray)
 * instead of with zod: they run for every record of every lookup. A value of another shape means a
 * damaged file: corruptColumn() says which column and to rebuild the DB.
 */
export function corruptColumn(column: string): AppError {
  return new AppError('BAD_INPUT', `advisory DB column ${column} holds a value of an unexpected shape; rebuild the DB with \`palisade db update\``, {
    details: { column },
  });
}

/** One event with exactly its one key, whatever else the feed parser's object carried. */
function canonicalEvent(e: RangeEvent): RangeEvent {
  if ('introduced' in e) return { introduced: e.introduced };
  if ('fixed' in e) return { fixed: e.fixed };
  if ('last_affected' in e) return { last_affected: e.last_affected };
  return { limit: e.limit };
}

export function encodeRanges(ranges: readonly AffectedRange[]): string {
  return JSON.stringify(ranges.map((r) => ({ type: r.type, events: r.events.map(canonicalEvent) })));
}

function isRangeEvent(value: unknown): value is RangeEvent {
  if (typeof value !== 'object' || value === null) return false;
  if ('introduced' in value) return typeof value.introduced === 'string';
  if ('fixed' in value) return typeof value.fixed === 'string';
  if ('last_affected' in value) return typeof value.last_affected === 'string';
  return 'limit' in value && typeof value.limit === 'string';
}

function isRange(value: unknown): value is AffectedRange {
  if (typeof value !== 'object' || value === null || !('type' in value) || !('events' in value)) return false;
  if (value.type !== 'ECOSYSTEM' && value.type !== 'SEMVER') return false;
  const events = value.events;
  if (!Array.isArray(events)) return false;
  const items: unknown[] = events;
  for (let i = 0; i < items.length; i++) if (!isRangeEvent(items[i])) return false;
  return true;
}

function isRangeList(value: unknown): value is AffectedRange[] {
  if (!Array.isArray(value)) return false;
  const items: unknown[] = value;
  for (let i = 0; i < items.length; i++) if (!isRange(items[i])) return false;
  return true;
}

/** Ranges from their parsed JSON (`encodeRanges`), checked in place, e.g. one element of a `packages` record. */
export function rangesFromValue(value: unknown): AffectedRange[] {
  if (!isRangeList(value)) throw corruptColumn('ranges');
  return value;
}

export function decodeRanges(text: string | null): AffectedRange[] {
  if (!text) return [];
  return rangesFromValue(JSON.parse(text));
}

/** CVSS as the domain's objects, `[{"version":"3.1","vector":"CVSS:3.1/…","baseScore":7.5,"source":"nvd"}, …]`. */
export function encodeCvss(scores: readonly CvssScore[]): string | null {
  if (scores.length === 0) return null;
  return JSON.stringify(scores.map((s) => ({ version: s.version, vector: s.vector, baseScore: s.baseScore, source: s.source })));
}

function isCvssVersion(value: unknown): value is CvssScore['version'] {
  return value === '3.1' || value === '3.0' || value === '4.0' || value === '2.0';
}

function isCvssScore(value: unknown): value is CvssScore {
  return (
    typeof value === 'object' &&
    value !== null &&
    'version' in value &&
    isCvssVersion(value.version) &&
    'vector' in value &&
    typeof value.vector === 'string' &&
    'baseScore' in value &&
    typeof value.baseScore === 'number' &&
    'source' in value &&
    typeof value.source === 'string'
  );
}

function isCvssList(value: unknown): value is CvssScore[] {
  if (!Array.isArray(value)) return false;
  const items: unknown[] = value;
  for (let i = 0; i < items.length; i++) if (!isCvssScore(items[i])) return false;
  return true;
}

export function decodeCvss(text: string | null): CvssScore[] {
  if (!text) return [];
  const parsed: unknown = JSON.parse(text);
  if (!isCvssList(parsed)) throw corruptColumn('cvss');
  return parsed;
}

export function encodeStrings(values: readonly string[]): string | null {
  return values.length === 0 ? null : JSON.stringify(values);
}

function isStringArray(value: unknown): value is string[] {
  if (!Array.isArray(value)) return false;
  const items: unknown[] = value;
  for (let i = 0; i < items.length; i++) if (typeof items[i] !== 'string') return false;
  return true;
}

/** Strings from their parsed form (`encodeStrings`), checked in place; `column` names the column in the error. */
export function stringsFromValue(value: unknown, column: string): string[] {
  if (!isStringArray(value)) throw corruptColumn(column);
  return value;
}

export function decodeStrings(text: string | null, column = 'strings'): string[] {
  if (!text) return [];
  return stringsFromValue(JSON.parse(text), column);
}

function isEpssList(value: unknown): value is EpssScore[] {
  if (!Array.isArray(value)) return false;
  const items: unknown[] = value;
  for (let i = 0; i < items.length; i++) {
    const e = items[i];
    if (typeof e !== 'object' || e === null || !('cveId' in e) || typeof e.cveId !== 'string') return false;
    if (!('score' in e) || typeof e.score !== 'number' || !('percentile' in e) || typeof e.percentile !== 'number') return false;
  }
  return true;
}

function isSummary(value: unknown): value is StoredSummary {
  if (typeof value !== 'object' || value === null) return false;
  if (!('id' in value) || typeof value.id !== 'string' || !('source' in value) || typeof value.source !== 'string') return false;
  if (!('aliases' in value) || !isStringArray(value.aliases) || !('cvss' in value) || !isCvssList(value.cvss)) return false;
  if (!('severity' in value) || (value.severity !== null && (typeof value.severity !== 'string' || !isSeverity(value.severity)))) return false;
  if (!('summary' in value) || (value.summary !== null && typeof value.summary !== 'string')) return false;
  return 'epss' in value && (value.epss === null || isEpssList(value.epss));
}

/** A `summaries` document as stored: every key present, null where the advisory has no value. */
interface StoredSummary {
  id: string;
  aliases: string[];
  source: string;
  cvss: CvssScore[];
  summary: string | null;
  severity: Severity | null;
  epss: EpssScore[] | null;
}

/**
 * One `summaries` row: an advisory's summary as JSON in the domain's shape (`{"id", "aliases",
 * "source", "cvss", "summary", "severity", "epss"}`, absent values null), so one JSON.parse yields
 * the values the matcher uses; the shape is checked in place. Written in SQL by the builder
 * (SUMMARIES_SQL), ASCII only (asciiJson).
 */
export function decodeSummary(text: string): AdvisorySummary {
  const doc: unknown = JSON.parse(text);
  if (!isSummary(doc)) throw corruptColumn('summaries.doc');
  // One shape for every summary, absent fields undefined: the matcher's reads of them stay monomorphic.
  return {
    id: doc.id,
    aliases: doc.aliases,
    source: doc.source,
    summary: doc.summary ?? undefined,
    severity: doc.severity ?? undefined,
    cvss: doc.cvss,
    epss: doc.epss ?? undefined,
    withdrawn: undefined,
  };
}

const NON_ASCII = /[\u0080-\uffff]/g;

/**
 * JSON text with every character beyond ASCII written as a `\uXXXX` escape (each UTF-16 unit of a
 * pair on its own, as JSON allows): the same value, as a one-byte string when read back. Valid
 * because such characters can only stand inside string literals of JSON text.
 */
export function asciiJson(text: string | null): string | null {
  if (text === null) return null;
  return text.replace(NON_ASCII, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A stored fix state; anything else reads as 'unknown'. */
export function toFixState(value: unknown): FixState {
  switch (value) {
    case 'fixed':
    case 'unfixed':
    case 'wont-fix':
    case 'not-affected':
    case 'unknown':
      return value;
    default:
      return 'unknown';
  }
}

/** A stored severity; anything else (NULL, 0, an unknown word) reads as none. */
export function toSeverity(value: unknown): Severity | undefined {
  return typeof value === 'string' && isSeverity(value) ? value : undefined;
}

/**
 * One `packages` row: every affected record filed under one (namespace, name), in build order, in
 * two JSON columns. `ranges` holds each distinct range list of the package once (in the shape
 * above): the CVEs of one package fixed in one version share one list, so a lookup builds one set
 * of range objects per distinct list (a third of the records, on Debian) and the matcher evaluates
 * each once. `records` is a flat array of five values per record: `[rid, fixState, severity or 0,
 * index into ranges or -1, versions or 0, …]`, versions a string array. Written by the builder
 * (encodePackageRow) from the build's `affected` rows, whose columns already hold that JSON, so the
 * build never parses it; read with one JSON.parse per column.
 */
export const PACKAGE_RECORD_WIDTH = 5;

/** One affected record as the build holds it: ranges and versions as their JSON text. */
export interface StoredRecord {
  rid: number;
  fixState: string;
  severity: string | null;
  ranges: string | null;
  versions: string | null;
}

export function encodePackageRow(records: readonly StoredRecord[]): { ranges: string | null; records: string } {
  const lists = new Map<string, number>();
  const parts: string[] = [];
  for (const r of records) {
    let list = -1;
    if (r.ranges !== null) {
      list = lists.get(r.ranges) ?? lists.size;
      if (list === lists.size) lists.set(r.ranges, list);
    }
    parts.push(`${r.rid},${JSON.stringify(r.fixState)},${r.severity === null ? '0' : JSON.stringify(r.severity)},${list},${r.versions ?? '0'}`);
  }
  return { ranges: lists.size === 0 ? null : `[${[...lists.keys()].join(',')}]`, records: `[${parts.join(',')}]` };
}

/** Shared by the records without ranges or versions; never written to. */
const NONE: never[] = [];

export function decodePackageRecords(records: string, ranges: string | null): AffectedRecord[] {
  const lists: AffectedRange[][] = [];
  if (ranges !== null) {
    const parsedLists: unknown = JSON.parse(ranges);
    if (!Array.isArray(parsedLists)) throw corruptColumn('packages.ranges');
    const items: unknown[] = parsedLists;
    for (let i = 0; i < items.length; i++) lists.push(rangesFromValue(items[i]));
  }
  const parsed: unknown = JSON.parse(records);
  if (!Array.isArray(parsed) || parsed.length % PACKAGE_RECORD_WIDTH !== 0) throw corruptColumn('packages.records');
  const flat: unknown[] = parsed;
  const out: AffectedRecord[] = [];
  for (let i = 0; i < flat.length; i += PACKAGE_RECORD_WIDTH) {
    const rid = flat[i];
    const list = flat[i + 3];
    const versions = flat[i + 4];
    if (typeof rid !== 'number' || typeof list !== 'number') throw corruptColumn('packages.records');
    const recordRanges = list === -1 ? NONE : lists[list];
    if (recordRanges === undefined) throw corruptColumn('packages.records');
    out.push({
      advisory: rid,
      fixState: toFixState(flat[i + 1]),
      severity: toSeverity(flat[i + 2]),
      ranges: recordRanges,
      versions: versions === 0 ? NONE : stringsFromValue(versions, 'packages.records'),
    });
  }
  return out;
}

import { AppError, isSeverity, type AffectedPackage, type AffectedRange, type CvssScore, type FixState, type RangeEvent, type Severity } from '../core/index.js';

/**
 * Compact column encodings of the advisory DB. Ranges are stored as
 * `[["E","i","0","f","1.2.3"], …]` (type code, then event kind / version pairs) instead of the
 * verbose OSV objects: a third of the size, and the reader rebuilds the exact domain values.
 *
 * The DB is written by this program, so the decoders check shapes by hand (typeof, Array.isArray)
 * instead of with zod: they run for every candidate of every lookup. A value of another shape
 * means a damaged file: corruptColumn() says which column and to rebuild the DB.
 */
const RANGE_TYPE_CODE = { ECOSYSTEM: 'E', SEMVER: 'S' } as const;
const EVENT_CODE = { introduced: 'i', fixed: 'f', last_affected: 'l', limit: 'm' } as const;

export function corruptColumn(column: string): AppError {
  return new AppError('BAD_INPUT', `advisory DB column ${column} holds a value of an unexpected shape; rebuild the DB with \`palisade db update\``, {
    details: { column },
  });
}

export function encodeRanges(ranges: readonly AffectedRange[]): string {
  return JSON.stringify(
    ranges.map((r) => {
      const row: string[] = [RANGE_TYPE_CODE[r.type]];
      for (const e of r.events) {
        if ('introduced' in e) row.push(EVENT_CODE.introduced, e.introduced);
        else if ('fixed' in e) row.push(EVENT_CODE.fixed, e.fixed);
        else if ('last_affected' in e) row.push(EVENT_CODE.last_affected, e.last_affected);
        else row.push(EVENT_CODE.limit, e.limit);
      }
      return row;
    }),
  );
}

function decodeEvent(code: unknown, version: string): RangeEvent | undefined {
  switch (code) {
    case 'i':
      return { introduced: version };
    case 'f':
      return { fixed: version };
    case 'l':
      return { last_affected: version };
    case 'm':
      return { limit: version };
    default:
      return undefined;
  }
}

/** Ranges from their parsed compact form (`encodeRanges`), e.g. one element of a `packages` record. */
export function rangesFromValue(value: unknown): AffectedRange[] {
  if (!Array.isArray(value)) throw corruptColumn('ranges');
  const rows: unknown[] = value;
  const out: AffectedRange[] = [];
  for (const item of rows) {
    if (!Array.isArray(item)) throw corruptColumn('ranges');
    const row: unknown[] = item;
    const events: RangeEvent[] = [];
    for (let i = 1; i + 1 < row.length; i += 2) {
      const version = row[i + 1];
      if (typeof version !== 'string') throw corruptColumn('ranges');
      const e = decodeEvent(row[i], version);
      if (e) events.push(e);
    }
    out.push({ type: row[0] === 'S' ? 'SEMVER' : 'ECOSYSTEM', events });
  }
  return out;
}

export function decodeRanges(text: string | null): AffectedRange[] {
  if (!text) return [];
  return rangesFromValue(JSON.parse(text));
}

/** CVSS as `[[version, vector, baseScore, source], …]`. */
export function encodeCvss(scores: readonly CvssScore[]): string | null {
  if (scores.length === 0) return null;
  return JSON.stringify(scores.map((s) => [s.version, s.vector, s.baseScore, s.source]));
}

function cvssVersion(value: unknown): CvssScore['version'] {
  switch (value) {
    case '2.0':
    case '3.0':
    case '3.1':
    case '4.0':
      return value;
    default:
      throw corruptColumn('cvss');
  }
}

export function decodeCvss(text: string | null): CvssScore[] {
  if (!text) return [];
  const parsed: unknown = JSON.parse(text);
  if (!Array.isArray(parsed)) throw corruptColumn('cvss');
  const rows: unknown[] = parsed;
  return rows.map((item) => {
    if (!Array.isArray(item) || item.length !== 4) throw corruptColumn('cvss');
    const row: unknown[] = item;
    const [version, vector, baseScore, source] = row;
    if (typeof vector !== 'string' || typeof baseScore !== 'number' || typeof source !== 'string') throw corruptColumn('cvss');
    return { version: cvssVersion(version), vector, baseScore, source };
  });
}

export function encodeStrings(values: readonly string[]): string | null {
  return values.length === 0 ? null : JSON.stringify(values);
}

function isStringArray(value: unknown): value is string[] {
  if (!Array.isArray(value)) return false;
  const items: unknown[] = value;
  for (const item of items) if (typeof item !== 'string') return false;
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
 * One `packages` row: every affected record filed under one (namespace, name), in build order, as a
 * flat JSON array of five values per record: `[rid, fixState, severity or 0, ranges or 0,
 * versions or 0, …]`, with ranges in the compact form above and versions a string array. Written in
 * SQL by the builder (PACKAGES_SQL in schema.ts) from the `affected` columns, which already hold
 * that JSON, so the build never parses it; read with one JSON.parse per lookup.
 */
export const PACKAGE_RECORD_WIDTH = 5;

export interface PackageRecord {
  /** The advisory's row id. */
  rid: number;
  affected: AffectedPackage;
}

export function decodePackageRecords(text: string, namespace: string, name: string): PackageRecord[] {
  const parsed: unknown = JSON.parse(text);
  if (!Array.isArray(parsed) || parsed.length % PACKAGE_RECORD_WIDTH !== 0) throw corruptColumn('packages.records');
  const flat: unknown[] = parsed;
  const out: PackageRecord[] = [];
  for (let i = 0; i < flat.length; i += PACKAGE_RECORD_WIDTH) {
    const rid = flat[i];
    const ranges = flat[i + 3];
    const versions = flat[i + 4];
    if (typeof rid !== 'number') throw corruptColumn('packages.records');
    const affected: AffectedPackage = {
      namespace,
      name,
      ranges: ranges === 0 ? [] : rangesFromValue(ranges),
      versions: versions === 0 ? [] : stringsFromValue(versions, 'packages.records'),
      fixState: toFixState(flat[i + 1]),
    };
    const severity = toSeverity(flat[i + 2]);
    if (severity) affected.severity = severity;
    out.push({ rid, affected });
  }
  return out;
}

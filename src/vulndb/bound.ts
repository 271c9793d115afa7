import { rangeEnd, type RangeEnd } from '../versioning/range.js';
import type { VersionScheme } from '../versioning/types.js';
import { decodeRanges, decodeStrings, type StoredRecord } from './codec.js';

/**
 * The version from which on no record of one `packages` row can apply, or undefined when some
 * record applies to versions without end (a range whose last event opens an interval, a record
 * without ranges or versions whose fix state says every version is affected). A version above it
 * (at or above it when not `strict`) is affected by none of the row's records, so a lookup for it
 * needs no decoding and no range evaluation (AdvisoryIndex.records with `installed`). Worked out
 * with the namespace's version scheme at build time, as src/versioning/range.ts evaluates:
 *
 * - a 'not-affected' record never applies and a record with neither ranges nor versions applies
 *   only when 'unfixed' or 'wont-fix' (evaluateRecord in src/match/matcher.ts);
 * - a range ends at its last `fixed` / `last_affected` event in evaluation order (rangeEnd);
 * - a listed version applies only to itself (and spellings the scheme orders equal): versions above
 *   the highest listed one are not listed.
 */
export function packageBound(scheme: VersionScheme, records: readonly StoredRecord[]): RangeEnd | undefined {
  let bound: RangeEnd | undefined;
  const raise = (end: RangeEnd): void => {
    if (bound === undefined) {
      bound = end;
      return;
    }
    const order = scheme.compare(end.version, bound.version);
    if (order > 0) bound = end;
    else if (order === 0 && end.strict && !bound.strict) bound = { version: bound.version, strict: true };
  };
  // The records of one package share few distinct range lists: each is read once. A list's ends are
  // undefined when one of its ranges stays open.
  const ends = new Map<string, RangeEnd[] | undefined>();
  const endsOf = (text: string): RangeEnd[] | undefined => {
    if (ends.has(text)) return ends.get(text);
    let list: RangeEnd[] | undefined = [];
    for (const range of decodeRanges(text)) {
      const end = rangeEnd(scheme, range);
      if (end === undefined) {
        list = undefined;
        break;
      }
      list.push(end);
    }
    ends.set(text, list);
    return list;
  };
  for (const record of records) {
    if (record.fixState === 'not-affected') continue;
    const listEnds = record.ranges === null ? [] : endsOf(record.ranges);
    if (listEnds === undefined) return undefined;
    const versions = record.versions === null ? [] : decodeStrings(record.versions, 'versions');
    if (listEnds.length === 0 && versions.length === 0) {
      if (record.fixState === 'unfixed' || record.fixState === 'wont-fix') return undefined;
      continue;
    }
    for (const end of listEnds) raise(end);
    for (const version of versions) raise({ version, strict: true });
  }
  return bound;
}

/** Whether `version` is beyond a row's bound: no record of the row applies to it. */
export function isBeyond(scheme: VersionScheme, version: string, bound: RangeEnd): boolean {
  const order = scheme.compare(version, bound.version);
  return bound.strict ? order > 0 : order >= 0;
}

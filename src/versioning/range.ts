import type { AffectedRange, RangeEvent } from '../core/index.js';
import type { VersionScheme } from './types.js';

/**
 * The one OSV range evaluator for every version scheme (OSV schema, "Evaluation"):
 * - events are sorted by the scheme; `introduced: "0"` means "from the beginning";
 * - walking them in order, `introduced` opens an affected interval when version >= it, `fixed`
 *   closes it when version >= it, `last_affected` closes it when version > it, so one range may
 *   hold several introduced/fixed pairs;
 * - `limit` events are not part of that walk: when a range has any, the version must also be
 *   below at least one of them (`"*"` = no limit);
 * - `SEMVER` and `ECOSYSTEM` ranges are both evaluated with the scheme given.
 *
 * The events are read as the feed gives them, without building objects: nearly every range comes
 * in order already (`introduced 0` then `fixed`), which a check of neighbours confirms with at most
 * one comparison per pair; only a range out of order is sorted, into a copy kept per range.
 */

const INTRODUCED = 0;
const LAST_AFFECTED = 1;
const FIXED = 2;
const LIMIT = 3;
/** An event's kind; the values order the kinds so that at one version a range opens before it closes. */
type Kind = typeof INTRODUCED | typeof LAST_AFFECTED | typeof FIXED | typeof LIMIT;

function kindOf(e: RangeEvent): Kind {
  if ('introduced' in e) return INTRODUCED;
  if ('fixed' in e) return FIXED;
  if ('last_affected' in e) return LAST_AFFECTED;
  return LIMIT;
}

function versionOf(e: RangeEvent): string {
  if ('introduced' in e) return e.introduced;
  if ('fixed' in e) return e.fixed;
  if ('last_affected' in e) return e.last_affected;
  return e.limit;
}

function isZero(e: RangeEvent): boolean {
  return 'introduced' in e && e.introduced === '0';
}

/** The evaluation order: `introduced 0` first, then by version, then by kind. */
function compareEvents(scheme: VersionScheme, a: RangeEvent, b: RangeEvent): number {
  const za = isZero(a);
  const zb = isZero(b);
  if (za || zb) return za === zb ? 0 : za ? -1 : 1;
  return scheme.compare(versionOf(a), versionOf(b)) || kindOf(a) - kindOf(b);
}

function inOrder(scheme: VersionScheme, events: readonly RangeEvent[]): boolean {
  for (let i = 1; i < events.length; i++) {
    const a = events[i - 1];
    const b = events[i];
    if (a !== undefined && b !== undefined && compareEvents(scheme, a, b) > 0) return false;
  }
  return true;
}

/** Sorted copies of the ranges that come out of order, per scheme (a stable sort: ties keep the feed's order). */
const sortedCache = new WeakMap<readonly RangeEvent[], Map<string, readonly RangeEvent[]>>();

/** The events in evaluation order: the feed's own array when it is in order (nearly always), else a sorted copy. */
function sortedEvents(scheme: VersionScheme, events: readonly RangeEvent[]): readonly RangeEvent[] {
  if (events.length < 2 || inOrder(scheme, events)) return events;
  const cached = sortedCache.get(events)?.get(scheme.id);
  if (cached !== undefined) return cached;
  const sorted = [...events].sort((a, b) => compareEvents(scheme, a, b));
  let perScheme = sortedCache.get(events);
  if (perScheme === undefined) {
    perScheme = new Map();
    sortedCache.set(events, perScheme);
  }
  perScheme.set(scheme.id, sorted);
  return sorted;
}

/** locate()'s answer for a version outside the range. */
const OUTSIDE = -2;
/** locate()'s answer for a version in an interval that no event closes. */
const OPEN = -1;

/**
 * Where `version` falls in one range's sorted events: OUTSIDE, OPEN, or the index of the event that
 * closes the affected interval it is in.
 */
function locate(scheme: VersionScheme, version: string, events: readonly RangeEvent[]): number {
  let affected = false;
  let end = OPEN;
  let hasLimit = false;
  let belowLimit = false;
  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    if (e === undefined) continue;
    const kind = kindOf(e);
    if (kind === LIMIT) {
      hasLimit = true;
      if (!belowLimit) {
        const limit = versionOf(e);
        belowLimit = limit === '*' || scheme.compare(version, limit) < 0;
      }
    } else if (kind === INTRODUCED) {
      if (isZero(e) || scheme.compare(version, versionOf(e)) >= 0) affected = true;
    } else if (kind === FIXED) {
      if (scheme.compare(version, versionOf(e)) >= 0) affected = false;
      else if (affected && end < 0) end = i;
    } else if (scheme.compare(version, versionOf(e)) > 0) affected = false;
    else if (affected && end < 0) end = i;
  }
  return affected && (belowLimit || !hasLimit) ? end : OUTSIDE;
}

interface VersionIndex {
  exact: Set<string>;
  sorted: string[];
}

/** Per `versions` array and scheme: a set for exact hits and a sorted copy for binary search. */
const versionsCache = new WeakMap<readonly string[], Map<string, VersionIndex>>();

function versionIndex(scheme: VersionScheme, versions: readonly string[]): VersionIndex {
  let perScheme = versionsCache.get(versions);
  const hit = perScheme?.get(scheme.id);
  if (hit) return hit;
  const index = { exact: new Set(versions), sorted: [...versions].sort((a, b) => scheme.compare(a, b)) };
  if (!perScheme) {
    perScheme = new Map();
    versionsCache.set(versions, perScheme);
  }
  perScheme.set(scheme.id, index);
  return index;
}

function listed(scheme: VersionScheme, version: string, versions: readonly string[]): boolean {
  if (versions.length === 0) return false;
  const { exact, sorted } = versionIndex(scheme, versions);
  if (exact.has(version)) return true;
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const d = scheme.compare(sorted[mid] ?? '', version);
    if (d === 0) return true;
    if (d < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

/**
 * The `fixed` versions of the ranges that contain `version` (ascending, each once; empty when no
 * such range names one), or undefined when `version` is not affected: in no range and not listed
 * in `versions` (a listed version matches when it is the same string or the scheme orders it
 * equal, e.g. dpkg `1:1.0` and `1:1.0-0`). A range contributes the `fixed` event closing the
 * interval `version` is in (a range closed by `last_affected` contributes none). One walk of each
 * range answers both questions.
 */
export function affectedFixes(
  scheme: VersionScheme,
  version: string,
  affected: { ranges: readonly AffectedRange[]; versions: readonly string[] },
): string[] | undefined {
  let inRange = false;
  let fixes: string[] | undefined;
  const { ranges } = affected;
  for (let r = 0; r < ranges.length; r++) {
    const range = ranges[r];
    if (range === undefined) continue;
    const events = sortedEvents(scheme, range.events);
    const end = locate(scheme, version, events);
    if (end === OUTSIDE) continue;
    inRange = true;
    const closing = events[end];
    if (closing === undefined || !('fixed' in closing)) continue;
    const fix = closing.fixed;
    if (fixes === undefined) fixes = [fix];
    else if (!fixes.some((f) => f === fix || scheme.compare(f, fix) === 0)) fixes.push(fix);
  }
  if (!inRange && !listed(scheme, version, affected.versions)) return undefined;
  if (fixes === undefined) return [];
  return fixes.length > 1 ? fixes.sort((a, b) => scheme.compare(a, b)) : fixes;
}

/** OSV semantics: affected if in any range or listed in `versions` (see affectedFixes). */
export function isAffected(scheme: VersionScheme, version: string, affected: { ranges: readonly AffectedRange[]; versions: readonly string[] }): boolean {
  return affectedFixes(scheme, version, affected) !== undefined;
}

/** The `fixed` versions of the ranges that contain `version` (see affectedFixes); empty if none. */
export function fixedVersionsFor(scheme: VersionScheme, version: string, ranges: readonly AffectedRange[]): string[] {
  return affectedFixes(scheme, version, { ranges, versions: [] }) ?? [];
}

/** Where a range stops affecting versions (rangeEnd). */
export interface RangeEnd {
  version: string;
  /** True: versions above `version` are beyond the range (a `last_affected` end); false: versions at or above it (a `fixed` end). */
  strict: boolean;
}

/**
 * Where `range` stops affecting versions: its last `fixed` (versions at or above it are not
 * affected) or `last_affected` (versions above it) event in evaluation order; undefined when the
 * range stays open above its last event (the last is an `introduced`, or there is none). Limits are
 * left out: they only narrow a range, so the answer holds with them.
 */
export function rangeEnd(scheme: VersionScheme, range: AffectedRange): RangeEnd | undefined {
  const events = sortedEvents(scheme, range.events);
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i];
    if (e === undefined) continue;
    const kind = kindOf(e);
    if (kind === LIMIT) continue;
    if (kind === INTRODUCED) return undefined;
    return { version: versionOf(e), strict: kind === LAST_AFFECTED };
  }
  return undefined;
}

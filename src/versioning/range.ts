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
 */

type Kind = 'introduced' | 'fixed' | 'last_affected' | 'limit';

interface Event {
  kind: Kind;
  version: string;
}

/** Ties are broken so that at one version the range opens before it closes. */
const KIND_ORDER: Record<Kind, number> = { introduced: 0, last_affected: 1, fixed: 2, limit: 3 };

function toEvent(e: RangeEvent): Event {
  if ('introduced' in e) return { kind: 'introduced', version: e.introduced };
  if ('fixed' in e) return { kind: 'fixed', version: e.fixed };
  if ('last_affected' in e) return { kind: 'last_affected', version: e.last_affected };
  return { kind: 'limit', version: e.limit };
}

function isZero(e: Event): boolean {
  return e.kind === 'introduced' && e.version === '0';
}

/** Sorted events per range and scheme; advisories are matched many times, so sort once. */
const sortedCache = new WeakMap<readonly RangeEvent[], Map<string, Event[]>>();

function sortedEvents(scheme: VersionScheme, events: readonly RangeEvent[]): Event[] {
  let perScheme = sortedCache.get(events);
  const hit = perScheme?.get(scheme.id);
  if (hit) return hit;
  const sorted = events.map(toEvent).sort((a, b) => {
    if (isZero(a) || isZero(b)) return isZero(a) === isZero(b) ? 0 : isZero(a) ? -1 : 1;
    return scheme.compare(a.version, b.version) || KIND_ORDER[a.kind] - KIND_ORDER[b.kind];
  });
  if (!perScheme) {
    perScheme = new Map();
    sortedCache.set(events, perScheme);
  }
  perScheme.set(scheme.id, sorted);
  return sorted;
}

function beforeLimits(scheme: VersionScheme, version: string, events: readonly Event[]): boolean {
  let hasLimit = false;
  for (const e of events) {
    if (e.kind !== 'limit') continue;
    hasLimit = true;
    if (e.version === '*' || scheme.compare(version, e.version) < 0) return true;
  }
  return !hasLimit;
}

/**
 * Where `version` falls in one range: undefined when not affected, otherwise the index in the
 * sorted events of the event that closes its affected interval (or -1 when nothing closes it).
 */
function locate(scheme: VersionScheme, version: string, range: AffectedRange): { events: Event[]; end: number } | undefined {
  const events = sortedEvents(scheme, range.events);
  if (!beforeLimits(scheme, version, events)) return undefined;
  let affected = false;
  let end = -1;
  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    if (e === undefined) continue;
    if (e.kind === 'introduced') {
      if (isZero(e) || scheme.compare(version, e.version) >= 0) affected = true;
    } else if (e.kind === 'fixed') {
      if (scheme.compare(version, e.version) >= 0) affected = false;
      else if (affected && end < 0) end = i;
    } else if (e.kind === 'last_affected') {
      if (scheme.compare(version, e.version) > 0) affected = false;
      else if (affected && end < 0) end = i;
    }
  }
  return affected ? { events, end } : undefined;
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
 * OSV semantics: affected if in any range or listed in `versions` (a listed version matches when
 * it is the same string or the scheme orders it equal, e.g. dpkg `1:1.0` and `1:1.0-0`).
 */
export function isAffected(
  scheme: VersionScheme,
  version: string,
  affected: { ranges: AffectedRange[]; versions: string[] },
): boolean {
  for (const range of affected.ranges) if (locate(scheme, version, range)) return true;
  return listed(scheme, version, affected.versions);
}

/**
 * The `fixed` versions of the ranges that contain `version` (sorted ascending, deduplicated);
 * empty if none. For each such range this is the `fixed` event closing the interval `version` is
 * in (a range closed by `last_affected` contributes none).
 */
export function fixedVersionsFor(scheme: VersionScheme, version: string, ranges: AffectedRange[]): string[] {
  const fixes: string[] = [];
  for (const range of ranges) {
    const hit = locate(scheme, version, range);
    if (!hit || hit.end < 0) continue;
    const e = hit.events[hit.end];
    if (e?.kind === 'fixed' && !fixes.some((f) => f === e.version || scheme.compare(f, e.version) === 0)) {
      fixes.push(e.version);
    }
  }
  return fixes.sort((a, b) => scheme.compare(a, b));
}

import {
  OS_PACKAGE_TYPES,
  packageNamespace,
  severityRank,
  systemClock,
  type AffectedPackage,
  type AffectedRange,
  type Clock,
  type EpssScore,
  type Finding,
  type FixState,
  type Package,
  type Severity,
} from '../core/index.js';
import { affectedFixes } from '../versioning/range.js';
import { schemeForNamespace } from '../versioning/registry.js';
import type { VersionScheme } from '../versioning/types.js';
import type { AdvisorySummary, AffectedRecord, InstalledVersion } from '../vulndb/types.js';
import { advisoryIds, aliasesOf, createInterner, groupByVulnerability, isCveId, type MatchedRecord, type VulnerabilityGroup } from './dedup.js';
import { GenerationCache } from '../vulndb/cache.js';
import { lookupFor, type Lookup } from './lookup.js';
import { chooseCvss, chooseSeverity } from './severity.js';
import type { Matcher, MatcherDeps, MatchResult, UnmatchedPackage, UnmatchedReason } from './types.js';

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Severity desc, then package name, version, purl, then advisory id: two runs print the same bytes. */
export function compareFindings(a: Finding, b: Finding): number {
  return (
    severityRank(b.severity) - severityRank(a.severity) ||
    compareText(a.package.name, b.package.name) ||
    compareText(a.package.version, b.package.version) ||
    compareText(a.package.purl, b.package.purl) ||
    compareText(a.advisoryId, b.advisoryId)
  );
}

function isWithdrawn(advisory: AdvisorySummary, now: number): boolean {
  if (!advisory.withdrawn) return false;
  const at = Date.parse(advisory.withdrawn);
  return Number.isNaN(at) || at <= now;
}

/**
 * The fixed versions of the ranges that contain `version` (empty when none names a fix), or
 * undefined when neither the ranges nor the listed versions contain it.
 */
export type FixesOf = (scheme: VersionScheme, version: string, ranges: AffectedRange[], versions: string[]) => string[] | undefined;

/** `list`, frozen: one array shared by several findings, which no consumer may change. */
function freezeList(list: string[]): string[] {
  Object.freeze(list);
  return list;
}

/** The fixed versions of a record without a fix, shared (frozen). */
const NO_FIXES: string[] = [];
Object.freeze(NO_FIXES);

/**
 * The fixed versions are frozen and of their exact length (an array grown by push holds 16 slots):
 * the findings of every record that names the range list share them.
 */
const rangeFixes: FixesOf = (scheme, version, ranges, versions) => {
  const fixes = affectedFixes(scheme, version, { ranges, versions });
  if (fixes === undefined) return undefined;
  // affectedFixes gives a one-fix list as a literal of its length; a longer one grew by push.
  return fixes.length === 0 ? NO_FIXES : freezeList(fixes.length === 1 ? fixes : fixes.slice());
};

/**
 * Whether one advisory record affects the installed version, and with which fix. Range evaluation
 * (introduced / fixed / last_affected / limit, explicit versions) is src/versioning/range.ts's job;
 * `fixesOf` may answer from a memo of it (the records of one package often share one range list).
 *
 * - 'not-affected' never matches.
 * - A record with neither ranges nor versions matches only when its fix state is 'unfixed' or
 *   'wont-fix': the source says every version in the namespace is affected (Red Hat package states).
 * - A matching record's fix state is 'fixed' when a fixed version above the installed one exists;
 *   otherwise the record's own 'wont-fix' / 'unknown', else 'unfixed'.
 */
export function evaluateRecord(
  scheme: VersionScheme,
  version: string,
  affected: Pick<AffectedPackage, 'ranges' | 'versions' | 'fixState'>,
  fixesOf: FixesOf = rangeFixes,
): { fixedVersions: string[]; fixState: FixState } | undefined {
  if (affected.fixState === 'not-affected') return undefined;
  if (affected.ranges.length === 0 && affected.versions.length === 0) {
    if (affected.fixState === 'unfixed' || affected.fixState === 'wont-fix') {
      return { fixedVersions: NO_FIXES, fixState: affected.fixState };
    }
    return undefined;
  }
  const fixedVersions = fixesOf(scheme, version, affected.ranges, affected.versions);
  if (fixedVersions === undefined) return undefined;
  if (fixedVersions.length > 0) return { fixedVersions, fixState: 'fixed' };
  const fixState: FixState =
    affected.fixState === 'wont-fix' || affected.fixState === 'unknown' ? affected.fixState : 'unfixed';
  return { fixedVersions: NO_FIXES, fixState };
}

/** What one package is looked up as, worked out before any lookup. */
interface Plan {
  pkg: Package;
  namespace: string;
  scheme: VersionScheme;
  lookup: Lookup;
  /** The namespace's index in the call's survey. */
  group: number;
  /** The version compared, with the namespace's scheme, for lookups whose answer is not kept. */
  installed: InstalledVersion;
  /** A distro package: its distro's rating decides the severity. */
  isOsPackage: boolean;
}

/**
 * One record that matched a package, before its advisory's summary is read (its summary is the
 * package's next one in the round's `summaries`). A class, so that its instances have hidden classes
 * of their own, not those of every object literal that begins with the same property (`severity`
 * also begins chooseSeverity's answer): a field shared so holds values of both, and generalizing it
 * halfway through a cold call throws away the optimized code that reads it.
 */
class RecordHit {
  constructor(
    readonly severity: Severity | undefined,
    readonly fixedVersions: string[],
    readonly fixState: FixState,
  ) {}
}

/**
 * Packages per round of evaluation, summaries and findings: the summaries of one round are read in
 * one call, and what a round holds (its hits and summaries) is dropped before the next.
 */
const ROUND = 250;

/** Packages with at least this many matching records share one string per alias id (see createInterner). */
const INTERN_FROM = 8;

/**
 * Fixed versions of a group's records: sorted by the scheme, spellings it orders equal (PEP 440
 * `2022.12.07` and `2022.12.7`) kept once. Always frozen: evaluateRecord's lists are, and a field
 * that holds frozen and plain arrays (two hidden classes) costs the optimized code that reads it.
 */
function unionFixedVersions(scheme: VersionScheme, records: readonly MatchedRecord[]): string[] {
  const only = records.length === 1 ? records[0]?.fixedVersions : undefined;
  // One record with at most one fix: nothing to merge (the common case). evaluateRecord's lists are
  // frozen and shared; another's is copied.
  if (only !== undefined && only.length <= 1) return Object.isFrozen(only) ? only : freezeList(only.slice());
  const fixed = new Set<string>();
  for (const record of records) for (const v of record.fixedVersions) fixed.add(v);
  const fixedVersions: string[] = [];
  for (const v of [...fixed].sort((a, b) => scheme.compare(a, b) || compareText(a, b))) {
    const last = fixedVersions[fixedVersions.length - 1];
    if (last === undefined || scheme.compare(last, v) !== 0) fixedVersions.push(v);
  }
  return freezeList(fixedVersions);
}

/** The EPSS score of `cve`, from a record of the group that names it (summaries carry the scores of their CVEs). */
function epssOf(group: VulnerabilityGroup, cve: string): EpssScore | undefined {
  for (let r = 0; r < group.records.length; r++) {
    const scores = group.records[r]?.advisory.epss;
    if (scores === undefined) continue;
    for (let i = 0; i < scores.length; i++) if (scores[i]?.cveId === cve) return scores[i];
  }
  return undefined;
}

/** The per-call state of one match() (see createMatcher). */
interface CallContext {
  index: MatcherDeps['index'];
  now: number;
  /** Kept across calls (cacheSize > 0), else undefined. */
  shared: GenerationCache<readonly AffectedRecord[]> | undefined;
  survey: Survey;
  /** Per namespace (survey group): the records of the names used more than once, for their next use. */
  inCall: (Map<string, readonly AffectedRecord[]> | undefined)[];
  /** The fixed versions of each range list evaluated for the current package (null: not affected). */
  sharedFixes: Map<AffectedRange[], string[] | null>;
  memoFixes: FixesOf;
  findings: Finding[];
}

// One match() call, in small functions that each run once per package or per record. The call runs
// once in a scanner process, cold: a function called per package is optimized by the JIT once its
// type feedback settles, where the loops of one long function would be recompiled on the stack
// (on-stack replacement) again and again as the mix moves from one ecosystem to the next.

/** What a first pass over the package list learns, before any lookup. */
interface Survey {
  /** The namespaces of the list, in order of first appearance (undefined: packages without one). */
  namespaces: (string | undefined)[];
  /** Per package: the index of its namespace in `namespaces`. */
  group: Uint32Array;
  /**
   * Per namespace: how often each lookup name occurs. Only the counts are kept: what each package is
   * looked up as is worked out again in its round, which costs less than keeping it.
   */
  uses: Map<string, number>[];
  /** The order packages are evaluated in (see evaluationOrder); undefined: input order. */
  order: Uint32Array | undefined;
}

function survey(packages: readonly Package[]): Survey {
  const groupOf = new Map<string | undefined, number>();
  const namespaces: (string | undefined)[] = [];
  const uses: Map<string, number>[] = [];
  const group = new Uint32Array(packages.length);
  for (let i = 0; i < packages.length; i++) {
    const pkg = packages[i];
    if (pkg === undefined) continue;
    const namespace = packageNamespace(pkg);
    let g = groupOf.get(namespace);
    if (g === undefined) {
      g = namespaces.length;
      groupOf.set(namespace, g);
      namespaces.push(namespace);
      uses.push(new Map());
    }
    group[i] = g;
    const counts = uses[g];
    if (namespace === undefined || counts === undefined) continue;
    const { names } = lookupFor(pkg);
    for (let n = 0; n < names.length; n++) {
      const name = names[n] ?? '';
      counts.set(name, (counts.get(name) ?? 0) + 1);
    }
  }
  return { namespaces, group, uses, order: evaluationOrder(group, namespaces.length) };
}

/**
 * The order packages are evaluated in: the namespaces of the list interleaved, each namespace's
 * packages spread evenly over the whole call and kept in input order (the i-th of n packages of a
 * namespace is placed at (i + 0.5) / n). A package list is usually grouped by ecosystem (an
 * image's Debian packages, then its npm tree, then its Python ones); evaluated so, in one cold
 * process, the JIT optimizes the matcher's functions for the first ecosystem, then throws that code
 * away and compiles them again at each change (another version scheme, other object shapes): on
 * one core the compiler's time is the scanner's time. Interleaved, the functions meet every
 * ecosystem of the list within their first few calls and are compiled once. The findings are
 * sorted at the end, so the order leaves no trace in the result (packages of one namespace keep
 * their order, so findings that sort equal do too). Undefined for a list of one namespace.
 */
function evaluationOrder(group: Uint32Array, groups: number): Uint32Array | undefined {
  if (groups < 2) return undefined;
  const counts = new Uint32Array(groups);
  for (let i = 0; i < group.length; i++) {
    const g = group[i] ?? 0;
    counts[g] = (counts[g] ?? 0) + 1;
  }
  // Sorted as numbers, natively: each package's place, scaled to an integer below 2^20, times 2^32,
  // plus its index (below 2^32), is exact in a double; ties of place keep input order.
  const keys = new Float64Array(group.length);
  const rank = new Uint32Array(groups);
  for (let i = 0; i < group.length; i++) {
    const g = group[i] ?? 0;
    const r = rank[g] ?? 0;
    rank[g] = r + 1;
    keys[i] = Math.floor(((r + 0.5) / (counts[g] ?? 1)) * PLACE_SCALE) * INDEX_SCALE + i;
  }
  keys.sort();
  const order = new Uint32Array(group.length);
  for (let k = 0; k < keys.length; k++) order[k] = (keys[k] ?? 0) % INDEX_SCALE;
  return order;
}

const PLACE_SCALE = 2 ** 20;
const INDEX_SCALE = 2 ** 32;

/**
 * The records filed under one lookup name. Within a call, the records of a name that occurs more
 * than once in its namespace are kept for its next use; the records of the others are dropped after
 * their one use (they die young: cheap to collect).
 */
function recordsOf(call: CallContext, plan: Plan, name: string): readonly AffectedRecord[] {
  const { namespace, group } = plan;
  if (call.shared !== undefined) {
    const key = `${namespace}\u0000${name}`;
    let value = call.shared.get(key);
    if (value === undefined) {
      value = call.index.records(namespace, name);
      call.shared.set(key, value);
    }
    return value;
  }
  const kept = call.inCall[group];
  let value = kept?.get(name);
  if (value === undefined) {
    // A name used once is looked up for its version only: the index may then skip a row whose every
    // record ends below it. One used again gets the whole list, kept for its next use.
    if ((call.survey.uses[group]?.get(name) ?? 0) > 1) {
      value = call.index.records(namespace, name);
      (call.inCall[group] ??= new Map()).set(name, value);
    } else value = call.index.records(namespace, name, plan.installed);
  }
  return value;
}

/** Pass 1 for one package: its records evaluated against its version (no advisory text is read); the rids of the hits are appended to `keys`. */
function evaluatePackage(call: CallContext, plan: Plan, keys: number[]): RecordHit[] | undefined {
  const { scheme, lookup } = plan;
  let matched: RecordHit[] | undefined;
  // The range lists one package's records share (the DB stores each distinct list of a package once)
  // are evaluated once per package. Map.clear() allocates a new table: only when there is something to clear.
  if (call.sharedFixes.size > 0) call.sharedFixes.clear();
  for (let n = 0; n < lookup.names.length; n++) {
    const records = recordsOf(call, plan, lookup.names[n] ?? '');
    for (let r = 0; r < records.length; r++) {
      const record = records[r];
      if (record === undefined) continue;
      const verdict = evaluateRecord(scheme, lookup.version, record, call.memoFixes);
      if (verdict === undefined) continue;
      (matched ??= []).push(new RecordHit(record.severity, verdict.fixedVersions, verdict.fixState));
      keys.push(record.advisory);
    }
  }
  return matched;
}

/**
 * Pass 2 for one package: its hits with their summaries (from `summaries[next]` on, in hit order)
 * grouped into one finding per vulnerability. Returns the index of the next package's first summary.
 */
function addFindings(call: CallContext, plan: Plan, matched: readonly RecordHit[], summaries: readonly AdvisorySummary[], next: number): number {
  const records: MatchedRecord[] = [];
  // An advisory filed under both the binary and the source name (rpm), or listing one package
  // twice, counts once: the first matching record of each (source, id) is kept.
  const ids = matched.length > 1 ? new Set<string>() : undefined;
  // The advisories of one package name the same bundles (a DSA or USN fixing many CVEs): their ids
  // are kept once per package.
  const intern = matched.length >= INTERN_FROM ? createInterner() : undefined;
  for (let h = 0; h < matched.length; h++) {
    const hit = matched[h];
    const advisory = summaries[next++];
    if (hit === undefined) continue;
    if (advisory === undefined) throw new Error('the advisory index gave fewer summaries than asked for');
    if (isWithdrawn(advisory, call.now)) continue;
    if (ids !== undefined) {
      if (ids.has(advisory.id) && records.some((r) => r.advisory.id === advisory.id && r.advisory.source === advisory.source)) continue;
      ids.add(advisory.id);
    }
    records.push({ advisory, ids: advisoryIds(advisory, intern), severity: hit.severity, fixedVersions: hit.fixedVersions, fixState: hit.fixState });
  }
  if (records.length === 0) return next;
  const groups = groupByVulnerability(records);
  for (let g = 0; g < groups.length; g++) {
    const group = groups[g];
    if (group !== undefined) call.findings.push(toFinding(call, plan, group));
  }
  return next;
}

function toFinding(call: CallContext, plan: Plan, group: VulnerabilityGroup): Finding {
  const { pkg, scheme } = plan;
  const primary = group.records[0];
  if (primary === undefined) throw new Error('empty vulnerability group');
  const fixedVersions = unionFixedVersions(scheme, group.records);
  const only = group.records.length === 1;
  const cvss = chooseCvss(only ? primary.advisory.cvss : group.records.flatMap((r) => r.advisory.cvss));
  // The rating lists are built by push like the one-record literals, not by map(): map() makes holey
  // arrays, and chooseSeverity, inlined here, was deoptimized each time the other kind came.
  const distroRatings: (Severity | undefined)[] = [primary.severity];
  const advisoryRatings: (Severity | undefined)[] = [primary.advisory.severity];
  for (let r = 1; r < group.records.length; r++) {
    const record = group.records[r];
    distroRatings.push(record?.severity);
    advisoryRatings.push(record?.advisory.severity);
  }
  const { severity, severitySource } = chooseSeverity({ isOsPackage: plan.isOsPackage, distroRatings, advisoryRatings, cvss });
  // The key is the finding's one CVE id (aliasesOf leaves other CVEs out), so it alone is enriched.
  const isCve = isCveId(group.key);
  // Every finding has every property, in one order (absent ones undefined, which JSON leaves out): one
  // object shape, so the code that reads findings (sorting, reports) sees one shape, not one per
  // combination of the optional fields.
  return {
    advisoryId: group.key,
    aliases: aliasesOf(group),
    package: pkg,
    installedVersion: pkg.version,
    fixedVersions,
    fixState: fixedVersions.length > 0 ? 'fixed' : primary.fixState,
    severity,
    severitySource,
    dataSource: primary.advisory.source,
    namespace: plan.namespace,
    summary: summaryOf(group),
    cvss,
    kev: isCve ? call.index.kev(group.key) : undefined,
    epss: isCve ? epssOf(group, group.key) : undefined,
  };
}

/** The first non-empty summary of the group's records. */
function summaryOf(group: VulnerabilityGroup): string | undefined {
  for (let r = 0; r < group.records.length; r++) {
    const summary = group.records[r]?.advisory.summary;
    if (summary) return summary;
  }
  return undefined;
}

/**
 * Packages × advisories → findings. Looks each package up in its namespace (see lookup.ts for the
 * per-ecosystem name and version rules), evaluates each record with the namespace's version scheme,
 * and merges the records of one vulnerability into one finding (see dedup.ts for the rule):
 * advisory id = the CVE when any record names one; aliases merged; fixed versions unioned, and the
 * fix state is 'fixed' when any record gives a fix, else the primary record's state; severity from
 * the distro's rating (OS packages), else the advisory's own, else the CVSS band (severity.ts).
 * Exemptions and VEX are the report layer's business.
 */
export function createMatcher(deps: MatcherDeps): Matcher {
  const { index } = deps;
  const clock: Clock = deps.clock ?? systemClock;
  const cacheSize = deps.cacheSize ?? 0;
  if (!Number.isInteger(cacheSize) || cacheSize < 0) throw new RangeError(`cacheSize must be a whole number >= 0, got ${cacheSize}`);
  const shared = cacheSize > 0 ? new GenerationCache<readonly AffectedRecord[]>(cacheSize) : undefined;
  const schemeCache = new Map<string, VersionScheme | undefined>();
  const schemeOf = (namespace: string): VersionScheme | undefined => {
    if (!schemeCache.has(namespace)) schemeCache.set(namespace, schemeForNamespace(namespace));
    return schemeCache.get(namespace);
  };

  /** What a package is looked up as, or why it cannot be. */
  const planOf = (pkg: Package, namespace: string | undefined, group: number): Plan | UnmatchedReason => {
    if (namespace === undefined) return 'no-namespace';
    const scheme = schemeOf(namespace);
    if (scheme === undefined) return 'no-scheme';
    const lookup = lookupFor(pkg);
    if (!scheme.isValid(lookup.version)) return 'invalid-version';
    return { pkg, namespace, scheme, lookup, group, installed: { scheme, version: lookup.version }, isOsPackage: OS_PACKAGE_TYPES.includes(pkg.type) };
  };

  return {
    match(packages: readonly Package[]): MatchResult {
      const sharedFixes = new Map<AffectedRange[], string[] | null>();
      const call: CallContext = {
        index,
        now: clock.now().getTime(),
        shared,
        survey: survey(packages),
        inCall: [],
        sharedFixes,
        memoFixes: (scheme, version, ranges, versions) => {
          if (versions.length > 0) return rangeFixes(scheme, version, ranges, versions);
          let fixes = sharedFixes.get(ranges);
          if (fixes === undefined) {
            fixes = rangeFixes(scheme, version, ranges, versions) ?? null;
            sharedFixes.set(ranges, fixes);
          }
          return fixes ?? undefined;
        },
        findings: [],
      };
      const unmatched: { at: number; entry: UnmatchedPackage }[] = [];
      const { order, group, namespaces } = call.survey;
      for (let start = 0; start < packages.length; start += ROUND) {
        const round: Plan[] = [];
        for (let i = start; i < packages.length && i < start + ROUND; i++) {
          const at = order === undefined ? i : (order[i] ?? i);
          const pkg = packages[at];
          if (pkg === undefined) continue;
          const g = group[at] ?? 0;
          const plan = planOf(pkg, namespaces[g], g);
          if (typeof plan === 'string') unmatched.push({ at, entry: { package: pkg, reason: plan } });
          else round.push(plan);
        }
        // Pass 1: each package's records evaluated; pass 2: the summaries of the hits in one call,
        // then one finding per vulnerability.
        const keys: number[] = [];
        const hits: (RecordHit[] | undefined)[] = [];
        for (let p = 0; p < round.length; p++) {
          const plan = round[p];
          if (plan !== undefined) hits.push(evaluatePackage(call, plan, keys));
        }
        const summaries = keys.length > 0 ? index.summaries(keys) : [];
        let next = 0;
        for (let p = 0; p < round.length; p++) {
          const plan = round[p];
          const matched = hits[p];
          if (plan !== undefined && matched !== undefined) next = addFindings(call, plan, matched, summaries, next);
        }
      }
      call.findings.sort(compareFindings);
      // Unmatched packages are listed in input order.
      if (order !== undefined) unmatched.sort((a, b) => a.at - b.at);
      return { findings: call.findings, unmatched: unmatched.map((u) => u.entry) };
    },
  };
}

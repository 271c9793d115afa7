import type { FixState, Severity } from '../core/index.js';
import type { AdvisorySummary } from '../vulndb/types.js';

/** An advisory's id and aliases, each once, split into CVE ids and the others (each in id, then alias order). */
export interface AdvisoryIds {
  cves: string[];
  others: string[];
}

/** One advisory record that matched one package, before deduplication. */
export interface MatchedRecord {
  advisory: AdvisorySummary;
  /** advisoryIds(advisory), worked out once per record. */
  ids: AdvisoryIds;
  /** The record's per-package rating by the distro, if any. */
  severity: Severity | undefined;
  fixedVersions: string[];
  fixState: FixState;
}

/** The records that speak for one vulnerability of one package, highest priority first. */
export interface VulnerabilityGroup {
  /** The finding's advisory id: a CVE id when any record names one. */
  key: string;
  records: MatchedRecord[];
}

const CVE_ID = /^CVE-\d{4}-\d{4,}$/;

export function isCveId(id: string): boolean {
  return CVE_ID.test(id);
}

/** The id and the aliases, each once, id first: `[...new Set([id, ...aliases])]`, without the Set when aliases are few or strictly ascending (unique), as the DB stores them. */
function uniqueIds(id: string, aliases: readonly string[]): readonly string[] {
  if (aliases.length === 0) return [id];
  if (aliases.length <= 8 || isStrictlyAscending(aliases)) {
    const ids = [id];
    for (let i = 0; i < aliases.length; i++) {
      const alias = aliases[i];
      if (alias !== undefined && alias !== id && (aliases.length > 8 || !ids.includes(alias))) ids.push(alias);
    }
    return ids;
  }
  return [...new Set([id, ...aliases])];
}

/** The string to keep for an id: one copy per distinct id (createInterner), or the id itself. */
export type Intern = (id: string) => string;

const asIs: Intern = (id) => id;

/**
 * One string per distinct id while the interner lives. The advisories of one package name the same
 * bundles (a DSA, RHSA or USN fixing 20 CVEs is an alias of each), and every summary read is parsed
 * into new strings: the findings of the bench's full mix hold ≈ 287,000 alias references but
 * ≈ 53,000 distinct ids. The matcher keeps one interner per package with many matching records,
 * which brings what the findings hold from 41 to 36 MB; one per match() call saves little more and
 * costs more than it saves (a map of every id, hashed, that lives through the call).
 */
export function createInterner(): Intern {
  const known = new Map<string, string>();
  return (id) => {
    const seen = known.get(id);
    if (seen !== undefined) return seen;
    known.set(id, id);
    return id;
  };
}

export function advisoryIds(advisory: Pick<AdvisorySummary, 'id' | 'aliases'>, intern: Intern = asIs): AdvisoryIds {
  const cves: string[] = [];
  const others: string[] = [];
  const ids = uniqueIds(advisory.id, advisory.aliases);
  // Indexed loops in this module: they run before the JIT has optimized them, when for…of allocates per step.
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (id !== undefined) (isCveId(id) ? cves : others).push(intern(id));
  }
  // `others` becomes findings' alias lists, which outlive the call: a copy of its exact length (an
  // array grown by push holds at least 16 slots).
  return { cves, others: others.length > 0 ? others.slice() : others };
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function isStrictlyAscending(values: readonly string[]): boolean {
  for (let i = 1; i < values.length; i++) if ((values[i - 1] ?? '') >= (values[i] ?? '')) return false;
  return true;
}

function isSorted(values: readonly string[]): boolean {
  for (let i = 1; i < values.length; i++) if ((values[i - 1] ?? '') > (values[i] ?? '')) return false;
  return true;
}

/** A sorted copy (no sort call, which allocates, when the values are in order already, as stored aliases are). */
function sortedCopy(values: readonly string[]): string[] {
  return isSorted(values) ? values.slice() : [...values].sort(compareText);
}

function smallest(values: readonly string[]): string {
  let min = values[0] ?? '';
  for (const v of values) if (v < min) min = v;
  return min;
}

class UnionFind {
  private readonly parent = new Map<string, string>();
  find(x: string): string {
    let root = x;
    for (let next = this.parent.get(root); next !== undefined && next !== root; next = this.parent.get(root)) root = next;
    this.parent.set(x, root);
    return root;
  }
  union(a: string, b: string): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.parent.set(ra < rb ? rb : ra, ra < rb ? ra : rb);
  }
}

/**
 * Groups the records that matched ONE package by vulnerability. The rule, deterministic:
 *
 * 1. A vulnerability is named by its CVE id. A record whose id or aliases name CVEs counts for each
 *    of them: a bundle advisory (a DSA, RHSA, ALAS or USN fixing several CVEs) lends its fix to every
 *    CVE it names, so the finding is per CVE, as the distros publish their trackers.
 * 2. A record naming no CVE (a GHSA, PYSEC, GO or MAL id without a CVE) joins the CVE of any record
 *    that names exactly one CVE and shares one of its ids (smallest CVE if several); otherwise records
 *    without CVE that share an id form one group, named by the smallest id among them.
 * 3. Within a group the records are ordered: the record whose own id is the key first, then records
 *    naming fewer CVEs (more specific), then by source and id. The first is the primary record.
 */
export function groupByVulnerability(records: readonly MatchedRecord[]): VulnerabilityGroup[] {
  const only = records.length === 1 ? records[0] : undefined;
  if (only !== undefined) {
    // One record (the usual case): one group per CVE it names, else one named by its smallest id.
    const { cves, others } = only.ids;
    if (cves.length === 0) return [{ key: smallest(others), records: [only] }];
    // Built by push, not by map(): map() makes a holey array, and a caller that meets arrays of two
    // elements kinds is deoptimized by the JIT each time the other one comes (hundreds of times per call).
    const keys = cves.length === 1 ? cves : sortedCopy(cves);
    const groups: VulnerabilityGroup[] = [];
    for (let k = 0; k < keys.length; k++) groups.push({ key: keys[k] ?? '', records: [only] });
    return groups;
  }
  const groups = new Map<string, MatchedRecord[]>();
  const add = (key: string, record: MatchedRecord): void => {
    const list = groups.get(key);
    if (list) {
      if (!list.includes(record)) list.push(record);
    } else groups.set(key, [record]);
  };
  let pending: MatchedRecord[] | undefined;

  for (let r = 0; r < records.length; r++) {
    const record = records[r];
    if (record === undefined) continue;
    const { cves } = record.ids;
    if (cves.length === 0) (pending ??= []).push(record);
    else for (let c = 0; c < cves.length; c++) add(cves[c] ?? '', record);
  }

  if (pending) {
    // Rule 2: the CVE a non-CVE id belongs to, from the records that name exactly one CVE.
    const cveOfId = new Map<string, string>();
    for (const record of records) {
      const { cves, others } = record.ids;
      const cve = cves[0];
      if (cves.length !== 1 || cve === undefined) continue;
      for (const id of others) {
        const known = cveOfId.get(id);
        if (known === undefined || cve < known) cveOfId.set(id, cve);
      }
    }
    const uf = new UnionFind();
    // A pending record names no CVE: its ids are all in `others`.
    for (const record of pending) for (const id of record.ids.others) uf.union(record.advisory.id, id);
    const components = new Map<string, { ids: Set<string>; records: MatchedRecord[] }>();
    for (const record of pending) {
      const root = uf.find(record.advisory.id);
      let component = components.get(root);
      if (!component) {
        component = { ids: new Set(), records: [] };
        components.set(root, component);
      }
      component.records.push(record);
      for (const id of record.ids.others) component.ids.add(id);
    }
    for (const component of components.values()) {
      let key: string | undefined;
      for (const id of component.ids) {
        const cve = cveOfId.get(id);
        if (cve !== undefined && (key === undefined || cve < key)) key = cve;
      }
      if (key === undefined) key = [...component.ids].sort(compareText)[0] ?? '';
      for (const record of component.records) add(key, record);
    }
  }

  const result: VulnerabilityGroup[] = [];
  groups.forEach((list, key) => {
    if (list.length > 1) {
      list.sort(
        (a, b) =>
          Number(b.advisory.id === key) - Number(a.advisory.id === key) ||
          a.ids.cves.length - b.ids.cves.length ||
          compareText(a.advisory.source, b.advisory.source) ||
          compareText(a.advisory.id, b.advisory.id),
      );
    }
    result.push({ key, records: list });
  });
  return result.length > 1 ? result.sort((a, b) => compareText(a.key, b.key)) : result;
}

/**
 * Ids of the group's records other than the key, without CVE ids: the key is the group's only CVE
 * (bundles name other CVEs). The list of a group's one record with a CVE key is sorted in place,
 * frozen and returned, not copied: the groups of a bundle (one per CVE it names) share it.
 */
export function aliasesOf(group: VulnerabilityGroup): string[] {
  const only = group.records.length === 1 ? group.records[0] : undefined;
  if (only !== undefined) {
    // One record: its ids are unique already, and a CVE key is not among its others.
    const { others } = only.ids;
    if (!isCveId(group.key)) {
      const aliases = others.filter((id) => id !== group.key);
      return isSorted(aliases) ? aliases : aliases.sort(compareText);
    }
    if (!Object.isFrozen(others)) {
      if (!isSorted(others)) others.sort(compareText);
      Object.freeze(others);
    }
    return others;
  }
  const aliases = new Set<string>();
  for (const record of group.records) {
    for (const id of record.ids.others) if (id !== group.key) aliases.add(id);
  }
  return sortedCopy([...aliases]);
}

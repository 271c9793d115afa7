import type { AffectedPackage, FixState } from '../core/index.js';
import type { AdvisorySummary } from '../vulndb/types.js';

/** One advisory record that matched one package, before deduplication. */
export interface MatchedRecord {
  advisory: AdvisorySummary;
  affected: AffectedPackage;
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

interface AdvisoryIds {
  /** The id and the aliases, each once, id first. */
  ids: string[];
  cves: string[];
  /** `ids` without the CVE ids. */
  others: string[];
}

/** Advisory headers are shared by every candidate of one advisory (and cached by the DB), so their ids are worked out once. */
const idCache = new WeakMap<AdvisorySummary, AdvisoryIds>();

function advisoryIds(advisory: AdvisorySummary): AdvisoryIds {
  let entry = idCache.get(advisory);
  if (entry === undefined) {
    const ids = advisory.aliases.length === 0 ? [advisory.id] : [...new Set([advisory.id, ...advisory.aliases])];
    entry = { ids, cves: ids.filter(isCveId), others: ids.filter((id) => !isCveId(id)) };
    idCache.set(advisory, entry);
  }
  return entry;
}

function idsOf(advisory: AdvisorySummary): string[] {
  return advisoryIds(advisory).ids;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
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
  const groups = new Map<string, MatchedRecord[]>();
  const add = (key: string, record: MatchedRecord): void => {
    const list = groups.get(key);
    if (list) {
      if (!list.includes(record)) list.push(record);
    } else groups.set(key, [record]);
  };
  const cveOfId = new Map<string, string>();
  const pending: MatchedRecord[] = [];
  const uf = new UnionFind();
  const cveCount = new Map<MatchedRecord, number>();

  for (const record of records) {
    const { ids, cves, others } = advisoryIds(record.advisory);
    cveCount.set(record, cves.length);
    if (cves.length === 0) {
      pending.push(record);
      for (const id of ids) uf.union(record.advisory.id, id);
      continue;
    }
    for (const cve of cves) add(cve, record);
    if (cves.length === 1) {
      const cve = cves[0] ?? '';
      for (const id of others) {
        const known = cveOfId.get(id);
        if (known === undefined || cve < known) cveOfId.set(id, cve);
      }
    }
  }

  if (pending.length > 0) {
    const components = new Map<string, { ids: Set<string>; records: MatchedRecord[] }>();
    for (const record of pending) {
      const root = uf.find(record.advisory.id);
      let component = components.get(root);
      if (!component) {
        component = { ids: new Set(), records: [] };
        components.set(root, component);
      }
      component.records.push(record);
      for (const id of idsOf(record.advisory)) component.ids.add(id);
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
  for (const [key, list] of groups) {
    list.sort(
      (a, b) =>
        Number(b.advisory.id === key) - Number(a.advisory.id === key) ||
        (cveCount.get(a) ?? 0) - (cveCount.get(b) ?? 0) ||
        compareText(a.advisory.source, b.advisory.source) ||
        compareText(a.advisory.id, b.advisory.id),
    );
    result.push({ key, records: list });
  }
  return result.sort((a, b) => compareText(a.key, b.key));
}

/** Ids of the group's records other than the key, without CVE ids: the key is the group's only CVE (bundles name other CVEs). */
export function aliasesOf(group: VulnerabilityGroup): string[] {
  const aliases = new Set<string>();
  for (const record of group.records) {
    for (const id of advisoryIds(record.advisory).others) if (id !== group.key) aliases.add(id);
  }
  return [...aliases].sort(compareText);
}

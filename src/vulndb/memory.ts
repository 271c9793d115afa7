import type { Advisory, EpssScore, KevEntry } from '../core/index.js';
import type { AdvisoryIndex, AdvisorySummary, AffectedRecord } from './types.js';

/** A summary with the EPSS scores of the ids it names (its id and aliases), as the DB stores it. */
export function withEpss<S extends AdvisorySummary>(summary: S, epssById: ReadonlyMap<string, EpssScore>): S {
  const epss: EpssScore[] = [];
  for (const id of new Set([summary.id, ...summary.aliases])) {
    const score = epssById.get(id);
    if (score) epss.push(score);
  }
  return epss.length > 0 ? { ...summary, epss } : summary;
}

/**
 * An AdvisoryIndex over advisories held in memory, for tests and small fixture sets. It files
 * affected packages exactly as the SQLite DB does (by namespace and stored name) and merges aliases
 * the same way: an advisory's own aliases plus every advisory that lists it; summaries carry the
 * EPSS scores of the CVEs they name. An advisory's key is its position among the stored headers.
 */
export function createMemoryIndex(advisories: readonly Advisory[], kev: readonly KevEntry[] = [], epss: readonly EpssScore[] = []): AdvisoryIndex {
  const reverse = new Map<string, Set<string>>();
  for (const a of advisories) {
    for (const alias of a.aliases) {
      let ids = reverse.get(alias);
      if (!ids) reverse.set(alias, (ids = new Set()));
      ids.add(a.id);
    }
  }
  const epssById = new Map(epss.map((e) => [e.cveId, e]));
  const headers: AdvisorySummary[] = [];
  const byKey = new Map<string, AffectedRecord[]>();
  for (const a of advisories) {
    if (a.withdrawn) continue;
    const { affected, ...rest } = a;
    const aliases = new Set(rest.aliases);
    for (const id of reverse.get(a.id) ?? []) if (id !== a.id) aliases.add(id);
    const key = headers.push(withEpss({ ...rest, aliases: [...aliases].sort() }, epssById)) - 1;
    for (const p of affected) {
      const lookup = `${p.namespace}\u0000${p.name}`;
      let list = byKey.get(lookup);
      if (!list) byKey.set(lookup, (list = []));
      list.push({ advisory: key, fixState: p.fixState, severity: p.severity, ranges: p.ranges, versions: p.versions });
    }
  }
  const kevById = new Map(kev.map((e) => [e.cveId, e]));
  return {
    records: (namespace, name) => byKey.get(`${namespace}\u0000${name}`) ?? [],
    summaries: (keys) =>
      keys.map((key) => {
        const header = headers[key];
        if (!header) throw new RangeError(`no advisory with key ${key} in this index`);
        return header;
      }),
    kev: (cveId) => kevById.get(cveId),
    epss: (cveId) => epssById.get(cveId),
  };
}

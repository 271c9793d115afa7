import type { Advisory, AdvisoryHeader, EpssScore, KevEntry } from '../core/index.js';
import type { AdvisoryCandidate, AdvisoryIndex } from './types.js';

/**
 * An AdvisoryIndex over advisories held in memory, for tests and small fixture sets. It files
 * affected packages exactly as the SQLite DB does (by namespace and stored name) and merges aliases
 * the same way: an advisory's own aliases plus every advisory that lists it.
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
  const byKey = new Map<string, AdvisoryCandidate[]>();
  for (const a of advisories) {
    if (a.withdrawn) continue;
    const { affected, ...rest } = a;
    const aliases = new Set(rest.aliases);
    for (const id of reverse.get(a.id) ?? []) if (id !== a.id) aliases.add(id);
    const header: AdvisoryHeader = { ...rest, aliases: [...aliases].sort() };
    for (const p of affected) {
      const key = `${p.namespace}\u0000${p.name}`;
      let list = byKey.get(key);
      if (!list) byKey.set(key, (list = []));
      list.push({ advisory: header, affected: p });
    }
  }
  const kevById = new Map(kev.map((e) => [e.cveId, e]));
  const epssById = new Map(epss.map((e) => [e.cveId, e]));
  return {
    candidates: (namespace, name) => [...(byKey.get(`${namespace}\u0000${name}`) ?? [])],
    kev: (cveId) => kevById.get(cveId),
    epss: (cveId) => epssById.get(cveId),
  };
}

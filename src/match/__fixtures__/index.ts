import type { Advisory, EpssScore, KevEntry } from '../../core/index.js';
import type { AdvisoryCandidate, AdvisoryIndex } from '../../vulndb/types.js';

/** A small in-memory AdvisoryIndex over fixture advisories, so the matcher's tests need no DB. */
export function createFixtureIndex(
  advisories: readonly Advisory[],
  kev: readonly KevEntry[] = [],
  epss: readonly EpssScore[] = [],
): AdvisoryIndex & { lookups: number } {
  const byKey = new Map<string, AdvisoryCandidate[]>();
  for (const advisory of advisories) {
    const { affected, ...header } = advisory;
    for (const entry of affected) {
      const key = `${entry.namespace}\u0000${entry.name}`;
      const list = byKey.get(key) ?? [];
      list.push({ advisory: header, affected: entry });
      byKey.set(key, list);
    }
  }
  const kevById = new Map(kev.map((k) => [k.cveId, k]));
  const epssById = new Map(epss.map((e) => [e.cveId, e]));
  const index = {
    lookups: 0,
    candidates(namespace: string, name: string): AdvisoryCandidate[] {
      index.lookups += 1;
      return byKey.get(`${namespace}\u0000${name}`) ?? [];
    },
    kev: (cveId: string) => kevById.get(cveId),
    epss: (cveId: string) => epssById.get(cveId),
  };
  return index;
}

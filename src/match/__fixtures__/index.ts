import type { Advisory, EpssScore, KevEntry } from '../../core/index.js';
import { withEpss } from '../../vulndb/memory.js';
import type { AdvisoryIndex, AdvisorySummary, AffectedRecord } from '../../vulndb/types.js';

/**
 * A small in-memory AdvisoryIndex over fixture advisories, so the matcher's tests need no DB. Unlike
 * createMemoryIndex it keeps withdrawn advisories (the matcher must skip them itself) and counts
 * record lookups.
 */
export function createFixtureIndex(
  advisories: readonly Advisory[],
  kev: readonly KevEntry[] = [],
  epss: readonly EpssScore[] = [],
): AdvisoryIndex & { lookups: number } {
  const epssById = new Map(epss.map((e) => [e.cveId, e]));
  const headers: AdvisorySummary[] = [];
  const byKey = new Map<string, AffectedRecord[]>();
  for (const advisory of advisories) {
    const { affected, ...header } = advisory;
    const key = headers.push(withEpss(header, epssById)) - 1;
    for (const entry of affected) {
      const lookup = `${entry.namespace}\u0000${entry.name}`;
      const list = byKey.get(lookup) ?? [];
      list.push({ advisory: key, fixState: entry.fixState, severity: entry.severity, ranges: entry.ranges, versions: entry.versions });
      byKey.set(lookup, list);
    }
  }
  const kevById = new Map(kev.map((k) => [k.cveId, k]));
  const index = {
    lookups: 0,
    records(namespace: string, name: string): AffectedRecord[] {
      index.lookups += 1;
      return byKey.get(`${namespace}\u0000${name}`) ?? [];
    },
    summaries: (keys: readonly number[]) =>
      keys.map((key) => {
        const header = headers[key];
        if (!header) throw new RangeError(`no fixture advisory with key ${key}`);
        return header;
      }),
    kev: (cveId: string) => kevById.get(cveId),
    epss: (cveId: string) => epssById.get(cveId),
  };
  return index;
}

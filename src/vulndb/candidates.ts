import type { AffectedPackage } from '../core/index.js';
import type { AdvisoryCandidate, AdvisoryIndex, AffectedRecord } from './types.js';

/** An index record as the domain's AffectedPackage of (namespace, name). */
export function affectedPackage(namespace: string, name: string, record: AffectedRecord): AffectedPackage {
  const affected: AffectedPackage = { namespace, name, ranges: record.ranges, versions: record.versions, fixState: record.fixState };
  if (record.severity !== undefined) affected.severity = record.severity;
  return affected;
}

/**
 * Every record filed under (namespace, name) with its advisory's summary, in build order: the
 * records and their summaries in one call each, for callers that want both (tests, `db show`-like
 * tools). The matcher reads records first and the summaries of the matching ones only.
 */
export function candidates(index: AdvisoryIndex, namespace: string, name: string): AdvisoryCandidate[] {
  const records = index.records(namespace, name);
  const summaries = index.summaries(records.map((r) => r.advisory));
  return records.map((record, i) => {
    const advisory = summaries[i];
    if (advisory === undefined) throw new Error(`index gave no summary for advisory ${record.advisory}`);
    return { advisory, affected: affectedPackage(namespace, name, record) };
  });
}

import type { Clock } from '../core/clock.js';
import { AppError } from '../core/errors.js';
import { isSeverity, SEVERITIES, severityRank, type Finding, type Severity } from '../core/types.js';
import { ignoreMatches, isExpired, type IgnoreEntry, type IgnoreFile } from './ignore-match.js';
import type { ScanReport, Suppression } from './types.js';
import { vexDecision, type VexSet } from './vex-match.js';
import { sortedFindings, sortedSuppressions } from './order.js';

/**
 * Filters and gates between the matcher and the writers. VEX and the ignore file move findings to
 * `suppressed` with the reason; `--severity` and `--ignore-unfixed` drop findings from view and
 * leave a count in `filtered`. The gate looks only at the findings left.
 */

export interface ReportFilters {
  /** `--severity`: keep only these severities. */
  severities?: readonly Severity[];
  /** `--ignore-unfixed`: drop findings whose fix state is unfixed or wont-fix. */
  ignoreUnfixed?: boolean;
  ignore?: IgnoreFile;
  vex?: VexSet;
}

export interface ExpiredIgnore {
  file: string;
  entry: IgnoreEntry;
}

export interface FilterOutcome {
  report: ScanReport;
  /** Ignore entries past their `expires`: they hid nothing; tell the user to renew or remove them. */
  expiredIgnores: ExpiredIgnore[];
}

export function applyFilters(report: ScanReport, filters: ReportFilters, clock: Clock): FilterOutcome {
  const ignoreFile = filters.ignore;
  const entries = ignoreFile?.entries ?? [];
  const live = entries.filter((e) => !isExpired(e, clock));
  const expiredIgnores = ignoreFile ? entries.filter((e) => isExpired(e, clock)).map((entry) => ({ file: ignoreFile.file, entry })) : [];
  const suppressed: Suppression[] = [...report.suppressed];
  const kept: Finding[] = [];
  for (const finding of report.findings) {
    const vex = filters.vex ? vexDecision(filters.vex, finding, report.target) : undefined;
    if (vex) {
      const why = [vex.justification, vex.impactStatement].filter(Boolean).join(' — ');
      suppressed.push({ by: 'vex', finding, reason: `${vex.status}${why ? `: ${why}` : ''} (${vex.document})`, vex });
      continue;
    }
    const entry = live.find((e) => ignoreMatches(e, finding));
    if (entry && ignoreFile) {
      suppressed.push({
        by: 'ignore-file',
        finding,
        reason: entry.reason,
        ignore: { id: entry.id, file: ignoreFile.file, ...(entry.expires ? { expires: entry.expires } : {}), ...(entry.purl ? { purl: entry.purl } : {}) },
      });
      continue;
    }
    kept.push(finding);
  }

  const counts = new Map<'severity' | 'ignore-unfixed', number>((report.filtered ?? []).map((f) => [f.filter, f.count]));
  const bump = (filter: 'severity' | 'ignore-unfixed'): void => void counts.set(filter, (counts.get(filter) ?? 0) + 1);
  const wanted = filters.severities && filters.severities.length > 0 ? new Set(filters.severities) : undefined;
  const shown: Finding[] = [];
  for (const f of kept) {
    if (wanted && !wanted.has(f.severity)) bump('severity');
    else if (filters.ignoreUnfixed && (f.fixState === 'unfixed' || f.fixState === 'wont-fix')) bump('ignore-unfixed');
    else shown.push(f);
  }

  const filtered = [...counts.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([filter, count]) => ({ filter, count }));
  return {
    report: { ...report, findings: sortedFindings(shown), suppressed: sortedSuppressions(suppressed), ...(filtered.length > 0 ? { filtered } : {}) },
    expiredIgnores,
  };
}

export interface GateResult {
  fails: boolean;
  /** One line per finding at or above the threshold, worst first. */
  reasons: string[];
}

/** `--fail-on SEVERITY`: fails when any shown finding is at least that severe (`unknown` fails on any finding). */
export function gateFails(report: ScanReport, failOn: Severity): GateResult {
  const threshold = severityRank(failOn);
  const hits = sortedFindings(report.findings)
    .filter((f) => severityRank(f.severity) >= threshold)
    .sort((a, b) => severityRank(b.severity) - severityRank(a.severity));
  return {
    fails: hits.length > 0,
    reasons: hits.map(
      (f) => `${f.advisoryId} (${f.severity}) in ${f.package.name} ${f.installedVersion}${f.fixedVersions.length > 0 ? `, fixed in ${f.fixedVersions.join(', ')}` : ''}`,
    ),
  };
}

/** Parses `--severity HIGH,critical` (case-insensitive, comma-separated). */
export function parseSeverityList(text: string): Severity[] {
  const out: Severity[] = [];
  for (const part of text.split(',').map((p) => p.trim().toLowerCase()).filter(Boolean)) {
    if (!isSeverity(part)) throw new AppError('BAD_INPUT', `unknown severity "${part}": use ${SEVERITIES.join(', ')}`);
    if (!out.includes(part)) out.push(part);
  }
  return out;
}

/** Parses `--fail-on high`. */
export function parseSeverity(text: string): Severity {
  const value = text.trim().toLowerCase();
  if (!isSeverity(value)) throw new AppError('BAD_INPUT', `unknown severity "${text}": use ${SEVERITIES.join(', ')}`);
  return value;
}

import type { Formatter, ScanReport } from '../types.js';
import { canonical, compareBy, sortedFindings, sortedSuppressions, comparePackages } from '../order.js';

/**
 * The ScanReport as is (see ../json-schema.md): top-level fields in schema order, nested keys sorted,
 * arrays sorted, two-space indent, trailing newline.
 */
export function normalizeReport(report: ScanReport): ScanReport {
  return {
    schemaVersion: report.schemaVersion,
    tool: report.tool,
    createdAt: report.createdAt,
    target: report.target,
    ...(report.distro ? { distro: report.distro } : {}),
    ...(report.db
      ? { db: { ...report.db, sources: [...report.db.sources].sort(compareBy((s) => s.id, (s) => s.snapshot ?? '')) } }
      : {}),
    packages: [...report.packages].sort(comparePackages),
    findings: sortedFindings(report.findings),
    suppressed: sortedSuppressions(report.suppressed),
    ...(report.filtered ? { filtered: [...report.filtered].sort(compareBy((f) => f.filter)) } : {}),
  };
}

export const jsonFormatter = {
  id: 'json',
  description: 'the scan report as JSON (schema: docs in src/report/json-schema.md)',
  render(report) {
    const normal = normalizeReport(report);
    const ordered: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(normal)) ordered[key] = canonical(value);
    return `${JSON.stringify(ordered, null, 2)}\n`;
  },
} satisfies Formatter;

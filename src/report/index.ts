import { AppError } from '../core/index.js';
import { FORMATTERS } from './registry.js';
import { FORMAT_IDS, isFormatId, type RenderOptions, type ScanReport } from './types.js';

/** The output side of `palisade scan`: writers, filters, gates, the ignore file and VEX. */
export type { ScanReport, ScanTarget, Suppression, VexDecision, FormatId, Formatter, RenderOptions, DistroEol } from './types.js';
export { FORMAT_IDS, isFormatId } from './types.js';
export { FORMATTERS } from './registry.js';
export { applyFilters, gateFails, parseSeverity, parseSeverityList, type ReportFilters, type FilterOutcome, type GateResult, type ExpiredIgnore } from './filter.js';
export { loadIgnoreFile, parseIgnoreFile, type IgnoreFile, type IgnoreEntry } from './ignore.js';
export { loadVex, parseVexDocument, type VexSet, type VexStatement } from './vex.js';

/** Renders a report in one format. `format` may come straight from argv: an unknown one is a BAD_INPUT error. */
export function renderReport(report: ScanReport, format: string, options: RenderOptions): string {
  if (!isFormatId(format)) {
    throw new AppError('BAD_INPUT', `unknown output format "${format}": use one of ${FORMAT_IDS.join(', ')}`);
  }
  return FORMATTERS[format].render(report, options);
}

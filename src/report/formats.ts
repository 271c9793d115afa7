import { AppError } from '../core/errors.js';
import { FORMAT_IDS, isFormatId, type FormatId, type Formatter, type RenderOptions, type ScanReport } from './types.js';

/**
 * Each format's writer, loaded when that format is asked for (the CLI prints one format per run;
 * registry.ts holds them all, loaded, for callers that want every one). One loader per id.
 */
export const FORMATTER_LOADERS: Record<FormatId, () => Promise<Formatter>> = {
  table: async () => (await import('./table/index.js')).tableFormatter,
  json: async () => (await import('./json/index.js')).jsonFormatter,
  sarif: async () => (await import('./sarif/index.js')).sarifFormatter,
  cyclonedx: async () => (await import('./cyclonedx/index.js')).cyclonedxFormatter,
  spdx: async () => (await import('./spdx/index.js')).spdxFormatter,
};

/** Loads the writer of one format. `format` may come straight from argv: an unknown one is a BAD_INPUT error. */
export async function loadFormatter(format: string): Promise<Formatter> {
  if (!isFormatId(format)) {
    throw new AppError('BAD_INPUT', `unknown output format "${format}": use one of ${FORMAT_IDS.join(', ')}`);
  }
  return FORMATTER_LOADERS[format]();
}

/** renderReport (index.ts) with only the asked-for writer loaded. */
export async function renderReportLazily(report: ScanReport, format: string, options: RenderOptions): Promise<string> {
  return (await loadFormatter(format)).render(report, options);
}

import type { Clock } from '../core/clock.js';
import type { Distro, Finding, Package } from '../core/types.js';
import { endOfLife } from '../image/os/eol.js';
import type { ScanReport, ScanTarget } from '../report/types.js';
import { PALISADE_VERSION } from '../core/version.js';

export interface ReportInput {
  target: ScanTarget;
  distro?: Distro;
  packages: Package[];
  findings: Finding[];
  db?: ScanReport['db'];
  clock: Clock;
}

/** The report every writer renders, before filters, the ignore file and VEX are applied. */
export function buildScanReport(input: ReportInput): ScanReport {
  const eol = input.distro ? endOfLife(input.distro, input.clock) : undefined;
  return {
    schemaVersion: 1,
    tool: { name: 'palisade', version: PALISADE_VERSION },
    createdAt: input.clock.now().toISOString(),
    target: input.target,
    ...(input.distro
      ? { distro: { ...input.distro, ...(eol ? { eol: { date: eol.date, endOfLife: eol.endOfLife, source: eol.source } } : {}) } }
      : {}),
    ...(input.db ? { db: input.db } : {}),
    packages: input.packages,
    findings: input.findings,
    suppressed: [],
  };
}

import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { AppError } from '../core/index.js';
import { FORMATTER_LOADERS, renderReportLazily } from './formats.js';
import { FORMAT_IDS, FORMATTERS, renderReport, type FormatId, type ScanReport } from './index.js';
import { lodashFinding, sampleReport, webpFinding, zlibFinding } from './__fixtures__/report.js';

const here = dirname(fileURLToPath(import.meta.url));
const ESC = '\u001b[';

function reversed(report: ScanReport): ScanReport {
  return {
    ...report,
    packages: [...report.packages].reverse(),
    findings: [...report.findings].reverse(),
    db: report.db ? { ...report.db, sources: [...report.db.sources].reverse() } : undefined,
  };
}

function withSuppressed(): ScanReport {
  const report = sampleReport();
  return {
    ...report,
    findings: report.findings.filter((f) => f.advisoryId !== 'CVE-2023-45853'),
    suppressed: [
      {
        by: 'vex',
        finding: zlibFinding,
        reason: 'not_affected: vulnerable_code_not_present (https://vex.example.com/shop/web/2026-11-20)',
        vex: { status: 'not_affected', justification: 'vulnerable_code_not_present', document: 'https://vex.example.com/shop/web/2026-11-20' },
      },
    ],
  };
}

describe('registry', () => {
  it('has one formatter per format id, each with its own folder', () => {
    const folders = readdirSync(here)
      .filter((name) => statSync(join(here, name)).isDirectory() && name !== '__fixtures__')
      .sort();
    expect(folders).toEqual([...FORMAT_IDS].sort());
    for (const id of FORMAT_IDS) expect(FORMATTERS[id].id).toBe(id);
  });

  it('loads, one format at a time, the same writers as FORMATTERS holds', async () => {
    for (const id of FORMAT_IDS) expect(await FORMATTER_LOADERS[id]()).toBe(FORMATTERS[id]);
    const options = { color: false, listAllPackages: true };
    for (const id of FORMAT_IDS) expect(await renderReportLazily(sampleReport(), id, options)).toBe(renderReport(sampleReport(), id, options));
    await expect(renderReportLazily(sampleReport(), 'xml', options)).rejects.toThrow(
      new AppError('BAD_INPUT', 'unknown output format "xml": use one of table, json, sarif, cyclonedx, spdx'),
    );
  });

  it('rejects an unknown format with a BAD_INPUT error naming the choices', () => {
    expect(() => renderReport(sampleReport(), 'xml', { color: false, listAllPackages: false })).toThrow(
      new AppError('BAD_INPUT', 'unknown output format "xml": use one of table, json, sarif, cyclonedx, spdx'),
    );
  });
});

describe.each(FORMAT_IDS.map((id) => [id]))('%s writer', (format: FormatId) => {
  it.each([
    ['plain', false, false],
    ['colour', true, false],
    ['all packages', false, true],
  ])('is deterministic (%s): twice and from shuffled input give the same bytes', (_name, color, listAllPackages) => {
    const options = { color, listAllPackages };
    const first = renderReport(sampleReport(), format, options);
    expect(renderReport(sampleReport(), format, options)).toBe(first);
    expect(renderReport(reversed(sampleReport()), format, options)).toBe(first);
    expect(renderReport(withSuppressed(), format, options)).toBe(renderReport(reversed(withSuppressed()), format, options));
  });

  it.each<[string, ScanReport]>([
    ['a lockfile target without distro', { ...sampleReport(), target: { kind: 'packages', reference: 'app/package-lock.json' }, distro: undefined, db: undefined, packages: [], findings: [lodashFinding] }],
    ['an empty rootfs scan', { ...sampleReport(), target: { kind: 'rootfs', reference: '/mnt/rootfs' }, packages: [], findings: [] }],
  ])('renders %s', (_name, report) => {
    const out = renderReport(report, format, { color: false, listAllPackages: true });
    expect(out.endsWith('\n')).toBe(true);
    expect(out).toContain(report.target.reference);
    expect(renderReport(structuredClone(report), format, { color: false, listAllPackages: true })).toBe(out);
  });

  it('does not mutate the report', () => {
    const report = withSuppressed();
    const before = JSON.stringify(report);
    renderReport(report, format, { color: true, listAllPackages: true });
    expect(JSON.stringify(report)).toBe(before);
  });

  it('puts ANSI colour codes only in the table and only with color:true', () => {
    expect(renderReport(sampleReport(), format, { color: false, listAllPackages: true })).not.toContain(ESC);
    expect(renderReport(sampleReport(), format, { color: true, listAllPackages: true }).includes(ESC)).toBe(format === 'table');
  });

  it('names the KEV finding (SPDX, an SBOM only, names its package)', () => {
    const expected = format === 'spdx' ? webpFinding.package.purl : webpFinding.advisoryId;
    expect(renderReport(sampleReport(), format, { color: false, listAllPackages: false })).toContain(expected);
  });
});

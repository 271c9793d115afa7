import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { fixedClock, type Severity } from '../core/index.js';
import { applyFilters, gateFails, loadIgnoreFile, loadVex, parseSeverity, parseSeverityList } from './index.js';
import { sampleReport } from './__fixtures__/report.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '__fixtures__');
const clock = fixedClock('2026-11-27T00:40:00Z');
const ids = (findings: { advisoryId: string }[]): string[] => findings.map((f) => f.advisoryId);

describe('applyFilters', () => {
  it.each<[string, Severity[] | undefined, boolean, string[], { filter: 'severity' | 'ignore-unfixed'; count: number }[] | undefined]>([
    ['no filters', undefined, false, ['CVE-2023-4863', 'GHSA-35jh-r3h4-6jhm', 'CVE-2005-2541', 'CVE-2023-45853'], undefined],
    ['--severity critical,high', ['critical', 'high'], false, ['CVE-2023-4863', 'GHSA-35jh-r3h4-6jhm', 'CVE-2023-45853'], [{ filter: 'severity', count: 1 }]],
    ['--ignore-unfixed (drops unfixed and wont-fix)', undefined, true, ['CVE-2023-4863', 'GHSA-35jh-r3h4-6jhm'], [{ filter: 'ignore-unfixed', count: 2 }]],
    [
      'both',
      ['negligible', 'critical'],
      true,
      [],
      [
        { filter: 'ignore-unfixed', count: 2 },
        { filter: 'severity', count: 2 },
      ],
    ],
  ])('%s', (_name, severities, ignoreUnfixed, expected, filtered) => {
    const { report } = applyFilters(sampleReport(), { ...(severities ? { severities } : {}), ignoreUnfixed }, clock);
    expect(ids(report.findings)).toEqual(expected);
    expect(report.filtered).toEqual(filtered);
    expect(report.suppressed).toEqual([]);
  });

  it('moves findings hidden by VEX and the ignore file to suppressed, with reasons, and reports expired entries', async () => {
    const ignore = await loadIgnoreFile(join(fixtures, 'palisadeignore.yaml'));
    const vex = await loadVex([join(fixtures, 'web.openvex.json')]);
    const before = sampleReport();
    const { report, expiredIgnores } = applyFilters(before, { ignore, vex }, clock);

    // zlib1g: VEX not_affected (wins over the ignore entry); lodash: VEX via the image subcomponent.
    expect(ids(report.findings)).toEqual(['CVE-2023-4863', 'CVE-2005-2541']);
    expect(report.suppressed.map((s) => [s.by, s.finding.advisoryId, s.reason])).toEqual([
      ['vex', 'GHSA-35jh-r3h4-6jhm', 'not_affected: vulnerable_code_not_in_execute_path (https://vex.example.com/shop/web/2026-11-20)'],
      ['vex', 'CVE-2023-45853', 'not_affected: vulnerable_code_not_present — zlib1g does not ship minizip (https://vex.example.com/shop/web/2026-11-20)'],
    ]);
    expect(report.findings.length + report.suppressed.length).toBe(before.findings.length);
    expect(expiredIgnores).toEqual([
      { file: ignore.file, entry: { id: 'CVE-2021-23337', reason: 'templates are compiled at build time from trusted sources only', expires: '2026-10-31', line: 6 } },
    ]);
  });

  it.each([
    ['before expiry the alias entry hides lodash', '2026-10-31T12:00:00Z', ['CVE-2023-4863', 'CVE-2005-2541'], ['CVE-2023-45853', 'GHSA-35jh-r3h4-6jhm'], 0],
    ['after expiry lodash shows again', '2026-11-01T00:00:00Z', ['CVE-2023-4863', 'GHSA-35jh-r3h4-6jhm', 'CVE-2005-2541'], ['CVE-2023-45853'], 1],
  ])('ignore file alone: %s', async (_name, now, shown, hidden, expiredCount) => {
    const ignore = await loadIgnoreFile(join(fixtures, 'palisadeignore.yaml'));
    const { report, expiredIgnores } = applyFilters(sampleReport(), { ignore }, fixedClock(now));
    expect(ids(report.findings)).toEqual(shown);
    expect(report.suppressed.map((s) => s.finding.advisoryId).sort()).toEqual(hidden);
    expect(report.suppressed.every((s) => s.by === 'ignore-file' && s.ignore.file === ignore.file)).toBe(true);
    expect(expiredIgnores.length).toBe(expiredCount);
  });

  it('keeps earlier suppressions and counts when applied again', () => {
    const once = applyFilters(sampleReport(), { ignoreUnfixed: true }, clock).report;
    const twice = applyFilters(once, { severities: ['critical'] }, clock).report;
    expect(twice.filtered).toEqual([
      { filter: 'ignore-unfixed', count: 2 },
      { filter: 'severity', count: 2 },
    ]);
  });
});

describe('gateFails', () => {
  it.each<[Severity, boolean, string[]]>([
    ['critical', true, ['CVE-2023-45853 (critical) in zlib1g 1:1.2.13.dfsg-1']],
    [
      'high',
      true,
      ['CVE-2023-45853 (critical) in zlib1g 1:1.2.13.dfsg-1', 'CVE-2023-4863 (high) in libwebp7 1.2.4-0.2, fixed in 1.2.4-0.2+deb12u1', 'GHSA-35jh-r3h4-6jhm (high) in lodash 4.17.20, fixed in 4.17.21'],
    ],
    ['medium', true, ['CVE-2023-45853 (critical) in zlib1g 1:1.2.13.dfsg-1', 'CVE-2023-4863 (high) in libwebp7 1.2.4-0.2, fixed in 1.2.4-0.2+deb12u1', 'GHSA-35jh-r3h4-6jhm (high) in lodash 4.17.20, fixed in 4.17.21']],
  ])('--fail-on %s fails: %s', (failOn, fails, reasons) => {
    expect(gateFails(sampleReport(), failOn)).toEqual({ fails, reasons });
  });

  it('counts negligible and unknown only when asked', () => {
    expect(gateFails(sampleReport(), 'negligible').reasons.length).toBe(4);
    expect(gateFails(sampleReport(), 'unknown').reasons.length).toBe(4);
  });

  it('passes when the failing findings are suppressed or filtered', () => {
    const { report } = applyFilters(sampleReport(), { ignoreUnfixed: true, severities: ['high', 'medium'] }, clock);
    expect(gateFails(report, 'critical')).toEqual({ fails: false, reasons: [] });
  });
});

describe('severity arguments', () => {
  it.each([
    ['HIGH,critical', ['high', 'critical']],
    [' medium , low ,medium', ['medium', 'low']],
    ['', []],
  ])('parses %j', (text, expected) => {
    expect(parseSeverityList(text)).toEqual(expected);
  });

  it.each([
    ['HIGH,severe', 'unknown severity "severe": use critical, high, medium, low, negligible, unknown'],
    ['moderate', 'unknown severity "moderate": use critical, high, medium, low, negligible, unknown'],
  ])('rejects %j', (text, message) => {
    expect(() => parseSeverityList(text)).toThrow(message);
  });

  it('parses --fail-on', () => {
    expect(parseSeverity('High')).toBe('high');
    expect(() => parseSeverity('urgent')).toThrow('unknown severity "urgent": use critical, high, medium, low, negligible, unknown');
  });
});

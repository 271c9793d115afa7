import { describe, expect, it } from 'vitest';
import type { ScanReport } from '../types.js';
import { lodashFinding, sampleReport, zlibFinding } from '../__fixtures__/report.js';
import { tableFormatter } from './index.js';

const plain = { color: false, listAllPackages: false };

function lines(text: string): string[] {
  return text.split('\n');
}

describe('table writer', () => {
  const out = tableFormatter.render(sampleReport(), plain);

  it.each([
    [0, 'Target: registry.example.com:5000/shop/web:1.4.2 (sha256:3c5b2a1f9e8d7c6b5a4938271605f4e3d2c1b0a9f8e7d6c5b4a3928170f6e5d4)'],
    [1, 'Platform: linux/amd64'],
    [2, 'OS: Debian GNU/Linux 12 (bookworm) (supported until 2028-06-30)'],
    [3, 'Advisory DB: built 2026-11-26T06:00:00Z; osv:Debian@2026-11-26, osv:npm@2026-11-26'],
    [5, 'Total: 4 (critical: 1, high: 2, medium: 0, low: 0, negligible: 1, unknown: 0)'],
  ])('header line %i is %j', (index, expected) => {
    expect(lines(out)[index]).toBe(expected);
  });

  it('groups OS packages first, then each language location, with per-group totals', () => {
    const groupLines = lines(out).filter((l) => l.startsWith('registry.example.com') || l.startsWith('npm: '));
    expect(groupLines).toEqual(['registry.example.com:5000/shop/web:1.4.2 (debian 12, deb)', 'npm: /app/node_modules/lodash/package.json']);
    expect(out).toContain('npm: /app/node_modules/lodash/package.json\nTotal: 1 (critical: 0, high: 1, medium: 0, low: 0, negligible: 0, unknown: 0)\n');
  });

  it.each([
    ['header', /^PACKAGE +INSTALLED +VULNERABILITY +SEVERITY +FIX STATE +FIXED VERSION +TITLE$/],
    ['libwebp7', /^libwebp7 +1\.2\.4-0\.2 +CVE-2023-4863 +high +fixed +1\.2\.4-0\.2\+deb12u1 +\[KEV\] \[EPSS 93\.6%\] Heap buffer overflow in libwebp allows a…$/],
    ['tar', /^tar +1\.34\+dfsg-1\.2\+deb12u1 +CVE-2005-2541 +negligible +unfixed +Tar 1\.15\.1 does not properly warn/],
    ['zlib1g', /^zlib1g +1:1\.2\.13\.dfsg-1 +CVE-2023-45853 +critical +wont-fix +MiniZip in zlib/],
    ['lodash', /^lodash +4\.17\.20 +GHSA-35jh-r3h4-6jhm +high +fixed +4\.17\.21 +Command Injection in lodash$/],
  ])('prints the %s row with every column', (_name, pattern) => {
    expect(lines(out).some((l) => pattern.test(l))).toBe(true);
  });

  it('sorts rows by package name inside a group', () => {
    const rows = lines(out).filter((l) => /^(libwebp7|tar|zlib1g) /.test(l)).map((l) => l.split(' ')[0]);
    expect(rows).toEqual(['libwebp7', 'tar', 'zlib1g']);
  });

  it('aligns columns: the VULNERABILITY column starts at the same offset in every row of a group', () => {
    const group = lines(out).filter((l) => /^(PACKAGE|libwebp7|tar|zlib1g) /.test(l)).slice(0, 4);
    const offsets = group.map((l) => l.search(/(VULNERABILITY|CVE-)/));
    expect(new Set(offsets).size).toBe(1);
  });

  it('lists packages only with listAllPackages', () => {
    expect(out).not.toContain('Packages (');
    const all = tableFormatter.render(sampleReport(), { color: false, listAllPackages: true });
    expect(all).toContain('Packages (6)');
    expect(lines(all).some((l) => /^express +4\.19\.2 +npm +\/app\/node_modules\/express\/package\.json +pkg:npm\/express@4\.19\.2$/.test(l))).toBe(true);
  });

  it.each([
    ['critical', '\u001b[1;31mcritical\u001b[0m'],
    ['high', '\u001b[31mhigh\u001b[0m'],
    ['negligible', '\u001b[2mnegligible\u001b[0m'],
  ])('colours the %s severity with color:true', (_severity, coloured) => {
    const colourOut = tableFormatter.render(sampleReport(), { color: true, listAllPackages: false });
    expect(colourOut).toContain(coloured);
    expect(out).not.toContain(coloured);
  });

  it('says when the OS is end of life, counts hidden findings and lists suppressed ones', () => {
    const base = sampleReport();
    const report: ScanReport = {
      ...base,
      distro: { id: 'debian', versionId: '10', prettyName: 'Debian GNU/Linux 10 (buster)', eol: { date: '2024-06-30', endOfLife: true, source: 'https://endoflife.date/debian' } },
      findings: base.findings.filter((f) => f.advisoryId !== 'CVE-2023-45853'),
      suppressed: [{ by: 'ignore-file', finding: zlibFinding, reason: 'minizip is not built', ignore: { id: 'CVE-2023-45853', file: '.palisadeignore.yaml' } }],
      filtered: [{ filter: 'ignore-unfixed', count: 2 }],
    };
    const text = tableFormatter.render(report, plain);
    expect(lines(text)[2]).toBe('OS: Debian GNU/Linux 10 (buster) — END OF LIFE since 2024-06-30, no more security fixes');
    expect(text).toContain('Hidden: ignore-file: 1, ignore-unfixed: 2\n');
    expect(lines(text).some((l) => /^zlib1g +1:1\.2\.13\.dfsg-1 +CVE-2023-45853 +ignore-file +minizip is not built$/.test(l))).toBe(true);
  });

  it('strips control characters that a crafted package or title could use to rewrite the terminal', () => {
    const base = sampleReport();
    const evil = {
      ...lodashFinding,
      summary: 'Command\u001b[2J\u001b[H Injection\r\nin lodash',
      package: { ...lodashFinding.package, name: 'lodash\u001b]0;pwned\u0007' },
    };
    const text = tableFormatter.render({ ...base, target: { ...base.target, reference: 'evil\u001b[31m:latest' }, findings: [evil] }, plain);
    expect(text).not.toContain('\u001b');
    expect(text).not.toContain('\u0007');
    expect(text).toContain('Command[2J[H Injection in lodash');
    expect(lines(text)[0]).toBe('Target: evil[31m:latest (sha256:3c5b2a1f9e8d7c6b5a4938271605f4e3d2c1b0a9f8e7d6c5b4a3928170f6e5d4)');
  });

  it('says so when nothing was found', () => {
    const text = tableFormatter.render({ ...sampleReport(), findings: [] }, plain);
    expect(text).toContain('Total: 0 (critical: 0, high: 0, medium: 0, low: 0, negligible: 0, unknown: 0)\n\nNo vulnerabilities found.\n');
  });
});

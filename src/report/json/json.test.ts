import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { sampleReport } from '../__fixtures__/report.js';
import { renderReport } from '../index.js';

const options = { color: false, listAllPackages: false };
const FINDING_KEYS = [
  'advisoryId', 'aliases', 'cvss', 'dataSource', 'epss', 'fixState', 'fixedVersions', 'installedVersion', 'kev', 'namespace', 'package', 'severity', 'severitySource', 'summary',
];
const byPurl = <T extends { purl: string }>(items: T[]): T[] => [...items].sort((a, b) => (a.purl < b.purl ? -1 : 1));
const byId = <T extends { advisoryId: string }>(items: T[]): T[] => [...items].sort((a, b) => (a.advisoryId < b.advisoryId ? -1 : 1));

const outputSchema = z.object({
  schemaVersion: z.literal(1),
  tool: z.object({ name: z.literal('palisade'), version: z.string() }),
  createdAt: z.string(),
  target: z.object({ kind: z.enum(['image', 'sbom', 'packages', 'rootfs']), reference: z.string() }),
  packages: z.array(z.object({ type: z.string(), name: z.string(), version: z.string(), purl: z.string(), locations: z.array(z.object({ path: z.string() })) })),
  findings: z.array(z.object({ advisoryId: z.string(), severity: z.string(), fixState: z.string(), package: z.object({ purl: z.string() }) })),
  suppressed: z.array(z.unknown()),
});

describe('json writer', () => {
  const text = renderReport(sampleReport(), 'json', options);
  const parsed: unknown = JSON.parse(text);
  const doc = outputSchema.parse(parsed);

  it('prints the top-level fields in schema order', () => {
    expect(Object.keys(z.record(z.string(), z.unknown()).parse(parsed))).toEqual([
      'schemaVersion', 'tool', 'createdAt', 'target', 'distro', 'db', 'packages', 'findings', 'suppressed',
    ]);
  });

  it('sorts nested keys', () => {
    const finding = z.array(z.record(z.string(), z.unknown())).parse(z.object({ findings: z.unknown() }).parse(parsed).findings)[0];
    expect(Object.keys(finding ?? {})).toEqual(FINDING_KEYS);
  });

  it.each([
    ['packages', doc.packages.map((p) => p.name), ['bash', 'libwebp7', 'tar', 'zlib1g', 'express', 'lodash']],
    ['findings', doc.findings.map((f) => f.advisoryId), ['CVE-2023-4863', 'GHSA-35jh-r3h4-6jhm', 'CVE-2005-2541', 'CVE-2023-45853']],
  ])('sorts %s (OS before language packages; findings by package name)', (_name, actual, expected) => {
    expect(actual).toEqual(expected);
  });

  it('keeps every value of the report', () => {
    const sample = sampleReport();
    const full = z.object({ packages: z.array(z.object({ purl: z.string() }).passthrough()), findings: z.array(z.object({ advisoryId: z.string() }).passthrough()) }).passthrough().parse(parsed);
    expect({ ...full, packages: byPurl(full.packages), findings: byId(full.findings) }).toEqual({
      ...sample,
      db: { builtAt: '2026-11-26T06:00:00Z', sources: [{ id: 'osv:Debian', snapshot: '2026-11-26' }, { id: 'osv:npm', snapshot: '2026-11-26' }] },
      packages: byPurl(sample.packages),
      findings: byId(sample.findings),
    });
    expect(full.findings.find((f) => f.advisoryId === 'CVE-2023-4863')).toMatchObject({
      kev: { cveId: 'CVE-2023-4863', dateAdded: '2023-09-13', dueDate: '2023-10-04', knownRansomwareUse: false },
      epss: { cveId: 'CVE-2023-4863', score: 0.93612, percentile: 0.99816 },
    });
    expect(text.endsWith('}\n')).toBe(true);
  });
});

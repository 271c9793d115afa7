import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { ScanReport } from '../types.js';
import { lodashFinding, sampleReport, tarFinding, zlibFinding } from '../__fixtures__/report.js';
import { buildCycloneDx, cyclonedxFormatter } from './index.js';

/** The required structure of CycloneDX 1.6 (bom-1.6.schema.json) for what Palisade writes. */
const property = z.object({ name: z.string(), value: z.string() });
const component = z.object({
  type: z.enum(['application', 'framework', 'library', 'container', 'platform', 'operating-system', 'device', 'device-driver', 'firmware', 'file', 'machine-learning-model', 'data', 'cryptographic-asset']),
  'bom-ref': z.string().min(1),
  name: z.string().min(1),
  version: z.string().optional(),
  purl: z.string().startsWith('pkg:').optional(),
  licenses: z.array(z.object({ license: z.object({ name: z.string() }).or(z.object({ id: z.string() })) })).optional(),
  hashes: z.array(z.object({ alg: z.enum(['MD5', 'SHA-1', 'SHA-256', 'SHA-384', 'SHA-512']), content: z.string().regex(/^[a-f0-9]{64}$/) })).optional(),
  properties: z.array(property).optional(),
});
const rating = z.object({
  source: z.object({ name: z.string() }).optional(),
  score: z.number().optional(),
  severity: z.enum(['critical', 'high', 'medium', 'low', 'info', 'none', 'unknown']),
  method: z.enum(['CVSSv2', 'CVSSv3', 'CVSSv31', 'CVSSv4', 'OWASP', 'SSVC', 'other']),
  vector: z.string().optional(),
});
const bomSchema = z.object({
  bomFormat: z.literal('CycloneDX'),
  specVersion: z.literal('1.6'),
  serialNumber: z.string().regex(/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
  version: z.number().int().min(1),
  metadata: z.object({ timestamp: z.string().datetime(), tools: z.object({ components: z.array(z.object({ type: z.literal('application'), name: z.string(), version: z.string() })) }), component }),
  components: z.array(component),
  dependencies: z.array(z.object({ ref: z.string(), dependsOn: z.array(z.string()) })),
  vulnerabilities: z.array(
    z.object({
      'bom-ref': z.string(),
      id: z.string(),
      source: z.object({ name: z.string(), url: z.string().url() }),
      references: z.array(z.object({ id: z.string(), source: z.object({ name: z.string(), url: z.string().url() }) })).optional(),
      ratings: z.array(rating).min(1),
      description: z.string().optional(),
      recommendation: z.string().optional(),
      affects: z.array(z.object({ ref: z.string(), versions: z.array(z.object({ version: z.string(), status: z.enum(['affected', 'unaffected', 'unknown']) })) })).min(1),
      analysis: z
        .object({
          state: z.enum(['resolved', 'resolved_with_pedigree', 'exploitable', 'in_triage', 'false_positive', 'not_affected']),
          justification: z
            .enum(['code_not_present', 'code_not_reachable', 'requires_configuration', 'requires_dependency', 'requires_environment', 'protected_by_compiler', 'protected_at_runtime', 'protected_at_perimeter', 'protected_by_mitigating_control'])
            .optional(),
          detail: z.string().optional(),
        })
        .optional(),
      properties: z.array(property).optional(),
    }),
  ),
});

function vexReport(): ScanReport {
  const report = sampleReport();
  return {
    ...report,
    findings: report.findings.filter((f) => f.advisoryId !== 'CVE-2023-45853' && f.advisoryId !== 'CVE-2005-2541'),
    suppressed: [
      {
        by: 'vex',
        finding: zlibFinding,
        reason: 'not_affected: vulnerable_code_not_present — zlib1g does not ship minizip',
        vex: { status: 'not_affected', justification: 'vulnerable_code_not_present', impactStatement: 'zlib1g does not ship minizip', document: 'https://vex.example.com/shop/web/2026-11-20' },
      },
      { by: 'ignore-file', finding: tarFinding, reason: 'accepted', ignore: { id: 'CVE-2005-2541', file: '.palisadeignore.yaml' } },
    ],
  };
}

describe('cyclonedx writer', () => {
  const bom = bomSchema.parse(JSON.parse(cyclonedxFormatter.render(sampleReport())));
  const vuln = (id: string) => bom.vulnerabilities.find((v) => v.id === id);

  it('describes the image as metadata.component', () => {
    expect(bom.metadata.component).toMatchObject({
      type: 'container',
      name: 'registry.example.com:5000/shop/web',
      version: '1.4.2',
      hashes: [{ alg: 'SHA-256', content: '3c5b2a1f9e8d7c6b5a4938271605f4e3d2c1b0a9f8e7d6c5b4a3928170f6e5d4' }],
    });
    expect(bom.metadata.component.purl).toMatch(/^pkg:oci\/web@sha256/);
    expect(bom.metadata.timestamp).toBe('2026-11-27T00:40:00.000Z');
  });

  it('lists the OS and every package with purl as bom-ref, and the image depends on all of them', () => {
    expect(bom.components.map((c) => [c.type, c['bom-ref']])).toEqual([
      ['operating-system', 'os:debian@12'],
      ['library', 'pkg:deb/debian/bash@5.2.15-2%2Bb2?arch=amd64&distro=debian-12'],
      ['library', 'pkg:deb/debian/libwebp7@1.2.4-0.2?arch=amd64&distro=debian-12'],
      ['library', 'pkg:deb/debian/tar@1.34%2Bdfsg-1.2%2Bdeb12u1?arch=amd64&distro=debian-12'],
      ['library', 'pkg:deb/debian/zlib1g@1%3A1.2.13.dfsg-1?arch=amd64&distro=debian-12'],
      ['library', 'pkg:npm/express@4.19.2'],
      ['library', 'pkg:npm/lodash@4.17.20'],
    ]);
    expect(bom.dependencies).toEqual([{ ref: bom.metadata.component['bom-ref'], dependsOn: bom.components.map((c) => c['bom-ref']).sort() }]);
  });

  it.each([
    ['CVE-2023-4863', [{ source: { name: 'nvd' }, score: 8.8, severity: 'high', method: 'CVSSv31', vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H' }]],
    [
      'GHSA-35jh-r3h4-6jhm',
      [
        { source: { name: 'ghsa' }, score: 7.2, severity: 'high', method: 'CVSSv31', vector: 'CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H' },
        { source: { name: 'osv:npm' }, severity: 'high', method: 'other' },
      ],
    ],
    ['CVE-2005-2541', [{ source: { name: 'osv:Debian' }, severity: 'info', method: 'other' }]],
  ])('rates %s', (id, ratings) => {
    expect(vuln(id)?.ratings).toEqual(ratings);
  });

  it.each([
    ['CVE-2023-4863', 'Upgrade libwebp7 from 1.2.4-0.2 to 1.2.4-0.2+deb12u1.', 'pkg:deb/debian/libwebp7@1.2.4-0.2?arch=amd64&distro=debian-12', '1.2.4-0.2'],
    ['GHSA-35jh-r3h4-6jhm', 'Upgrade lodash from 4.17.20 to 4.17.21.', 'pkg:npm/lodash@4.17.20', '4.17.20'],
    ['CVE-2023-45853', undefined, 'pkg:deb/debian/zlib1g@1%3A1.2.13.dfsg-1?arch=amd64&distro=debian-12', '1:1.2.13.dfsg-1'],
  ])('%s recommends %j and affects %s', (id, recommendation, ref, version) => {
    expect(vuln(id)?.recommendation).toBe(recommendation);
    expect(vuln(id)?.affects).toEqual([{ ref, versions: [{ version, status: 'affected' }] }]);
  });

  it('carries aliases, KEV and EPSS', () => {
    expect(vuln('GHSA-35jh-r3h4-6jhm')?.references).toEqual([{ id: 'CVE-2021-23337', source: { name: 'NVD', url: 'https://nvd.nist.gov/vuln/detail/CVE-2021-23337' } }]);
    expect(vuln('CVE-2023-4863')?.properties).toEqual([
      { name: 'palisade:kev:dateAdded', value: '2023-09-13' },
      { name: 'palisade:kev:dueDate', value: '2023-10-04' },
      { name: 'palisade:epss:score', value: '0.93612' },
      { name: 'palisade:epss:percentile', value: '0.99816' },
    ]);
    expect(vuln(lodashFinding.advisoryId)?.source).toEqual({ name: 'GitHub', url: 'https://github.com/advisories/GHSA-35jh-r3h4-6jhm' });
  });

  it('rates a CVSS vector by its score and the distro severity separately when they disagree', () => {
    const report = sampleReport();
    const lowByDebian = { ...zlibFinding, severity: 'low' as const, severitySource: 'distro' as const };
    const out = bomSchema.parse(buildCycloneDx({ ...report, findings: [lowByDebian] }));
    expect(out.vulnerabilities[0]?.ratings).toEqual([
      { source: { name: 'nvd' }, score: 9.8, severity: 'critical', method: 'CVSSv31', vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' },
      { source: { name: 'osv:Debian' }, severity: 'low', method: 'other' },
    ]);
  });

  it('keeps VEX-suppressed findings with their analysis and leaves ignore-file ones out', () => {
    const withVex = bomSchema.parse(buildCycloneDx(vexReport()));
    expect(withVex.vulnerabilities.find((v) => v.id === 'CVE-2023-45853')?.analysis).toEqual({
      state: 'not_affected',
      justification: 'code_not_present',
      detail: 'vulnerable_code_not_present; zlib1g does not ship minizip; VEX: https://vex.example.com/shop/web/2026-11-20',
    });
    expect(withVex.vulnerabilities.find((v) => v.id === 'CVE-2023-45853')?.affects).toEqual([
      { ref: 'pkg:deb/debian/zlib1g@1%3A1.2.13.dfsg-1?arch=amd64&distro=debian-12', versions: [{ version: '1:1.2.13.dfsg-1', status: 'unaffected' }] },
    ]);
    expect(withVex.vulnerabilities.map((v) => v.id).sort()).toEqual(['CVE-2023-45853', 'CVE-2023-4863', 'GHSA-35jh-r3h4-6jhm']);
    // The suppressed package is still a component.
    expect(withVex.components.some((c) => c.name === 'tar')).toBe(true);
  });

  it('gives two copies of one purl distinct bom-refs', () => {
    const report = sampleReport();
    const copy = { ...lodashFinding.package, locations: [{ path: '/app/node_modules/jsonpath/node_modules/lodash/package.json' }] };
    const bom2 = bomSchema.parse(buildCycloneDx({ ...report, packages: [...report.packages, copy] }));
    expect(bom2.components.filter((c) => c.name === 'lodash').map((c) => c['bom-ref'])).toEqual([
      'pkg:npm/lodash@4.17.20|/app/node_modules/jsonpath/node_modules/lodash/package.json',
      'pkg:npm/lodash@4.17.20|/app/node_modules/lodash/package.json',
    ]);
  });
});

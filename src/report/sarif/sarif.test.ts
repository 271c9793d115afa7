import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { ScanReport } from '../types.js';
import { lodashFinding, sampleReport, tarFinding, zlibFinding } from '../__fixtures__/report.js';
import { buildSarif, sarifFormatter, sarifLevel, securitySeverity } from './index.js';

/** The required structure of SARIF 2.1.0 (sarif-schema-2.1.0.json) for what Palisade writes, plus GitHub's needs. */
const message = z.object({ text: z.string().min(1) }).or(z.object({ id: z.string().min(1) }));
const multiformat = z.object({ text: z.string().min(1), markdown: z.string().optional() });
const level = z.enum(['none', 'note', 'warning', 'error']);
const sarifSchema = z.object({
  $schema: z.string().url().optional(),
  version: z.literal('2.1.0'),
  runs: z
    .array(
      z.object({
        tool: z.object({
          driver: z.object({
            name: z.string().min(1),
            version: z.string().optional(),
            rules: z.array(
              z.object({
                id: z.string().min(1),
                shortDescription: multiformat.optional(),
                fullDescription: multiformat.optional(),
                help: multiformat.optional(),
                helpUri: z.string().url().optional(),
                defaultConfiguration: z.object({ level }).optional(),
                properties: z.object({ tags: z.array(z.string()), 'security-severity': z.string().regex(/^\d+\.\d$/) }),
              }),
            ),
          }),
        }),
        originalUriBaseIds: z.record(z.string(), z.object({ uri: z.string().regex(/\/$/) })).optional(),
        results: z.array(
          z.object({
            ruleId: z.string().min(1),
            ruleIndex: z.number().int().min(-1),
            level,
            message,
            locations: z
              .array(
                z.object({
                  physicalLocation: z.object({
                    artifactLocation: z.object({ uri: z.string().min(1).regex(/^[^/]/), uriBaseId: z.string().optional() }),
                    region: z.object({ startLine: z.number().int().min(1) }).optional(),
                  }),
                }),
              )
              .min(1),
            partialFingerprints: z.record(z.string(), z.string()).optional(),
            suppressions: z
              .array(z.object({ kind: z.enum(['inSource', 'external']), status: z.enum(['accepted', 'underReview', 'rejected']).optional(), justification: z.string().optional() }))
              .optional(),
            properties: z.record(z.string(), z.unknown()).optional(),
          }),
        ),
      }),
    )
    .min(1),
});

function suppressedReport(): ScanReport {
  const report = sampleReport();
  return {
    ...report,
    findings: report.findings.filter((f) => f.advisoryId !== 'CVE-2005-2541'),
    suppressed: [{ by: 'ignore-file', finding: tarFinding, reason: 'setuid extraction only as root, images never extract archives', ignore: { id: 'CVE-2005-2541', file: '.palisadeignore.yaml' } }],
  };
}

describe('sarif writer', () => {
  const log = sarifSchema.parse(JSON.parse(sarifFormatter.render(sampleReport())));
  const run = log.runs[0];
  const rules = run?.tool.driver.rules ?? [];
  const results = run?.results ?? [];

  it('validates against the SARIF 2.1.0 essentials', () => {
    expect(log.version).toBe('2.1.0');
    expect(run?.tool.driver.name).toBe('palisade');
  });

  it('has one rule per advisory id, sorted, and each result points at its rule', () => {
    expect(rules.map((r) => r.id)).toEqual(['CVE-2005-2541', 'CVE-2023-45853', 'CVE-2023-4863', 'GHSA-35jh-r3h4-6jhm']);
    for (const result of results) expect(rules[result.ruleIndex]?.id).toBe(result.ruleId);
  });

  it.each([
    ['CVE-2023-4863', 'error', '8.8', 'https://nvd.nist.gov/vuln/detail/CVE-2023-4863'],
    ['CVE-2023-45853', 'error', '9.8', 'https://nvd.nist.gov/vuln/detail/CVE-2023-45853'],
    ['CVE-2005-2541', 'note', '1.0', 'https://nvd.nist.gov/vuln/detail/CVE-2005-2541'],
    ['GHSA-35jh-r3h4-6jhm', 'error', '7.2', 'https://github.com/advisories/GHSA-35jh-r3h4-6jhm'],
  ])('rule %s: level %s, security-severity %s, help at %s', (id, expectedLevel, score, helpUri) => {
    const rule = rules.find((r) => r.id === id);
    expect(rule?.defaultConfiguration?.level).toBe(expectedLevel);
    expect(rule?.properties['security-severity']).toBe(score);
    expect(rule?.helpUri).toBe(helpUri);
    expect(rule?.help?.markdown).toContain(`**${id}**`);
  });

  it('puts KEV in the help text of the listed CVE', () => {
    expect(rules.find((r) => r.id === 'CVE-2023-4863')?.help?.markdown).toContain('Listed in CISA KEV since 2023-09-13 (due 2023-10-04).');
  });

  it.each([
    ['CVE-2023-4863', 'var/lib/dpkg/status', 'pkg:deb/debian/libwebp7@1.2.4-0.2?arch=amd64&distro=debian-12', '1.2.4-0.2', ['1.2.4-0.2+deb12u1']],
    ['GHSA-35jh-r3h4-6jhm', 'app/node_modules/lodash/package.json', 'pkg:npm/lodash@4.17.20', '4.17.20', ['4.17.21']],
    ['CVE-2005-2541', 'var/lib/dpkg/status', 'pkg:deb/debian/tar@1.34%2Bdfsg-1.2%2Bdeb12u1?arch=amd64&distro=debian-12', '1.34+dfsg-1.2+deb12u1', []],
  ])('result %s is located at %s with purl, installed and fixed properties', (id, uri, purl, installed, fixed) => {
    const result = results.find((r) => r.ruleId === id);
    expect(result?.locations[0]?.physicalLocation.artifactLocation).toEqual({ uri, uriBaseId: 'ROOTPATH' });
    expect(result?.properties).toMatchObject({ purl, installedVersion: installed, fixedVersions: fixed });
  });

  it('writes a readable message', () => {
    expect(results.find((r) => r.ruleId === 'GHSA-35jh-r3h4-6jhm')?.message).toEqual({
      text: 'GHSA-35jh-r3h4-6jhm (high) in lodash 4.17.20: fixed in 4.17.21. Command Injection in lodash',
    });
    expect(results.find((r) => r.ruleId === 'CVE-2023-45853')?.message).toEqual({
      text: `CVE-2023-45853 (critical) in zlib1g 1:1.2.13.dfsg-1: no fix (wont-fix). ${zlibFinding.summary}`,
    });
  });

  it('keeps suppressed findings as results with an external suppression', () => {
    const suppressed = sarifSchema.parse(buildSarif(suppressedReport())).runs[0]?.results.find((r) => r.ruleId === 'CVE-2005-2541');
    expect(suppressed?.suppressions).toEqual([
      { kind: 'external', status: 'accepted', justification: 'ignore-file: setuid extraction only as root, images never extract archives' },
    ]);
  });

  it.each([
    ['a path with a space', [{ path: '/opt/My App/node_modules/lodash/package.json' }], 'opt/My%20App/node_modules/lodash/package.json'],
    ['no location', [], 'registry.example.com%3A5000%2Fshop%2Fweb%3A1.4.2'],
  ])('encodes the location URI of %s', (_name, locations, uri) => {
    const report = sampleReport();
    const finding = { ...lodashFinding, package: { ...lodashFinding.package, locations } };
    const result = sarifSchema.parse(buildSarif({ ...report, findings: [finding] })).runs[0]?.results[0];
    expect(result?.locations[0]?.physicalLocation.artifactLocation.uri).toBe(uri);
  });

  it.each([
    ['critical', 'error'],
    ['high', 'error'],
    ['medium', 'warning'],
    ['low', 'note'],
    ['negligible', 'note'],
    ['unknown', 'note'],
  ] as const)('maps severity %s to level %s', (severity, expected) => {
    expect(sarifLevel(severity)).toBe(expected);
  });

  it.each([
    ['high', 8.8, '8.8'],
    ['low', 9.8, '2.0'],
    ['critical', undefined, '9.5'],
    ['medium', 4.0, '4.0'],
    ['unknown', 5.0, '0.0'],
  ] as const)('security-severity of %s with CVSS %s is %s (the score only when it agrees with the severity)', (severity, score, expected) => {
    expect(securitySeverity(severity, score)).toBe(expected);
  });
});

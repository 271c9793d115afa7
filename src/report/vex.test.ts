import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Finding } from '../core/index.js';
import { loadVex, parseVexDocument, productIsTarget, productPurlMatches, vexDecision } from './vex.js';
import { lodashFinding, sampleReport, tarFinding, webpFinding, zlibFinding } from './__fixtures__/report.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '__fixtures__');
const target = sampleReport().target;
const DOC = 'https://vex.example.com/shop/web/2026-11-20';

function doc(statements: unknown[], extra: Record<string, unknown> = {}): unknown {
  return { '@context': 'https://openvex.dev/ns/v0.2.0', '@id': 'https://vex.example.com/test', author: 'test', timestamp: '2026-11-01T00:00:00Z', version: 1, statements, ...extra };
}

describe('OpenVEX purl matching', () => {
  it.each([
    ['versionless product matches any version', 'pkg:deb/debian/zlib1g', zlibFinding.package.purl, true],
    ['same version', 'pkg:npm/lodash@4.17.20', 'pkg:npm/lodash@4.17.20', true],
    ['other version', 'pkg:npm/lodash@4.17.21', 'pkg:npm/lodash@4.17.20', false],
    ['qualifier the package has', 'pkg:deb/debian/libwebp7@1.2.4-0.2?arch=amd64', webpFinding.package.purl, true],
    ['qualifier with another value', 'pkg:deb/debian/libwebp7@1.2.4-0.2?arch=arm64', webpFinding.package.purl, false],
    ['encoded epoch version', 'pkg:deb/debian/zlib1g@1%3A1.2.13.dfsg-1', zlibFinding.package.purl, true],
    ['other name', 'pkg:npm/lodash-es', 'pkg:npm/lodash@4.17.20', false],
    ['other type', 'pkg:pypi/lodash', 'pkg:npm/lodash@4.17.20', false],
    ['other namespace', 'pkg:deb/ubuntu/zlib1g', zlibFinding.package.purl, false],
    ['not a purl', 'https://example.com/zlib1g', zlibFinding.package.purl, false],
  ])('%s', (_name, product, purl, expected) => {
    expect(productPurlMatches(product, purl)).toBe(expected);
  });

  it.each([
    ['digest purl', 'pkg:oci/web@sha256%3A3c5b2a1f9e8d7c6b5a4938271605f4e3d2c1b0a9f8e7d6c5b4a3928170f6e5d4', true],
    ['other digest', 'pkg:oci/web@sha256%3A0000000000000000000000000000000000000000000000000000000000000000', false],
    ['name and repository_url', 'pkg:oci/web?repository_url=registry.example.com:5000/shop/web', true],
    ['name, other repository', 'pkg:oci/web?repository_url=docker.io/library/web', false],
    ['the reference itself', 'registry.example.com:5000/shop/web:1.4.2', true],
    ['a package purl', 'pkg:npm/lodash', false],
  ])('image product: %s', (_name, product, expected) => {
    expect(productIsTarget(product, target)).toBe(expected);
  });
});

describe('loadVex and vexDecision', async () => {
  const set = await loadVex([join(fixtures, 'web.openvex.json')]);

  it('keeps valid statements and skips (and counts) a not_affected statement without justification', () => {
    expect(set.statements.length).toBe(3);
    expect(set.skipped).toBe(1);
    expect(set.problems).toEqual([{ document: DOC, index: 3, problem: '(statement): not_affected needs a justification or impact_statement' }]);
  });

  it.each<[string, Finding, unknown]>([
    [
      'not_affected with a versionless product purl suppresses',
      zlibFinding,
      { status: 'not_affected', justification: 'vulnerable_code_not_present', impactStatement: 'zlib1g does not ship minizip', document: DOC },
    ],
    ['affected keeps the finding', webpFinding, undefined],
    ['not_affected on an image subcomponent, matched through the CVE alias, suppresses', lodashFinding, { status: 'not_affected', justification: 'vulnerable_code_not_in_execute_path', document: DOC }],
    ['an invalid statement decides nothing', tarFinding, undefined],
  ])('%s', (_name, finding, expected) => {
    expect(vexDecision(set, finding, target)).toEqual(expected);
  });

  it('does not apply a subcomponent statement to another image', () => {
    expect(vexDecision(set, lodashFinding, { kind: 'image', reference: 'docker.io/library/node:20', digest: 'sha256:aa' })).toBeUndefined();
  });

  it.each([
    ['the later statement wins (fixed after affected)', [['affected', '2026-11-01T00:00:00Z'], ['fixed', '2026-11-10T00:00:00Z']], 'fixed'],
    ['the later statement wins (affected after not_affected)', [['not_affected', '2026-11-10T00:00:00Z'], ['affected', '2026-11-01T00:00:00Z']], 'not_affected'],
    ['under_investigation keeps', [['under_investigation', '2026-11-10T00:00:00Z']], undefined],
    ['equal times: the later one in the file wins', [['not_affected', '2026-11-10T00:00:00Z'], ['affected', '2026-11-10T00:00:00Z']], undefined],
  ])('%s', (_name, statements, expected) => {
    const local = parseVexDocument(
      doc(statements.map(([status, timestamp]) => ({ vulnerability: { name: 'CVE-2023-4863' }, products: [{ '@id': 'pkg:deb/debian/libwebp7' }], status, timestamp, justification: 'inline_mitigations_already_exist' }))),
      'x.json',
    );
    expect(vexDecision(local, webpFinding, target)?.status).toBe(expected);
  });

  it('accepts the v0.0.1 string forms of vulnerability and products', () => {
    const local = parseVexDocument(
      { '@context': 'https://openvex.dev/ns', '@id': 'old', statements: [{ vulnerability: 'CVE-2023-45853', products: ['pkg:deb/debian/zlib1g'], status: 'fixed' }] },
      'old.json',
    );
    expect(vexDecision(local, zlibFinding, target)).toEqual({ status: 'fixed', document: 'old' });
  });

  it.each([
    ['a CycloneDX file', { bomFormat: 'CycloneDX', specVersion: '1.6' }, 'VEX file bom.json is not an OpenVEX document: @context: Invalid input: expected string, received undefined'],
    ['another @context', { '@context': 'https://cyclonedx.org', statements: [] }, 'VEX file bom.json is not an OpenVEX document: @context: not an OpenVEX document (@context must be https://openvex.dev/ns/…)'],
  ])('rejects %s with the file name', (_name, value, message) => {
    expect(() => parseVexDocument(value, 'bom.json')).toThrow(message);
  });

  it.each([
    ['a file that is not JSON', 'malformed-ignore.yaml', /^VEX file .*malformed-ignore\.yaml is not valid JSON \(Unexpected token 'i', "ignores: "... is not valid JSON\); pass an OpenVEX JSON document$/],
    ['a missing file', 'missing.openvex.json', /^cannot read VEX file .*missing\.openvex\.json: ENOENT: no such file or directory.*; check the --vex path$/],
  ])('names %s', async (_name, name, message) => {
    await expect(loadVex([join(fixtures, name)])).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringMatching(message) });
  });
});

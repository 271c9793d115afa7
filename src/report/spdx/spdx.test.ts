import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { lodash, sampleReport } from '../__fixtures__/report.js';
import { buildSpdx, spdxFormatter, spdxPackageId } from './index.js';

/** The required structure of SPDX 2.3 JSON (spdx-schema.json) for what Palisade writes. */
const spdxId = z.string().regex(/^SPDXRef-[A-Za-z0-9.-]+$/);
const spdxSchema = z.object({
  spdxVersion: z.literal('SPDX-2.3'),
  dataLicense: z.literal('CC0-1.0'),
  SPDXID: z.literal('SPDXRef-DOCUMENT'),
  name: z.string().min(1),
  documentNamespace: z.string().url().refine((u) => !u.includes('#'), 'no fragment'),
  creationInfo: z.object({ created: z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/), creators: z.array(z.string().regex(/^(Tool|Organization|Person): .+/)).min(1) }),
  packages: z.array(
    z.object({
      SPDXID: spdxId,
      name: z.string().min(1),
      versionInfo: z.string().optional(),
      downloadLocation: z.string().min(1),
      filesAnalyzed: z.boolean(),
      licenseConcluded: z.string(),
      licenseDeclared: z.string(),
      copyrightText: z.string(),
      primaryPackagePurpose: z.enum(['APPLICATION', 'FRAMEWORK', 'LIBRARY', 'CONTAINER', 'OPERATING-SYSTEM', 'DEVICE', 'FIRMWARE', 'SOURCE', 'ARCHIVE', 'FILE', 'INSTALL', 'OTHER']),
      externalRefs: z
        .array(z.object({ referenceCategory: z.enum(['SECURITY', 'PACKAGE-MANAGER', 'PERSISTENT-ID', 'OTHER']), referenceType: z.string(), referenceLocator: z.string() }))
        .optional(),
      checksums: z.array(z.object({ algorithm: z.literal('SHA256'), checksumValue: z.string().regex(/^[a-f0-9]{64}$/) })).optional(),
    }),
  ),
  relationships: z.array(z.object({ spdxElementId: spdxId, relationshipType: z.enum(['DESCRIBES', 'CONTAINS']), relatedSpdxElement: spdxId })),
});

describe('spdx writer', () => {
  const doc = spdxSchema.parse(JSON.parse(spdxFormatter.render(sampleReport())));
  const root = doc.packages[0];

  it('has a document header with creation info from the report clock', () => {
    expect(doc.name).toBe('registry.example.com:5000/shop/web:1.4.2');
    expect(doc.creationInfo).toEqual({ created: '2026-11-27T00:40:00Z', creators: ['Tool: palisade-0.1.0'] });
    expect(doc.documentNamespace).toMatch(/^https:\/\/spdx\.org\/spdxdocs\/palisade\/registry\.example\.com-5000-shop-web-1\.4\.2-[0-9a-f-]{36}$/);
  });

  it('describes the image as a CONTAINER package with its oci purl', () => {
    expect(root).toMatchObject({ SPDXID: 'SPDXRef-Image-registry.example.com-5000-shop-web', name: 'registry.example.com:5000/shop/web', versionInfo: '1.4.2', primaryPackagePurpose: 'CONTAINER' });
    expect(root?.externalRefs?.[0]?.referenceLocator).toMatch(/^pkg:oci\/web@sha256/);
  });

  it('lists every package with a PACKAGE-MANAGER purl, and unique ids', () => {
    const purls = doc.packages.flatMap((p) => p.externalRefs ?? []).filter((r) => r.referenceCategory === 'PACKAGE-MANAGER' && r.referenceType === 'purl').map((r) => r.referenceLocator);
    expect(purls.slice(1)).toEqual([
      'pkg:deb/debian/bash@5.2.15-2%2Bb2?arch=amd64&distro=debian-12',
      'pkg:deb/debian/libwebp7@1.2.4-0.2?arch=amd64&distro=debian-12',
      'pkg:deb/debian/tar@1.34%2Bdfsg-1.2%2Bdeb12u1?arch=amd64&distro=debian-12',
      'pkg:deb/debian/zlib1g@1%3A1.2.13.dfsg-1?arch=amd64&distro=debian-12',
      'pkg:npm/express@4.19.2',
      'pkg:npm/lodash@4.17.20',
    ]);
    expect(new Set(doc.packages.map((p) => p.SPDXID)).size).toBe(doc.packages.length);
  });

  it('relates DOCUMENT DESCRIBES image, and image CONTAINS the OS and each package', () => {
    expect(doc.relationships[0]).toEqual({ spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: root?.SPDXID });
    const contained = doc.relationships.filter((r) => r.relationshipType === 'CONTAINS');
    expect(contained.map((r) => r.relatedSpdxElement)).toEqual(doc.packages.slice(1).map((p) => p.SPDXID));
    expect(contained.every((r) => r.spdxElementId === root?.SPDXID)).toBe(true);
    expect(doc.packages[1]).toMatchObject({ SPDXID: 'SPDXRef-OperatingSystem-debian-12', primaryPackagePurpose: 'OPERATING-SYSTEM' });
  });

  it.each([
    ['lodash', 'MIT'],
    ['bash', 'NOASSERTION'],
  ])('declares the license of %s as %s', (name, license) => {
    expect(doc.packages.find((p) => p.name === name)?.licenseDeclared).toBe(license);
  });

  it('derives SPDXIDs from purl and location, stable across runs and reports', () => {
    expect(spdxPackageId(lodash)).toMatch(/^SPDXRef-Package-npm-lodash-[0-9a-f]{16}$/);
    expect(spdxPackageId(lodash)).toBe(spdxPackageId(structuredClone(lodash)));
    const moved = { ...lodash, locations: [{ path: '/srv/node_modules/lodash/package.json' }] };
    expect(spdxPackageId(moved)).not.toBe(spdxPackageId(lodash));
    const other = { ...sampleReport(), findings: [], createdAt: '2026-12-01T00:00:00.000Z' };
    expect(buildSpdx(other).packages.find((p) => p.name === 'lodash')?.SPDXID).toBe(spdxPackageId(lodash));
  });

  it('declares a licence expression only for SPDX-id-like values', () => {
    const odd = { ...lodash, licenses: ['GPL-2+ with exceptions'] };
    const out = buildSpdx({ ...sampleReport(), packages: [odd], findings: [] });
    expect(out.packages.find((p) => p.name === 'lodash')?.licenseDeclared).toBe('NOASSERTION');
  });
});

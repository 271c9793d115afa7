import type { Package } from '../../core/types.js';
import type { Formatter, ScanReport } from '../types.js';
import { sha256Hex, stableUuid } from '../ids.js';
import { allPackages, locationPaths, packageKey, parseImageName } from '../order.js';
import { imagePurl } from '../image-purl.js';

/**
 * SPDX 2.3 JSON: the target as the described package, every package found CONTAINed in it, with its
 * purl as a PACKAGE-MANAGER external reference. SPDXIDs are derived from purl and location, so the
 * same image gives the same ids on every run.
 */

const NAMESPACE_BASE = 'https://spdx.org/spdxdocs/palisade';

export interface SpdxPackage {
  SPDXID: string;
  name: string;
  versionInfo?: string;
  downloadLocation: string;
  filesAnalyzed: false;
  licenseConcluded: string;
  licenseDeclared: string;
  copyrightText: string;
  primaryPackagePurpose: 'CONTAINER' | 'OPERATING-SYSTEM' | 'LIBRARY' | 'APPLICATION' | 'FILE';
  sourceInfo?: string;
  externalRefs?: { referenceCategory: 'PACKAGE-MANAGER'; referenceType: 'purl'; referenceLocator: string }[];
  checksums?: { algorithm: 'SHA256'; checksumValue: string }[];
}

export interface SpdxDocument {
  spdxVersion: 'SPDX-2.3';
  dataLicense: 'CC0-1.0';
  SPDXID: 'SPDXRef-DOCUMENT';
  name: string;
  documentNamespace: string;
  creationInfo: { created: string; creators: string[] };
  documentDescribes: string[];
  packages: SpdxPackage[];
  relationships: { spdxElementId: string; relationshipType: 'DESCRIBES' | 'CONTAINS'; relatedSpdxElement: string }[];
}

/** SPDX ids allow letters, digits, '.' and '-'. */
function idPart(text: string): string {
  return text.replace(/[^A-Za-z0-9.-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 64) || 'x';
}

export function spdxPackageId(pkg: Package): string {
  return `SPDXRef-Package-${idPart(pkg.type)}-${idPart(pkg.name)}-${sha256Hex(packageKey(pkg)).slice(0, 16)}`;
}

/** A declared license only when every entry looks like an SPDX license id; anything else is NOASSERTION. */
function declaredLicense(pkg: Package): string {
  const licenses = [...new Set(pkg.licenses ?? [])].sort();
  if (licenses.length === 0 || !licenses.every((l) => /^[A-Za-z0-9][A-Za-z0-9.+-]*$/.test(l))) return 'NOASSERTION';
  return licenses.length === 1 ? licenses[0] ?? 'NOASSERTION' : licenses.join(' AND ');
}

/** SPDX wants `YYYY-MM-DDThh:mm:ssZ` (no fractional seconds). */
function spdxTime(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : `${date.toISOString().slice(0, 19)}Z`;
}

export function buildSpdx(report: ScanReport): SpdxDocument {
  const packages = allPackages(report);
  const purl = imagePurl(report);
  const image = report.target.kind === 'image' ? parseImageName(report.target.reference, report.target.digest) : undefined;
  const digestHex = image?.digest?.startsWith('sha256:') ? image.digest.slice('sha256:'.length) : undefined;
  const rootId = `SPDXRef-${report.target.kind === 'image' ? 'Image' : 'Target'}-${idPart(image?.repository ?? report.target.reference)}`;
  const root: SpdxPackage = {
    SPDXID: rootId,
    name: image?.repository ?? report.target.reference,
    ...(image?.tag ?? image?.digest ? { versionInfo: image?.tag ?? image?.digest } : {}),
    downloadLocation: 'NOASSERTION',
    filesAnalyzed: false,
    licenseConcluded: 'NOASSERTION',
    licenseDeclared: 'NOASSERTION',
    copyrightText: 'NOASSERTION',
    primaryPackagePurpose: report.target.kind === 'image' ? 'CONTAINER' : report.target.kind === 'rootfs' ? 'FILE' : 'APPLICATION',
    ...(purl ? { externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: purl }] } : {}),
    ...(digestHex ? { checksums: [{ algorithm: 'SHA256', checksumValue: digestHex }] } : {}),
  };
  const children: SpdxPackage[] = [];
  if (report.distro) {
    children.push({
      SPDXID: `SPDXRef-OperatingSystem-${idPart(report.distro.id)}-${idPart(report.distro.versionId)}`,
      name: report.distro.id,
      ...(report.distro.versionId ? { versionInfo: report.distro.versionId } : {}),
      downloadLocation: 'NOASSERTION',
      filesAnalyzed: false,
      licenseConcluded: 'NOASSERTION',
      licenseDeclared: 'NOASSERTION',
      copyrightText: 'NOASSERTION',
      primaryPackagePurpose: 'OPERATING-SYSTEM',
    });
  }
  for (const pkg of packages) {
    const paths = locationPaths(pkg);
    children.push({
      SPDXID: spdxPackageId(pkg),
      name: pkg.name,
      versionInfo: pkg.version,
      downloadLocation: 'NOASSERTION',
      filesAnalyzed: false,
      licenseConcluded: 'NOASSERTION',
      licenseDeclared: declaredLicense(pkg),
      copyrightText: 'NOASSERTION',
      primaryPackagePurpose: 'LIBRARY',
      ...(paths.length > 0 ? { sourceInfo: `acquired package info from ${paths.join(', ')}` } : {}),
      externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: pkg.purl }],
    });
  }
  const name = report.target.reference;
  const identity = `${report.target.reference}\u0000${report.target.digest ?? ''}\u0000${report.createdAt}`;
  return {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name,
    documentNamespace: `${NAMESPACE_BASE}/${idPart(name)}-${stableUuid(identity)}`,
    creationInfo: { created: spdxTime(report.createdAt), creators: [`Tool: ${report.tool.name}-${report.tool.version}`] },
    documentDescribes: [rootId],
    packages: [root, ...children],
    relationships: [
      { spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: rootId },
      ...children.map((c) => ({ spdxElementId: rootId, relationshipType: 'CONTAINS' as const, relatedSpdxElement: c.SPDXID })),
    ],
  };
}

export const spdxFormatter = {
  id: 'spdx',
  description: 'SPDX 2.3 JSON SBOM',
  render(report) {
    return `${JSON.stringify(buildSpdx(report), null, 2)}\n`;
  },
} satisfies Formatter;

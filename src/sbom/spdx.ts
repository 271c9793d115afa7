import { z } from 'zod';
import { AppError, type Distro } from '../core/index.js';
import { PackageCollector } from './collect.js';
import type { PackageDocument } from './types.js';

const ExternalRefSchema = z.object({
  referenceCategory: z.string(),
  referenceType: z.string(),
  referenceLocator: z.string(),
});

const SpdxPackageSchema = z.object({
  SPDXID: z.string().optional(),
  name: z.string(),
  versionInfo: z.string().optional(),
  sourceInfo: z.string().optional(),
  primaryPackagePurpose: z.string().optional(),
  externalRefs: z.array(z.unknown()).optional(),
});

export const SpdxSchema = z.object({
  spdxVersion: z.string().regex(/^SPDX-2\.[23]$/, 'expected "SPDX-2.3" (or "SPDX-2.2")'),
  packages: z.array(z.unknown()).optional(),
});

/** Trivy writes the source package as `sourceInfo: "built package from: openssl 3.0.11-1~deb12u2"`. */
function sourceFromInfo(info: string | undefined): { name: string; version?: string } | undefined {
  const match = info ? /^built package from: (\S+)(?: (\S+))?$/.exec(info.trim()) : null;
  if (!match?.[1]) return undefined;
  return match[2] ? { name: match[1], version: match[2] } : { name: match[1] };
}

/** SPDX 2.3 JSON: every package with a `PACKAGE-MANAGER` purl external reference. */
export function readSpdx(value: unknown, file: string): PackageDocument {
  const parsed = SpdxSchema.safeParse(value);
  if (!parsed.success) {
    throw new AppError('BAD_INPUT', `${file}: not a usable SPDX document: ${z.prettifyError(parsed.error)}`, { details: { file } });
  }
  const collector = new PackageCollector(file);
  let distro: Distro | undefined;
  parsed.data.packages?.forEach((raw, i) => {
    const ref = `packages[${i}]`;
    const entry = SpdxPackageSchema.safeParse(raw);
    if (!entry.success) {
      collector.skip(ref, `invalid package: ${entry.error.issues[0]?.message ?? 'unknown problem'}`);
      return;
    }
    const p = entry.data;
    const named = `${ref} (${p.name})`;
    if (p.primaryPackagePurpose === 'OPERATING-SYSTEM') {
      if (!distro && p.versionInfo) distro = { id: p.name.toLowerCase(), versionId: p.versionInfo };
      return;
    }
    let purl: string | undefined;
    for (const rawRef of p.externalRefs ?? []) {
      const ext = ExternalRefSchema.safeParse(rawRef);
      if (
        ext.success &&
        ext.data.referenceType === 'purl' &&
        (ext.data.referenceCategory === 'PACKAGE-MANAGER' || ext.data.referenceCategory === 'PACKAGE_MANAGER')
      ) {
        purl = ext.data.referenceLocator;
        break;
      }
    }
    if (!purl) {
      // Files, the document's root and the scanned image carry no purl; only count real packages.
      if (p.primaryPackagePurpose === undefined || p.primaryPackagePurpose === 'LIBRARY') collector.skip(named, 'no purl');
      return;
    }
    const fields: Parameters<PackageCollector['add']>[0] = { ref: named, purl };
    if (p.versionInfo) fields.version = p.versionInfo;
    const source = sourceFromInfo(p.sourceInfo);
    if (source) fields.source = source;
    collector.add(fields);
  });
  return collector.finish('spdx', distro);
}

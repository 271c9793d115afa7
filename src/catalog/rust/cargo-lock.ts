import { z } from 'zod';
import type { Package, PackageLocation } from '../../core/index.js';
import { AppError } from '../../core/index.js';
import type { CatalogFile } from '../types.js';
import { languagePackage, locationOf, parseToml, type ParseOutcome } from '../generic.js';
import { buildPurl } from '../purl.js';

const CRATE_NAME = /^[A-Za-z0-9_-]+$/;
const CRATE_VERSION = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

export function cratePackage(name: string, version: string, location: PackageLocation): Package | undefined {
  if (!CRATE_NAME.test(name) || !CRATE_VERSION.test(version)) return undefined;
  return languagePackage({ type: 'cargo', name, version, purl: buildPurl({ type: 'cargo', name, version }) }, location);
}

const lockSchema = z.object({ package: z.array(z.unknown()).optional() });
const lockPackage = z.object({ name: z.string(), version: z.string(), source: z.string().optional() });

/**
 * Cargo.lock, format versions 1 to 4: `[[package]]` tables. Packages without `source` are the
 * workspace's own crates (path dependencies) and are not reported.
 */
export function parseCargoLock(file: CatalogFile): ParseOutcome {
  const doc = lockSchema.safeParse(parseToml(file.bytes.toString('utf8'), file.path));
  if (!doc.success) {
    throw new AppError('BAD_INPUT', `${file.path}: "package" is not an array of tables, so this is not a Cargo.lock`, {
      details: { path: file.path },
    });
  }
  const location = locationOf(file);
  const packages: Package[] = [];
  let skipped = 0;
  for (const raw of doc.data.package ?? []) {
    const entry = lockPackage.safeParse(raw);
    if (!entry.success) {
      skipped++;
      continue;
    }
    if (entry.data.source === undefined) continue;
    const pkg = cratePackage(entry.data.name, entry.data.version, location);
    if (pkg) packages.push(pkg);
    else skipped++;
  }
  return { packages, skipped };
}

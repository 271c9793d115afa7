import { z } from 'zod';
import type { Package } from '../../core/index.js';
import { AppError } from '../../core/index.js';
import type { CatalogFile } from '../types.js';
import { locationOf, parseJsonFile, type ParseOutcome } from '../generic.js';
import { isNpmName, isNpmVersion, npmLicenseFields, npmLicenses, npmPackage, unalias } from './common.js';

const NODE_MODULES = 'node_modules/';

/** v2/v3 `packages` entry. */
const packageEntry = z.object({
  name: z.string().optional().catch(undefined),
  version: z.string().optional().catch(undefined),
  link: z.boolean().optional().catch(undefined),
  dev: z.boolean().optional().catch(undefined),
  ...npmLicenseFields,
});

/** v1 `dependencies` entry; its own `dependencies` are walked one level at a time. */
const v1Dependency = z.object({
  version: z.string().optional().catch(undefined),
  dev: z.boolean().optional().catch(undefined),
  dependencies: z.record(z.string(), z.unknown()).optional().catch(undefined),
});

const lockSchema = z.object({
  lockfileVersion: z.number().int().optional(),
  packages: z.record(z.string(), z.unknown()).optional(),
  dependencies: z.record(z.string(), z.unknown()).optional(),
});

/**
 * package-lock.json / npm-shrinkwrap.json, lockfile versions 1, 2 and 3. v2/v3 are read from
 * `packages` (keys `node_modules/a/node_modules/b`; the root "" entry, workspace folders and
 * `link: true` entries are the app itself and are not reported); v1 from the nested `dependencies`.
 * Dev-only dependencies (`dev: true`) are skipped: production images are installed without them.
 * Entries that are not registry packages (git, file: or tarball versions) are skipped and counted.
 */
export function parsePackageLock(file: CatalogFile): ParseOutcome {
  const parsed = lockSchema.safeParse(parseJsonFile(file, 'npm lockfile'));
  if (!parsed.success) {
    throw new AppError('BAD_INPUT', `${file.path} is not an npm lockfile (expected an object with "packages" or "dependencies")`, {
      details: { path: file.path },
    });
  }
  const location = locationOf(file);
  const packages: Package[] = [];
  let skipped = 0;

  if (parsed.data.packages !== undefined) {
    for (const [key, raw] of Object.entries(parsed.data.packages)) {
      const at = key.lastIndexOf(NODE_MODULES);
      if (at < 0 || (at > 0 && key[at - 1] !== '/')) continue; // "" root, workspace folders
      const entry = packageEntry.safeParse(raw);
      if (!entry.success) {
        skipped++;
        continue;
      }
      if (entry.data.link === true || entry.data.dev === true) continue;
      const dirName = key.slice(at + NODE_MODULES.length);
      const { name, version } = unalias(entry.data.name ?? dirName, entry.data.version ?? '');
      if (!isNpmName(name) || !isNpmVersion(version)) {
        skipped++;
        continue;
      }
      packages.push(npmPackage(name, version, location, npmLicenses(entry.data)));
    }
    return { packages, skipped };
  }

  const walk = (deps: Record<string, unknown>, depth: number): void => {
    if (depth > 64) throw new AppError('BAD_INPUT', `${file.path}: npm lockfile dependencies nest deeper than 64 levels`);
    for (const [key, raw] of Object.entries(deps)) {
      const entry = v1Dependency.safeParse(raw);
      if (!entry.success) {
        skipped++;
        continue;
      }
      if (entry.data.dependencies) walk(entry.data.dependencies, depth + 1);
      if (entry.data.dev === true) continue;
      const { name, version } = unalias(key, entry.data.version ?? '');
      if (!isNpmName(name) || !isNpmVersion(version)) {
        skipped++;
        continue;
      }
      packages.push(npmPackage(name, version, location));
    }
  };
  walk(parsed.data.dependencies ?? {}, 0);
  return { packages, skipped };
}

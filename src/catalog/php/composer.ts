import { z } from 'zod';
import type { Package } from '../../core/index.js';
import { AppError } from '../../core/index.js';
import type { CatalogFile } from '../types.js';
import { languagePackage, locationOf, parseJsonFile, type ParseOutcome } from '../generic.js';
import { buildPurl } from '../purl.js';

const composerPackage = z.object({
  name: z.string(),
  version: z.string(),
  license: z.union([z.array(z.string()), z.string()]).optional().catch(undefined),
});

const NAME = /^[a-z0-9]([_.-]?[a-z0-9]+)*\/[a-z0-9](([_.]|-{1,2})?[a-z0-9]+)*$/;

/**
 * One Composer package. The version is kept as Composer reports it (`v5.4.0` stays `v5.4.0`, as in
 * the lockfile and in Packagist advisories); `dev-main` style branch versions are skipped.
 */
function toPackage(raw: unknown, file: CatalogFile): Package | undefined {
  const parsed = composerPackage.safeParse(raw);
  if (!parsed.success) return undefined;
  const { name, version, license } = parsed.data;
  if (!NAME.test(name) || version === '' || version.startsWith('dev-') || /\s/.test(version)) return undefined;
  const [vendor, project] = name.split('/');
  const purl = buildPurl({ type: 'composer', namespace: vendor, name: project ?? '', version });
  const licenses = typeof license === 'string' ? [license] : (license ?? []);
  return languagePackage({ type: 'composer', name, version, purl, licenses }, locationOf(file));
}

function collect(list: readonly unknown[], file: CatalogFile): ParseOutcome {
  const packages: Package[] = [];
  let skipped = 0;
  for (const raw of list) {
    const pkg = toPackage(raw, file);
    if (pkg) packages.push(pkg);
    else skipped++;
  }
  return { packages, skipped };
}

const lockSchema = z.object({
  packages: z.array(z.unknown()).optional(),
  'packages-dev': z.array(z.unknown()).nullable().optional(),
});

/** composer.lock: `packages` and `packages-dev` (both are what the lockfile pins). */
export function parseComposerLock(file: CatalogFile): ParseOutcome {
  const doc = lockSchema.safeParse(parseJsonFile(file, 'Composer lockfile'));
  if (!doc.success) {
    throw new AppError('BAD_INPUT', `${file.path} is not a composer.lock (expected "packages" as an array)`, {
      details: { path: file.path },
    });
  }
  return collect([...(doc.data.packages ?? []), ...(doc.data['packages-dev'] ?? [])], file);
}

const installedSchema = z.union([z.array(z.unknown()), z.object({ packages: z.array(z.unknown()) })]);

/** vendor/composer/installed.json: Composer 1 (an array) and Composer 2 (`{ packages: [...] }`). */
export function parseInstalledJson(file: CatalogFile): ParseOutcome {
  const doc = installedSchema.safeParse(parseJsonFile(file, 'Composer installed.json'));
  if (!doc.success) {
    throw new AppError('BAD_INPUT', `${file.path} is not a Composer installed.json (expected an array or {"packages": [...]})`, {
      details: { path: file.path },
    });
  }
  return collect(Array.isArray(doc.data) ? doc.data : doc.data.packages, file);
}

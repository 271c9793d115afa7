import { z } from 'zod';
import type { Package } from '../../core/index.js';
import { AppError } from '../../core/index.js';
import type { CatalogFile } from '../types.js';
import { languagePackage, locationOf, parseJsonFile, type ParseOutcome } from '../generic.js';
import { buildPurl } from '../purl.js';

const depsSchema = z.object({
  libraries: z.record(z.string(), z.unknown()).optional(),
});
const library = z.object({ type: z.string() });

const NUGET_ID = /^[A-Za-z0-9_.-]+$/;
const NUGET_VERSION = /^\d+(?:\.\d+){1,3}(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

/**
 * `*.deps.json` of a .NET application: `libraries` entries of type `package`, keyed `Name/Version`.
 * `project` (the app itself) and `reference`/`runtimepack` entries are not NuGet packages.
 */
export function parseDepsJson(file: CatalogFile): ParseOutcome {
  const doc = depsSchema.safeParse(parseJsonFile(file, '.NET dependency manifest'));
  if (!doc.success) {
    throw new AppError('BAD_INPUT', `${file.path} is not a .NET deps.json (expected "libraries" as an object)`, {
      details: { path: file.path },
    });
  }
  const location = locationOf(file);
  const packages: Package[] = [];
  let skipped = 0;
  for (const [key, raw] of Object.entries(doc.data.libraries ?? {})) {
    const entry = library.safeParse(raw);
    if (!entry.success) {
      skipped++;
      continue;
    }
    if (entry.data.type !== 'package') continue;
    const slash = key.indexOf('/');
    const name = slash > 0 ? key.slice(0, slash) : '';
    const version = slash > 0 ? key.slice(slash + 1) : '';
    if (!NUGET_ID.test(name) || !NUGET_VERSION.test(version)) {
      skipped++;
      continue;
    }
    packages.push(languagePackage({ type: 'nuget', name, version, purl: buildPurl({ type: 'nuget', name, version }) }, location));
  }
  return { packages, skipped };
}

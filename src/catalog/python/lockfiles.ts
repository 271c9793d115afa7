import { z } from 'zod';
import type { Package } from '../../core/index.js';
import { AppError } from '../../core/index.js';
import type { CatalogFile } from '../types.js';
import { locationOf, parseJsonFile, parseToml, type ParseOutcome } from '../generic.js';
import { isPythonName, isPythonVersion, pythonPackage } from './common.js';

const tomlPackage = z.object({
  name: z.string(),
  version: z.string(),
  category: z.string().optional().catch(undefined),
  source: z
    .object({
      type: z.string().optional().catch(undefined),
      // uv.lock source forms
      editable: z.string().optional().catch(undefined),
      virtual: z.string().optional().catch(undefined),
      directory: z.string().optional().catch(undefined),
      path: z.string().optional().catch(undefined),
    })
    .optional()
    .catch(undefined),
});

const tomlLock = z.object({ package: z.array(z.unknown()).optional() });

/** Local sources: the project itself or a folder on the build machine, not a published release. */
function isLocalSource(source: z.infer<typeof tomlPackage>['source']): boolean {
  if (!source) return false;
  if (source.type === 'directory' || source.type === 'file') return true;
  return source.editable !== undefined || source.virtual !== undefined || source.directory !== undefined || source.path !== undefined;
}

/**
 * poetry.lock and uv.lock: `[[package]]` tables with name and version. Local projects (poetry
 * `directory`/`file` sources, uv `editable`/`virtual`/`directory`/`path` sources — the app itself) are
 * not reported; poetry `category = "dev"` entries are skipped as dev-only.
 */
export function parseTomlLock(file: CatalogFile, kind: 'poetry' | 'uv'): ParseOutcome {
  const doc = tomlLock.safeParse(parseToml(file.bytes.toString('utf8'), file.path));
  if (!doc.success) {
    throw new AppError('BAD_INPUT', `${file.path}: "package" is not an array of tables, so this is not a ${kind} lockfile`, {
      details: { path: file.path },
    });
  }
  const location = locationOf(file);
  const packages: Package[] = [];
  let skipped = 0;
  for (const raw of doc.data.package ?? []) {
    const entry = tomlPackage.safeParse(raw);
    if (!entry.success) {
      skipped++;
      continue;
    }
    const { name, version, category, source } = entry.data;
    if (isLocalSource(source) || category === 'dev') continue;
    if (!isPythonName(name) || !isPythonVersion(version)) {
      skipped++;
      continue;
    }
    packages.push(pythonPackage(name, version, location));
  }
  return { packages, skipped };
}

const pipfileLock = z.object({
  _meta: z.object({}).loose().optional(),
  default: z.record(z.string(), z.unknown()).optional(),
});
const pipfileEntry = z.object({ version: z.string() });

/** Pipfile.lock: the `default` section (`"version": "==2.28.1"`); `develop` is dev-only and skipped. */
export function parsePipfileLock(file: CatalogFile): ParseOutcome {
  const doc = pipfileLock.safeParse(parseJsonFile(file, 'Pipfile lockfile'));
  if (!doc.success) {
    throw new AppError('BAD_INPUT', `${file.path} is not a Pipfile.lock (expected an object with a "default" section)`, {
      details: { path: file.path },
    });
  }
  const location = locationOf(file);
  const packages: Package[] = [];
  let skipped = 0;
  for (const [name, raw] of Object.entries(doc.data.default ?? {})) {
    const entry = pipfileEntry.safeParse(raw);
    const version = entry.success && entry.data.version.startsWith('==') ? entry.data.version.replace(/^===?/, '') : '';
    if (!isPythonName(name) || !isPythonVersion(version)) {
      skipped++; // editable/git/path entries carry no version
      continue;
    }
    packages.push(pythonPackage(name, version, location));
  }
  return { packages, skipped };
}

import { z } from 'zod';
import type { CatalogFile } from '../types.js';
import { locationOf, parseJsonFile, type ParseOutcome } from '../generic.js';
import { isNpmName, isNpmVersion, npmLicenseFields, npmLicenses, npmPackage } from './common.js';

const NODE_MODULES = '/node_modules/';

/**
 * True for `…/node_modules/<name>/package.json` and `…/node_modules/@scope/<name>/package.json`
 * only: the manifest of an installed package, not test fixtures or sub-folder manifests inside it,
 * and never the application's own root package.json (which is the app, not a dependency).
 */
export function isInstalledManifest(path: string): boolean {
  if (!path.endsWith('/package.json')) return false;
  const at = path.lastIndexOf(NODE_MODULES);
  if (at < 0) return false;
  const rest = path.slice(at + NODE_MODULES.length, path.length - '/package.json'.length);
  const slash = rest.indexOf('/');
  if (slash < 0) return rest !== '' && !rest.startsWith('.') && !rest.startsWith('@');
  return rest.startsWith('@') && slash > 1 && slash < rest.length - 1 && rest.indexOf('/', slash + 1) < 0;
}

const manifestSchema = z.object({
  name: z.string().optional().catch(undefined),
  version: z.string().optional().catch(undefined),
  ...npmLicenseFields,
});

export function parseInstalledManifest(file: CatalogFile): ParseOutcome {
  const parsed = manifestSchema.safeParse(parseJsonFile(file, 'npm package manifest'));
  if (!parsed.success) return { packages: [], skipped: 1 };
  const { name, version } = parsed.data;
  if (name === undefined || version === undefined || !isNpmName(name) || !isNpmVersion(version)) {
    return { packages: [], skipped: 1 };
  }
  return { packages: [npmPackage(name, version, locationOf(file), npmLicenses(parsed.data))], skipped: 0 };
}

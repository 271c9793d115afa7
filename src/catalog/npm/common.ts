import { z } from 'zod';
import type { Package, PackageLocation } from '../../core/index.js';
import { languagePackage } from '../generic.js';
import { buildPurl } from '../purl.js';

/** A package name npm accepts: `name` or `@scope/name`, no spaces or path tricks. */
const NPM_NAME = /^(@[a-z0-9][\w.~-]*\/)?[a-z0-9_.~-][\w.~-]*$/i;

export function isNpmName(name: string): boolean {
  return name.length <= 214 && NPM_NAME.test(name);
}

/** A plain semver version (what the registry serves); git URLs, tarball paths and ranges are not. */
const NPM_VERSION = /^v?\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

export function isNpmVersion(version: string): boolean {
  return NPM_VERSION.test(version);
}

export function npmPackage(name: string, version: string, location: PackageLocation, licenses?: readonly string[]): Package {
  const slash = name.startsWith('@') ? name.indexOf('/') : -1;
  const purl = buildPurl({
    type: 'npm',
    namespace: slash > 0 ? name.slice(0, slash) : undefined,
    name: slash > 0 ? name.slice(slash + 1) : name,
    version,
  });
  return languagePackage({ type: 'npm', name, version, purl, licenses }, location);
}

const licenseEntry = z.union([z.string(), z.object({ type: z.string() }).loose()]);

/** package.json `license` (string or legacy {type}) and legacy `licenses` array. */
export const npmLicenseFields = {
  license: licenseEntry.optional().catch(undefined),
  licenses: z.array(licenseEntry).optional().catch(undefined),
};

export function npmLicenses(fields: {
  license?: z.infer<typeof licenseEntry> | undefined;
  licenses?: z.infer<typeof licenseEntry>[] | undefined;
}): string[] {
  const all = [fields.license, ...(fields.licenses ?? [])];
  return all.flatMap((l) => (l === undefined ? [] : [typeof l === 'string' ? l : l.type]));
}

/**
 * `npm:real-name@1.2.3` (an aliased install) → the real name and version; anything else unchanged.
 */
export function unalias(name: string, version: string): { name: string; version: string } {
  if (!version.startsWith('npm:')) return { name, version };
  const spec = version.slice(4);
  const at = spec.lastIndexOf('@');
  if (at <= 0) return { name, version };
  return { name: spec.slice(0, at), version: spec.slice(at + 1) };
}

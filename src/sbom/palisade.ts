import { z } from 'zod';
import { buildPurl } from '../catalog/purl.js';
import { AppError, PACKAGE_TYPES, type Distro, type Package } from '../core/index.js';
import { PackageCollector } from './collect.js';
import { distroFromQualifier, isOsType, packageFromPurl } from './purl.js';
import type { PackageDocument } from './types.js';

const DistroSchema = z.object({ id: z.string().min(1), versionId: z.string(), codename: z.string().optional() });

const EntrySchema = z
  .object({
    type: z.enum(PACKAGE_TYPES).optional(),
    name: z.string().min(1).optional(),
    version: z.string().min(1).optional(),
    purl: z.string().min(1).optional(),
    source: z.object({ name: z.string().min(1), version: z.string().min(1).optional() }).optional(),
    arch: z.string().optional(),
    /** A Distro object or a purl-style `debian-12`. */
    distro: z.union([DistroSchema, z.string().min(1)]).optional(),
  })
  .refine((e) => e.purl !== undefined || (e.type !== undefined && e.name !== undefined && e.version !== undefined), {
    message: 'needs a purl, or type, name and version',
  });

export const PalisadeListSchema = z.object({
  distro: DistroSchema.optional(),
  packages: z.array(z.unknown()),
});

function toDistro(value: z.infer<typeof DistroSchema> | string): Distro {
  if (typeof value === 'string') return distroFromQualifier(value);
  const distro: Distro = { id: value.id.toLowerCase(), versionId: value.versionId };
  if (value.codename) distro.codename = value.codename;
  return distro;
}

/**
 * Palisade's own package list: `{ distro?, packages: [{ type?, name, version, purl?, source?, distro? }] }`.
 * Fields given explicitly win over what the purl says; the type may come from the purl alone.
 */
export function readPalisadeList(value: unknown, file: string): PackageDocument {
  const parsed = PalisadeListSchema.safeParse(value);
  if (!parsed.success) {
    throw new AppError('BAD_INPUT', `${file}: not a usable Palisade package list: ${z.prettifyError(parsed.error)}`, { details: { file } });
  }
  const collector = new PackageCollector(file);
  const distro = parsed.data.distro ? toDistro(parsed.data.distro) : undefined;
  parsed.data.packages.forEach((raw, i) => {
    const ref = `packages[${i}]`;
    const entry = EntrySchema.safeParse(raw);
    if (!entry.success) {
      collector.skip(ref, `invalid entry: ${entry.error.issues.map((issue) => `${issue.path.join('.') || 'entry'}: ${issue.message}`).join('; ')}`);
      return;
    }
    const e = entry.data;
    const named = `${ref} (${e.name ?? e.purl ?? ''})`;
    let base: Omit<Package, 'locations'>;
    if (e.purl) {
      const fromPurl = packageFromPurl(e.purl, e.version);
      if (!fromPurl.ok) {
        collector.skip(named, fromPurl.reason);
        return;
      }
      base = fromPurl.package;
      if (e.type && e.type !== base.type) {
        collector.skip(named, `type '${e.type}' contradicts the purl's type '${base.type}'`);
        return;
      }
    } else if (e.type && e.name && e.version) {
      base = { type: e.type, name: e.name, version: e.version, purl: '' };
    } else {
      collector.skip(named, 'needs a purl, or type, name and version');
      return;
    }
    const pkg: Package = { ...base, locations: [{ path: file }] };
    if (e.name) pkg.name = e.name;
    if (e.version) pkg.version = e.version;
    if (e.source) pkg.source = e.source;
    if (e.arch) pkg.arch = e.arch;
    if (e.distro && isOsType(pkg.type)) pkg.distro = toDistro(e.distro);
    if (!pkg.purl) pkg.purl = purlFor(pkg, pkg.distro ?? (isOsType(pkg.type) ? distro : undefined));
    collector.push(pkg);
  });
  return collector.finish('palisade', distro);
}

/** A purl for an entry given without one: namespaces split back out of npm/Maven/Go/Composer names. */
function purlFor(pkg: Package, distro: Distro | undefined): string {
  let namespace: string | undefined;
  let name = pkg.name;
  if (pkg.type === 'maven' && name.includes(':')) {
    [namespace, name] = [name.slice(0, name.indexOf(':')), name.slice(name.indexOf(':') + 1)];
  } else if ((pkg.type === 'npm' || pkg.type === 'golang' || pkg.type === 'composer') && name.includes('/')) {
    [namespace, name] = [name.slice(0, name.lastIndexOf('/')), name.slice(name.lastIndexOf('/') + 1)];
  } else if (isOsType(pkg.type) && distro) {
    namespace = distro.id;
  }
  return buildPurl({
    type: pkg.type,
    namespace,
    name,
    version: pkg.version,
    qualifiers: { arch: pkg.arch, distro: distro ? (distro.versionId ? `${distro.id}-${distro.versionId}` : distro.id) : undefined },
  });
}

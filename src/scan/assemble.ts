import { PackageURL } from 'packageurl-js';
import { OS_PACKAGE_TYPES, type Distro, type Package } from '../core/index.js';
import { buildPurl, distroQualifier } from '../catalog/purl.js';
import type { CatalogResult, DistroHint } from '../catalog/types.js';

export interface AssembledSbom {
  distro?: Distro;
  packages: Package[];
  /** Language packages whose files the OS package manager owns (marked `managedBy`). */
  ownedLanguagePackages: number;
}

/** One cataloger's result for one file, as the walker leaves it. */
export interface CatalogedFile {
  cataloger: string;
  result: CatalogResult;
}

/** purl namespaces of OS packages per distro id (`pkg:deb/ubuntu/...`, `pkg:apk/wolfi/...`). */
const OS_PURL_NAMESPACE: Record<string, string> = {
  debian: 'debian',
  ubuntu: 'ubuntu',
  alpine: 'alpine',
  wolfi: 'wolfi',
  chainguard: 'chainguard',
  rhel: 'redhat',
  centos: 'centos',
  rocky: 'rocky',
  almalinux: 'almalinux',
  ol: 'oracle',
  amzn: 'amazon',
  fedora: 'fedora',
  sles: 'suse',
  'opensuse-leap': 'opensuse',
  'opensuse-tumbleweed': 'opensuse',
};

function pickDistro(hints: DistroHint[]): Distro | undefined {
  let best: DistroHint | undefined;
  for (const hint of hints) if (!best || hint.priority > best.priority) best = hint;
  return best?.distro;
}

/** Gives an OS package its distro: the purl namespace and `distro` qualifier follow the image's OS. */
function withDistro(pkg: Package, distro: Distro): Package {
  const parsed = PackageURL.fromString(pkg.purl);
  const purl = buildPurl({
    type: pkg.type,
    namespace: OS_PURL_NAMESPACE[distro.id] ?? distro.id,
    name: parsed.name,
    version: parsed.version ?? undefined,
    qualifiers: { ...(parsed.qualifiers ?? {}), distro: distroQualifier(distro) },
    subpath: parsed.subpath ?? undefined,
  });
  return { ...pkg, distro, purl };
}

/** The OS package manager that owns every file a language package was found in, if any. */
function ownerOf(pkg: Package, owner: ReadonlyMap<string, string>): string | undefined {
  if (pkg.locations.length === 0) return undefined;
  const owners = pkg.locations.map((location) => owner.get(location.path));
  const first = owners[0];
  return first !== undefined && owners.every((o) => o === first) ? first : undefined;
}

function identity(pkg: Package): string {
  return `${pkg.type}\u0000${pkg.name}\u0000${pkg.version}\u0000${pkg.arch ?? ''}`;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Turns the per-file catalog results of a merged image filesystem into one SBOM:
 * - the distro is the highest-priority hint (os-release over the lesser release files);
 * - OS packages get the distro (and their purl its namespace and `distro` qualifier);
 * - language packages whose files the OS package manager owns are marked `managedBy` (the cataloger
 *   of that package manager): they stay in the SBOM, but the scan judges Debian's python3-requests
 *   by Debian's tracker (which knows its backports), not again by PyPI advisories;
 * - the same package found in several files (installed and in a lockfile) is one package with
 *   several locations;
 * - output is sorted, so two runs give the same bytes.
 */
export function assembleSbom(results: Iterable<CatalogedFile>): AssembledSbom {
  const hints: DistroHint[] = [];
  const owner = new Map<string, string>();
  const all: Package[] = [];
  for (const { cataloger, result } of results) {
    if (result.distro) hints.push(result.distro);
    for (const path of result.ownedFiles ?? []) owner.set(path, cataloger);
    for (const pkg of result.packages) all.push(pkg);
  }
  const distro = pickDistro(hints);

  const byIdentity = new Map<string, Package>();
  let ownedLanguagePackages = 0;
  for (const found of all) {
    const isOs = OS_PACKAGE_TYPES.includes(found.type);
    const managedBy = isOs ? undefined : ownerOf(found, owner);
    if (managedBy) ownedLanguagePackages += 1;
    const pkg = isOs && distro ? withDistro(found, distro) : managedBy ? { ...found, managedBy } : found;
    const key = identity(pkg);
    const existing = byIdentity.get(key);
    if (existing) {
      const seen = new Set(existing.locations.map((l) => `${l.path}\u0000${l.layer ?? ''}`));
      const extra = pkg.locations.filter((l) => !seen.has(`${l.path}\u0000${l.layer ?? ''}`));
      byIdentity.set(key, { ...existing, locations: [...existing.locations, ...extra] });
    } else {
      byIdentity.set(key, pkg);
    }
  }
  const packages = [...byIdentity.values()]
    .map((pkg) => ({ ...pkg, locations: [...pkg.locations].sort((a, b) => compareText(a.path, b.path)) }))
    .sort((a, b) => compareText(a.purl, b.purl) || compareText(a.locations[0]?.path ?? '', b.locations[0]?.path ?? ''));
  return { distro, packages, ownedLanguagePackages };
}

import type { Package, PackageLocation } from '../../core/index.js';
import type { CatalogFile } from '../types.js';
import { languagePackage, locationOf, type ParseOutcome } from '../generic.js';
import { buildPurl } from '../purl.js';
import { readGoBuildInfo, type GoModule } from './buildinfo.js';

/**
 * The Go toolchain version as a semantic version, the way the Go vulnerability database writes
 * stdlib versions: `go1.20.4` → `1.20.4`, `go1.20` → `1.20.0`, `go1.21rc2` → `1.21.0-rc.2`. Undefined
 * for development toolchains (`devel go1.22-abc`).
 */
export function goToolchainVersion(goVersion: string): string | undefined {
  const token = goVersion.split(/\s/)[0] ?? '';
  const match = /^go(\d+)\.(\d+)(?:\.(\d+))?(?:(rc|beta|alpha)(\d+))?$/.exec(token);
  if (!match) return undefined;
  const [, major, minor, patch, pre, preNum] = match;
  const base = `${major}.${minor}.${patch ?? '0'}`;
  return pre ? `${base}-${pre}.${preNum}` : base;
}

export function goModulePackage(path: string, version: string, location: PackageLocation): Package {
  const slash = path.lastIndexOf('/');
  const purl = buildPurl({
    type: 'golang',
    namespace: slash > 0 ? path.slice(0, slash) : undefined,
    name: slash > 0 ? path.slice(slash + 1) : path,
    version,
  });
  return languagePackage({ type: 'golang', name: path, version, purl }, location);
}

/** The module whose code is in the binary: the replacement when it names a version. */
function effective(mod: GoModule): GoModule | undefined {
  if (!mod.replace) return mod;
  // A replacement without a version is a local directory: what was built is not a published release.
  return mod.replace.version === '' ? undefined : mod.replace;
}

/**
 * Packages of a Go binary: the main module (not when its version is `(devel)`), each `dep` (with `=>`
 * replacements applied) and `stdlib` at the toolchain version. Non-Go files yield nothing.
 */
export function parseGoBinary(file: CatalogFile): ParseOutcome {
  const info = readGoBuildInfo(file.bytes);
  if (!info) return { packages: [], skipped: 0 };
  const location = locationOf(file);
  const packages: Package[] = [];
  let skipped = 0;
  const modules = info.main ? [info.main, ...info.deps] : info.deps;
  for (const mod of modules) {
    const used = effective(mod);
    if (!used || used.version === '' || used.version === '(devel)') {
      if (mod !== info.main) skipped++;
      continue;
    }
    packages.push(goModulePackage(used.path, used.version, location));
  }
  const stdlib = goToolchainVersion(info.goVersion);
  if (stdlib) {
    const purl = buildPurl({ type: 'golang', name: 'stdlib', version: stdlib });
    packages.push(languagePackage({ type: 'golang', name: 'stdlib', version: stdlib, purl }, location));
  } else {
    skipped++;
  }
  return { packages, skipped };
}

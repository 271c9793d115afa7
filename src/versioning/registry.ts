import { apk } from './apk/index.js';
import { composer } from './composer/index.js';
import { cran } from './cran/index.js';
import { dpkg } from './dpkg/index.js';
import { go } from './go/index.js';
import { hackage } from './hackage/index.js';
import { maven } from './maven/index.js';
import { nuget } from './nuget/index.js';
import { pep440 } from './pep440/index.js';
import { pub } from './pub/index.js';
import { rpm } from './rpm/index.js';
import { rubygems } from './rubygems/index.js';
import { semver } from './semver/index.js';
import type { SchemeId, VersionScheme } from './types.js';

/** Every version scheme, one per id (the compiler demands an entry for each SchemeId). */
export const SCHEMES: Record<SchemeId, VersionScheme> = {
  dpkg,
  rpm,
  apk,
  semver,
  go,
  pep440,
  maven,
  rubygems,
  nuget,
  composer,
  pub,
  cran,
  hackage,
};

/**
 * Language namespaces (src/core/namespaces.ts) and the scheme their versions follow. `cran` and
 * `hackage` have schemes but no namespace yet: Palisade catalogs no R or Haskell packages.
 */
const LANGUAGE_SCHEME: Record<string, SchemeId> = {
  npm: 'semver',
  'crates.io': 'semver',
  hex: 'semver',
  go: 'go',
  pypi: 'pep440',
  maven: 'maven',
  rubygems: 'rubygems',
  nuget: 'nuget',
  packagist: 'composer',
  pub: 'pub',
};

/** Distro ids (the part of '<id>:<release>' before the colon) and their package version scheme. */
const DISTRO_SCHEME: Record<string, SchemeId> = {
  debian: 'dpkg',
  ubuntu: 'dpkg',
  alpine: 'apk',
  wolfi: 'apk',
  chainguard: 'apk',
  rhel: 'rpm',
  centos: 'rpm',
  rocky: 'rpm',
  almalinux: 'rpm',
  ol: 'rpm',
  amzn: 'rpm',
  fedora: 'rpm',
  sles: 'rpm',
  'opensuse-leap': 'rpm',
  'opensuse-tumbleweed': 'rpm',
  mariner: 'rpm',
  azurelinux: 'rpm',
};

/**
 * The version scheme of an advisory namespace ('npm', 'pypi', 'debian:12', 'alpine:3.19', 'wolfi'
 * ...), or undefined for a namespace Palisade cannot order versions in.
 */
export function schemeForNamespace(namespace: string): VersionScheme | undefined {
  const language = Object.hasOwn(LANGUAGE_SCHEME, namespace) ? LANGUAGE_SCHEME[namespace] : undefined;
  if (language !== undefined) return SCHEMES[language];
  const colon = namespace.indexOf(':');
  const distro = colon >= 0 ? namespace.slice(0, colon) : namespace;
  if (colon >= 0 && colon === namespace.length - 1) return undefined;
  const id = Object.hasOwn(DISTRO_SCHEME, distro) ? DISTRO_SCHEME[distro] : undefined;
  return id === undefined ? undefined : SCHEMES[id];
}

import type { CatalogerVersion } from './cache.js';

/**
 * The id and version of every cataloger in SCAN_CATALOGERS (scan/catalogers.ts), written out so that
 * the scan cache's key can be computed without loading the catalogers: a re-scan answered by the
 * cache never needs them. cataloger-versions.test.ts checks this list against SCAN_CATALOGERS, so a
 * cataloger whose version is bumped (or a new one) fails that test until it is listed here too.
 */
export const SCAN_CATALOGER_VERSIONS: readonly CatalogerVersion[] = [
  { id: 'os-release', version: 1 },
  { id: 'dpkg', version: 1 },
  { id: 'apk', version: 1 },
  { id: 'rpm', version: 1 },
  { id: 'npm-installed', version: 1 },
  { id: 'npm-lockfile', version: 1 },
  { id: 'yarn-lockfile', version: 1 },
  { id: 'pnpm-lockfile', version: 1 },
  { id: 'python-installed', version: 1 },
  { id: 'python-requirements', version: 1 },
  { id: 'python-lockfile', version: 1 },
  { id: 'java-archive', version: 1 },
  { id: 'go-binary', version: 1 },
  { id: 'ruby-gemspec', version: 1 },
  { id: 'ruby-gemfile-lock', version: 1 },
  { id: 'php-composer-installed', version: 1 },
  { id: 'php-composer-lock', version: 1 },
  { id: 'rust-cargo-lock', version: 1 },
  { id: 'rust-cargo-auditable', version: 1 },
  { id: 'dotnet-deps-json', version: 1 },
];

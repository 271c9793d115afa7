/**
 * One interface for every version scheme (one folder each under src/versioning/<scheme>/, listed in
 * registry.ts). Range logic is not here: src/versioning/range.ts evaluates OSV events for any scheme.
 */
export type SchemeId =
  | 'dpkg'
  | 'rpm'
  | 'apk'
  | 'semver'
  | 'go'
  | 'pep440'
  | 'maven'
  | 'rubygems'
  | 'nuget'
  | 'composer'
  | 'pub'
  | 'cran'
  | 'hackage';

export interface VersionScheme {
  readonly id: SchemeId;
  /** True when `version` parses in this scheme. */
  isValid(version: string): boolean;
  /**
   * Negative, zero or positive as a sorts before, equal to, or after b. Never throws: versions that do
   * not parse are ordered by the scheme's documented fallback (see each scheme's index.ts).
   */
  compare(a: string, b: string): number;
}

export { detectFormat, parsePackageDocument, readPackageFile } from './read.js';
export { DEFAULT_LIMITS, jsonDepth, type JsonLimits } from './json.js';
export { distroFromQualifier, packageFromPurl, splitSourceRpm } from './purl.js';
export type { PackageDocument, SbomFormat, SkippedEntry } from './types.js';

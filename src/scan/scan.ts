import type { Clock, Distro, Logger, Package } from '../core/index.js';
import { silentLogger, systemClock } from '../core/index.js';
import type { Cataloger } from '../catalog/types.js';
import type { ImageSource } from '../image/sources/types.js';
import type { ImageManifestInfo } from '../image/oci.js';
import { formatPlatform } from '../image/oci.js';
import { walkImage, type WalkLimits, type WalkProgress, type WalkStats } from '../image/walker.js';
import { createMatcher } from '../match/index.js';
import type { UnmatchedPackage } from '../match/index.js';
import type { AdvisoryIndex } from '../vulndb/types.js';
import type { Finding } from '../core/index.js';
import { assembleSbom } from './assemble.js';
import type { SbomCache } from './cache.js';

/**
 * The one scan pipeline: image source → walker → catalogers → SBOM → matcher. The CLI and the
 * server's workers both call it. Re-scans are re-matches: the SBOM of an image digest is cached.
 */
export interface ScanDeps {
  catalogers: readonly Cataloger[];
  /** Without an index the scan stops at the SBOM (no findings). */
  index?: AdvisoryIndex;
  /** Identifies the advisory DB's content (its build time); with a cache, findings are reused for the same key. */
  indexKey?: string;
  cache?: SbomCache;
  clock?: Clock;
  log?: Logger;
}

export interface ImageScanOptions {
  limits?: Partial<WalkLimits>;
  onProgress?: (progress: WalkProgress) => void;
}

export interface ImageScanOutcome {
  info: ImageManifestInfo;
  platform: string;
  distro?: Distro;
  packages: Package[];
  findings: Finding[];
  unmatched: UnmatchedPackage[];
  /** True when the package list came from the cache and no layer was read. */
  fromCache: boolean;
  /** True when the findings too came from the cache (same image, same advisory DB). */
  findingsFromCache: boolean;
  /** Walker statistics (absent for a cached scan). */
  stats?: WalkStats;
  ownedLanguagePackages: number;
}

export async function scanImage(source: ImageSource, deps: ScanDeps, options: ImageScanOptions = {}): Promise<ImageScanOutcome> {
  const log = deps.log ?? silentLogger;
  const info = await source.describe();
  const cacheKey = info.digest || info.configDigest;
  const cached = cacheKey ? deps.cache?.get(cacheKey) : undefined;
  let distro: Distro | undefined;
  let packages: Package[];
  let stats: WalkStats | undefined;
  let ownedLanguagePackages = 0;
  if (cached) {
    log.debug({ digest: cacheKey }, 'package list read from the scan cache');
    distro = cached.distro;
    packages = cached.packages;
  } else {
    const walked = await walkImage(source, deps.catalogers, { info, limits: options.limits, onProgress: options.onProgress, log });
    const sbom = assembleSbom(iterateResults(walked.results));
    distro = sbom.distro;
    packages = sbom.packages;
    stats = walked.stats;
    ownedLanguagePackages = sbom.ownedLanguagePackages;
    if (cacheKey) deps.cache?.put(cacheKey, { distro, packages });
  }
  const cachedFindings = cached && deps.index && deps.indexKey ? deps.cache?.getFindings(cacheKey, deps.indexKey) : undefined;
  const matched = cachedFindings ? { findings: cachedFindings, unmatched: [] } : matchPackages(packages, deps);
  if (!cachedFindings && cacheKey && deps.index && deps.indexKey) deps.cache?.putFindings(cacheKey, deps.indexKey, matched.findings);
  return {
    info,
    platform: formatPlatform(info.platform),
    distro,
    packages,
    findings: matched.findings,
    unmatched: matched.unmatched,
    fromCache: Boolean(cached),
    findingsFromCache: Boolean(cachedFindings),
    stats,
    ownedLanguagePackages,
  };
}

/**
 * Matches an SBOM against the advisory DB. Language packages that an OS package manager owns are
 * judged through their OS package only (see assembleSbom), so they are not matched again here.
 */
export function matchPackages(packages: readonly Package[], deps: Pick<ScanDeps, 'index' | 'clock'>): { findings: Finding[]; unmatched: UnmatchedPackage[] } {
  if (!deps.index) return { findings: [], unmatched: [] };
  return createMatcher({ index: deps.index, clock: deps.clock ?? systemClock }).match(packages.filter((p) => p.managedBy === undefined));
}

function* iterateResults<T>(results: Map<string, T[]>): Iterable<T> {
  for (const list of results.values()) yield* list;
}

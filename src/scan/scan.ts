import { systemClock, type Clock } from '../core/clock.js';
import { silentLogger, type Logger } from '../core/logger.js';
import type { Distro, Finding, Package } from '../core/types.js';
import type { Cataloger } from '../catalog/types.js';
import type { ImageSource } from '../image/sources/types.js';
import type { ImageManifestInfo } from '../image/oci.js';
import { PALISADE_VERSION } from '../core/version.js';
import { formatPlatform } from '../image/platform.js';
import type { WalkLimits, WalkProgress, WalkStats } from '../image/walker.js';
import type { UnmatchedPackage } from '../match/index.js';
import type { AdvisoryIndex } from '../vulndb/types.js';
import type { SbomCache } from './cache.js';

/**
 * The one scan pipeline: image source → walker → catalogers → SBOM → matcher. The CLI and the
 * server's workers both call it. Re-scans are re-matches: the SBOM of an image digest is cached.
 * The walker and catalogers are loaded only when a package list must be read from layers, the
 * matcher only when findings must be computed: a re-scan answered by the cache loads neither.
 */
export interface ScanDeps {
  /** The catalogers to offer files to; default every one (SCAN_CATALOGERS), loaded when layers are read. */
  catalogers?: readonly Cataloger[];
  /** Without an index (or `openIndex`) the scan stops at the SBOM (no findings). */
  index?: AdvisoryIndex;
  /** Opens the index when findings are not in the cache (instead of `index`, so a cached re-scan never opens it). */
  openIndex?: () => Promise<AdvisoryIndex>;
  /** Identifies the advisory DB's content (its build time); with a cache, findings are reused for the same key and Palisade version. */
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
    const [{ walkImage }, { assembleSbom }, catalogers] = await Promise.all([
      import('../image/walker.js'),
      import('./assemble.js'),
      deps.catalogers ?? import('./catalogers.js').then((m) => m.SCAN_CATALOGERS),
    ]);
    const walked = await walkImage(source, catalogers, { info, limits: options.limits, onProgress: options.onProgress, log });
    const sbom = assembleSbom(iterateResults(walked.results));
    distro = sbom.distro;
    packages = sbom.packages;
    stats = walked.stats;
    ownedLanguagePackages = sbom.ownedLanguagePackages;
    if (cacheKey) deps.cache?.put(cacheKey, { distro, packages });
  }
  const hasIndex = deps.index !== undefined || deps.openIndex !== undefined;
  // Findings are reused for the same advisory DB and the same Palisade release (which fixes how it matches).
  const findingsKey = deps.indexKey ? `${deps.indexKey} palisade/${PALISADE_VERSION}` : undefined;
  const cachedFindings = cached && hasIndex && findingsKey ? deps.cache?.getFindings(cacheKey, findingsKey) : undefined;
  let matched: { findings: Finding[]; unmatched: UnmatchedPackage[] } = { findings: cachedFindings ?? [], unmatched: [] };
  const index = cachedFindings ? undefined : (deps.index ?? (await deps.openIndex?.()));
  if (index) {
    const { matchPackages } = await import('./match.js');
    matched = matchPackages(packages, { index, clock: deps.clock ?? systemClock });
    if (cacheKey && findingsKey) deps.cache?.putFindings(cacheKey, findingsKey, matched.findings);
  }
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

function* iterateResults<T>(results: Map<string, T[]>): Iterable<T> {
  for (const list of results.values()) yield* list;
}

import { AppError, errorMessage, severityRank, type Clock, type Logger } from '../core/index.js';
import type { ServerConfig } from '../config/index.js';
import { parsePlatform } from '../image/oci.js';
import { isSha256Digest } from '../image/reference.js';
import { openImageSource } from '../image/sources/index.js';
import { createMatcher } from '../match/index.js';
import { SCAN_CATALOGERS } from '../scan/catalogers.js';
import { scanImage } from '../scan/scan.js';
import type { Job, ScanResultInput, Store } from '../store/index.js';
import type { AdvisoryLease, AdvisoryProvider } from './advisory.js';
import { markFindings } from './disable.js';
import type { EventSink, FindingEvent } from './events.js';
import type { Metrics } from './metrics.js';
import type { RegistryDirectory, WatchedRegistry } from './registries.js';

/**
 * What the server does with images: record pushes and pulls, queue scans, run a leased job (pull
 * and catalog a never-seen digest; re-match a known one), queue the daily re-evaluation, and emit
 * events for new serious findings. Routes, workers and the scheduler call it; it owns no timers.
 */
export interface ScanServiceDeps {
  store: Store;
  clock: Clock;
  log: Logger;
  registries: RegistryDirectory;
  advisory: AdvisoryProvider;
  events: EventSink;
  metrics: Metrics;
  config: Pick<ServerConfig, 'platform' | 'rescan' | 'events'>;
}

export interface PushInput {
  registry: WatchedRegistry;
  repository: string;
  tag?: string;
  digest: string;
}

export type PushOutcome = { queued: true; jobId: string; created: boolean } | { queued: false; reason: 'not-watched' };

export interface ScanService {
  recordPush(input: PushInput, options?: { forcePull?: boolean }): Promise<PushOutcome>;
  recordPull(digest: string): Promise<boolean>;
  /** Resolves a tag to its digest at the registry (for `POST /scans` with a tag). */
  resolveDigest(registry: WatchedRegistry, repository: string, tag: string): Promise<string>;
  execute(job: Job, owner: string): Promise<{ committed: boolean; kind: 'pull' | 'rematch'; findings: number }>;
  /** Queues a re-match of every image inside the re-scan windows; returns how many were queued. */
  reevaluate(reason: string): Promise<{ candidates: number; queued: number }>;
}

export function createScanService(deps: ScanServiceDeps): ScanService {
  const { store, clock, log, registries, advisory, events, metrics, config } = deps;
  const platform = parsePlatform(config.platform);
  const day = 24 * 3600 * 1000;

  /** The loaded advisory DB, held open for the job (a newer build may replace it meanwhile). */
  const lease = (): AdvisoryLease => {
    const held = advisory.acquire();
    if (!held) throw new AppError('UPSTREAM', advisory.error() ?? 'no advisory DB is loaded; build it with `palisade db update`');
    return held;
  };

  /** The job's findings: the stored package list matched again, or the image pulled and scanned. */
  const evaluate = async (job: Job, owner: string, started: Date, { db, builtAt }: AdvisoryLease): Promise<ScanResultInput> => {
    const stored = job.forcePull ? undefined : await store.getSbom(job.digest);
    if (stored) {
      const matched = createMatcher({ index: db, clock }).match(stored.packages);
      return { kind: 'rematch', worker: owner, startedAt: started.toISOString(), findings: matched.findings, ...(builtAt ? { dbBuiltAt: builtAt } : {}) };
    }
    if (job.kind === 'rematch') throw new AppError('NOT_FOUND', `no stored package list for ${job.digest}; queue a scan instead`);
    const registry = registries.byHost(job.registry);
    if (!registry) throw new AppError('NOT_FOUND', `registry ${job.registry} is not configured any more; add it under registries`);
    const source = await openImageSource({ kind: 'registry', ref: { registry: registry.host, repository: job.repository, digest: job.digest } }, { platform, client: registry.client });
    try {
      const outcome = await scanImage(source, { catalogers: SCAN_CATALOGERS, index: db, clock, log: log.child({ digest: job.digest }) });
      return {
        kind: 'pull',
        worker: owner,
        startedAt: started.toISOString(),
        sbom: { packages: outcome.packages, platform: outcome.platform, ...(outcome.distro ? { distro: outcome.distro } : {}) },
        findings: outcome.findings,
        ...(builtAt ? { dbBuiltAt: builtAt } : {}),
      };
    } finally {
      await source.close();
    }
  };

  const newFindingEvents = async (job: Job, newFindings: ScanResultInput['findings']): Promise<FindingEvent[]> => {
    const threshold = severityRank(config.events.minSeverity);
    const serious = newFindings.filter((f) => severityRank(f.severity) >= threshold);
    if (serious.length === 0) return [];
    const image = await store.getImage(job.digest);
    if (!image) return [];
    const now = clock.now();
    const recent = image.pushedAt !== undefined && now.getTime() - Date.parse(image.pushedAt) <= config.events.recentPushDays * day;
    if (!image.running && !recent) return [];
    const rules = await store.listDisableRules();
    const marked = markFindings(
      serious.map((finding) => ({ finding, firstSeenAt: now.toISOString() })),
      image,
      rules,
      now,
    );
    return marked
      .filter((f) => !f.disabledBy)
      .map((f) => ({
        type: 'finding.new' as const,
        at: now.toISOString(),
        image: { digest: image.digest, registry: image.registry, repository: image.repository, running: image.running, ...(image.pushedAt ? { pushedAt: image.pushedAt } : {}) },
        finding: {
          advisoryId: f.advisoryId,
          aliases: f.aliases,
          severity: f.severity,
          package: f.package.name,
          installed: f.installedVersion,
          fixedVersions: f.fixedVersions,
          kev: Boolean(f.kev),
          ...(f.epss ? { epss: f.epss.score } : {}),
        },
      }));
  };

  const service: ScanService = {
    async recordPush(input, options = {}) {
      if (!input.registry.watches(input.repository)) return { queued: false, reason: 'not-watched' };
      if (!isSha256Digest(input.digest)) throw new AppError('BAD_INPUT', `"${input.digest}" is not a sha256 digest (sha256:<64 hex>)`);
      const now = clock.now();
      await store.recordPush({ registry: input.registry.host, repository: input.repository, digest: input.digest, ...(input.tag ? { tag: input.tag } : {}) }, now);
      const { id, created } = await store.enqueue(
        { kind: 'scan', digest: input.digest, registry: input.registry.host, repository: input.repository, forcePull: Boolean(options.forcePull) },
        now,
      );
      log.info({ digest: input.digest, repository: input.repository, tag: input.tag, jobId: id, created }, 'scan queued');
      return { queued: true, jobId: id, created };
    },

    recordPull: (digest) => store.recordPull(digest, clock.now()),

    async resolveDigest(registry, repository, tag) {
      const manifest = await registry.client.getManifest({ registry: registry.host, repository }, tag);
      return manifest.digest;
    },

    async execute(job, owner) {
      const started = clock.now();
      const startedMs = performance.now();
      const held = lease();
      const { builtAt } = held;
      let result: ScanResultInput;
      try {
        result = await evaluate(job, owner, started, held);
      } finally {
        held.release();
      }
      const commit = await store.finishScan(job, owner, result, clock.now());
      metrics.inc('palisade_scans_total', { kind: result.kind, outcome: commit.committed ? 'done' : 'lease-lost' });
      metrics.observe('palisade_scan_duration_seconds', (performance.now() - startedMs) / 1000, { kind: result.kind });
      if (commit.committed) {
        // The advisory DB moved on while this job ran: the re-evaluation the new build queued for this
        // digest was absorbed by this job (one active job per kind and digest), so queue it again.
        const current = advisory.current()?.builtAt;
        if (current !== builtAt) {
          await store.enqueue({ kind: 'rematch', digest: job.digest, registry: job.registry, repository: job.repository }, clock.now());
          log.info({ digest: job.digest, matchedWith: builtAt, current }, 'advisory DB changed during the scan; re-evaluation queued');
        }
        const out = await newFindingEvents(job, commit.newFindings);
        if (out.length > 0) {
          metrics.inc('palisade_events_total', {}, out.length);
          await events.emit(out).catch((error: unknown) => log.warn({ error: errorMessage(error) }, 'event emission failed'));
        }
      } else {
        log.warn({ jobId: job.id, digest: job.digest }, 'lease lost before the scan was stored; the new holder stores it');
      }
      return { committed: commit.committed, kind: result.kind, findings: result.findings.length };
    },

    async reevaluate(reason) {
      const now = clock.now();
      const pushedSince = new Date(now.getTime() - config.rescan.pushedWithinDays * day);
      const pulledSince = new Date(now.getTime() - config.rescan.pulledWithinDays * day);
      const candidates = await store.reevaluationCandidates(pushedSince, pulledSince);
      const eligible = [];
      for (const c of candidates) {
        if (config.rescan.includeRunning) eligible.push(c);
        else {
          const image = await store.getImage(c.digest);
          const inWindow = image && ((image.pushedAt && image.pushedAt >= pushedSince.toISOString()) || (image.pulledAt && image.pulledAt >= pulledSince.toISOString()));
          if (inWindow) eligible.push(c);
        }
      }
      let queued = 0;
      for (const c of eligible) {
        const { created } = await store.enqueue({ kind: 'rematch', digest: c.digest, registry: c.registry, repository: c.repository }, now);
        if (created) queued++;
      }
      log.info({ reason, candidates: eligible.length, queued }, 're-evaluation queued');
      return { candidates: eligible.length, queued };
    },
  };
  return service;
}

import { randomBytes, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import { AppError, errorMessage, type Clock, type Logger } from '../core/index.js';
import type { ClusterConfig } from '../config/index.js';
import {
  apiResources,
  attachFindings,
  buildGraph,
  compileQuery,
  computeAttackPaths,
  connectionFromKubeconfig,
  createLiveCollector,
  createTransport,
  inClusterConnectionFromEnv,
  inventoryCounts,
  inventoryFromFiles,
  loadDefaultSettings,
  loadRecommendationSpecs,
  mergeSettings,
  runningImages,
  runPosture,
  toImageFinding,
  type FindingsLookup,
  type ImageFinding,
  type ImageView,
  type Inventory,
  type KubeGraph,
  type PostureSettings,
  type QueryValue,
} from '../kube/cli-api.js';
import { createComplianceAuditor, type ComplianceAuditor } from '../policy/compliance.js';
import type { RunningImage, Store } from '../store/index.js';
import { openClusterStore, type ComplianceFilter, type StoredCompliance, type ClusterCounts, type ClusterStore, type ClusterSyncState, type RecommendationFilter, type StoredAttackPath, type StoredRecommendation, type SyncOutcome, type SyncResults } from '../store/clusters.js';
import { markFindings } from './disable.js';
import { serialTicker } from './ticker.js';

/**
 * The server's cluster collector. For every configured cluster, once per interval (one replica
 * among many: the sync lease in the cluster store), it builds the inventory (live through the
 * Kubernetes API, or from files), then:
 * - replaces the cluster's running images in the running-digests table and its nodes' cores
 *   (skipped when pods or nodes could not be read, so a 403 never empties them);
 * - links running images to the server's own scan results (findings by digest, else by the pushed
 *   tag; disabled findings left out) and runs every posture recommendation and the attack paths;
 * - stores the recommendations per (recommendation, resource) with first seen / last seen /
 *   resolved, and the latest attack paths;
 * - runs the policy compliance audit (the cluster's `policy:` assignments, built-in ones by default)
 *   on the same inventory and stores its latest result; a failed audit is one of the sync's
 *   problems and leaves the stored compliance as it was.
 * The last graph of each cluster stays in memory for the explorer; a replica that has none (or one
 * older than the cluster's interval) builds it on demand from the same source.
 */

export type ClusterSource = 'kubeconfig' | 'in-cluster' | 'files';

export interface SyncResult {
  cluster: string;
  /** `skipped`: another sync holds the lease, or this interval's sync already ran. */
  status: 'ok' | 'partial' | 'failed' | 'skipped';
  startedAt: string;
  durationMs: number;
  error?: string;
  problems: string[];
  counts?: ClusterCounts;
  /** Recommendation rows that appeared (new, or back after being resolved) and that were resolved by this sync. */
  opened?: number;
  resolved?: number;
}

export interface ClusterView {
  name: string;
  source: ClusterSource | 'reported';
  intervalSeconds?: number;
  status: ClusterSyncState['status'] | 'reported';
  running: boolean;
  startedAt?: string;
  finishedAt?: string;
  succeededAt?: string;
  nextSyncAt?: string;
  durationMs?: number;
  error?: string;
  problems: string[];
  counts: ClusterCounts;
}

export interface QueryAnswer {
  clusters: string[];
  /** When each cluster's graph was built (the last sync, or on demand). */
  builtAt: Record<string, string>;
  /** What each cluster's inventory could not read. */
  problems: Record<string, string[]>;
  result: QueryValue;
  /** Elements of a list result before the cap; 1 for any other value. */
  count: number;
  truncated: boolean;
}

export interface ClusterSync {
  readonly clusters: readonly ClusterConfig[];
  /** Syncs every cluster whose interval has passed and that no other replica is syncing. */
  tick(): Promise<SyncResult[]>;
  /** Syncs one cluster now (not waiting for its interval); CONFLICT when a sync of it is running. */
  syncNow(name: string): Promise<SyncResult>;
  start(intervalMs: number): void;
  stop(): Promise<void>;
  list(): Promise<ClusterView[]>;
  recommendations(filter: RecommendationFilter): Promise<{ total: number; items: (StoredRecommendation & { remediation: string })[] }>;
  attackPaths(cluster: string): Promise<StoredAttackPath[]>;
  /** The latest policy compliance of a configured cluster. */
  compliance(filter: ComplianceFilter): Promise<StoredCompliance>;
  /** Runs an explorer query over the latest graphs of the chosen clusters (default: all configured). */
  query(text: string, options?: { clusters?: readonly string[]; limit?: number }): Promise<QueryAnswer>;
  readonly queries: Pick<ClusterStore, 'createQuery' | 'listQueries' | 'getQuery' | 'updateQuery' | 'deleteQuery'>;
}

export interface ClusterSyncDeps {
  clusters: readonly ClusterConfig[];
  store: Store;
  clusterStore: ClusterStore;
  clock: Clock;
  log: Logger;
  /** The process environment, for kubeconfig exec plugins and the in-cluster service host. */
  env: Record<string, string | undefined>;
  /** Lease owner name (default: host, pid and a random suffix). */
  id?: string;
  leaseSeconds?: number;
  /** Compliance auditors by cluster name, instead of those built from each cluster's `policy:` (tests). */
  auditors?: ReadonlyMap<string, ComplianceAuditor>;
}

export const DEFAULT_QUERY_LIMIT = 1000;
export const MAX_QUERY_LIMIT = 10_000;

export function clusterSource(cluster: ClusterConfig): ClusterSource {
  return cluster.from !== undefined ? 'files' : cluster.inCluster === true ? 'in-cluster' : 'kubeconfig';
}

interface Loaded {
  inventory: Inventory;
  /** Kinds the API refused or did not answer for (none for files). */
  unreadableKinds: string[];
  /** Nothing at all could be read. */
  nothingRead: boolean;
}

interface GraphEntry {
  inventory: Inventory;
  graph: KubeGraph;
  findings: FindingsLookup;
  builtAt: Date;
}

const imageKey = (image: { digest: string; ref: string }): string => image.digest || image.ref;

export function createClusterSync(deps: ClusterSyncDeps): ClusterSync {
  const { store, clusterStore, clock, log, env } = deps;
  const owner = deps.id ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const leaseMs = (deps.leaseSeconds ?? 120) * 1000;
  const byName = new Map(deps.clusters.map((c) => [c.name, c]));
  const settings = new Map<string, PostureSettings>(
    deps.clusters.map((c) => [c.name, c.settings === undefined ? loadDefaultSettings() : mergeSettings(loadDefaultSettings(), c.settings, `clusters.${c.name}.settings`)]),
  );
  const auditors = new Map<string, ComplianceAuditor>();
  // Clusters with the same policy settings share one auditor: the library is loaded and compiled once.
  const byPolicy = new Map<string, ComplianceAuditor>();
  for (const c of deps.clusters) {
    const given = deps.auditors?.get(c.name);
    if (given !== undefined) auditors.set(c.name, given);
    if (given !== undefined || !c.policy.enabled) continue;
    const key = JSON.stringify([c.policy.assignments ?? null, c.policy.policies, c.policy.maxViolationsPerPolicy]);
    let auditor = byPolicy.get(key);
    if (auditor === undefined) {
      try {
        auditor = createComplianceAuditor({ ...(c.policy.assignments !== undefined ? { assignmentsFile: c.policy.assignments } : {}), policyDirs: c.policy.policies, maxViolationsPerPolicy: c.policy.maxViolationsPerPolicy });
      } catch (error) {
        throw new AppError('BAD_INPUT', `clusters.${c.name}.policy: ${errorMessage(error)}`, { cause: error });
      }
      byPolicy.set(key, auditor);
    }
    auditors.set(c.name, auditor);
  }
  const graphs = new Map<string, GraphEntry>();
  const building = new Map<string, Promise<GraphEntry>>();
  const inflight = new Set<Promise<unknown>>();
  let stopping = false;

  const clusterNamed = (name: string): ClusterConfig => {
    const cluster = byName.get(name);
    if (cluster === undefined) {
      const names = [...byName.keys()];
      throw new AppError('NOT_FOUND', `no cluster "${name}" is configured${names.length > 0 ? ` (configured: ${names.join(', ')})` : '; add it under clusters: in the server configuration'}`);
    }
    return cluster;
  };

  const loadInventory = async (cluster: ClusterConfig): Promise<Loaded> => {
    if (cluster.from !== undefined) {
      const inventory = await inventoryFromFiles(cluster.from, cluster.name);
      return { inventory, unreadableKinds: [], nothingRead: false };
    }
    let conn;
    if (cluster.inCluster === true) {
      conn = await inClusterConnectionFromEnv(env, `cluster ${cluster.name}: inCluster is set but KUBERNETES_SERVICE_HOST is not; the server is not running in a pod`);
    } else {
      conn = await connectionFromKubeconfig(cluster.kubeconfig ?? '', cluster.context);
    }
    const collector = createLiveCollector(createTransport(conn, env), conn, { cluster: cluster.name, requestTimeoutMs: cluster.requestTimeoutSeconds * 1000, log });
    await collector.list();
    const readable = new Set(Object.keys(collector.resourceVersions()));
    const unreadableKinds = apiResources()
      .map((r) => r.kind)
      .filter((kind) => !readable.has(kind));
    return { inventory: collector.inventory(), unreadableKinds, nothingRead: readable.size === 0 };
  };

  /**
   * Findings of the graph's images from the store: by digest, else by the digest its tag was last
   * pushed as; findings hidden by an active disable rule are left out.
   */
  const findingsFor = async (images: readonly ImageView[], now: Date): Promise<FindingsLookup> => {
    const rules = await store.listDisableRules();
    const found = new Map<string, ImageFinding[]>();
    for (const image of images) {
      const key = imageKey(image);
      if (found.has(key)) continue;
      let digest = image.digest;
      if (!digest && image.repository && image.registry) digest = (await store.resolveTag(image.registry, image.repository, image.tag || 'latest')) ?? '';
      if (!digest) continue;
      const record = await store.getImage(digest);
      if (record === undefined) continue;
      const marked = markFindings(await store.findings(digest), record, rules, now);
      found.set(key, marked.filter((f) => f.disabledBy === undefined).map(toImageFinding));
    }
    return (image) => found.get(imageKey(image)) ?? [];
  };

  const buildEntry = async (inventory: Inventory, now: Date): Promise<GraphEntry> => {
    const graph = buildGraph([inventory]);
    const findings = await findingsFor(graph.images, now);
    attachFindings(graph, findings);
    return { inventory, graph, findings, builtAt: now };
  };

  const syncOne = async (cluster: ClusterConfig, force: boolean): Promise<SyncResult> => {
    const now = clock.now();
    const base = { cluster: cluster.name, startedAt: now.toISOString() };
    if (!(await clusterStore.claimSync(cluster.name, clusterSource(cluster), owner, now, { intervalMs: cluster.intervalSeconds * 1000, leaseMs, force }))) {
      return { ...base, status: 'skipped', durationMs: 0, problems: [] };
    }
    const started = performance.now();
    const heartbeat = setInterval(() => {
      clusterStore.extendSync(cluster.name, owner, new Date(clock.now().getTime() + leaseMs)).catch((error: unknown) => log.warn({ cluster: cluster.name, error: errorMessage(error) }, 'cluster sync lease renewal failed'));
    }, Math.max(250, leaseMs / 3));
    const syncId = randomUUID();
    /** Milliseconds per phase, for the log: where a slow sync spends its time. */
    const phases: Record<string, number> = {};
    let mark = started;
    const phase = (name: string): void => {
      const t = performance.now();
      phases[name] = Math.round(t - mark);
      mark = t;
    };
    let outcome: SyncOutcome;
    let entry: GraphEntry | undefined;
    try {
      const loaded = await loadInventory(cluster);
      phase('inventoryMs');
      const problems = [...loaded.inventory.problems];
      if (loaded.nothingRead) {
        outcome = { status: 'failed', error: `could not read any resource of the cluster${problems[0] ? `: ${problems[0]}` : ''}`, problems, counts: emptyCounts(), durationMs: performance.now() - started };
      } else {
        entry = await buildEntry(loaded.inventory, now);
        phase('graphMs');
        const unreadable = new Set(loaded.unreadableKinds);
        const running = runningImages(entry.graph).filter((r) => r.digest !== '');
        if (!unreadable.has('Pod')) await store.replaceRunning(cluster.name, running.map((r): RunningImage => ({ ...r, cluster: cluster.name })), now);
        const nodes = entry.graph.nodes.map((n) => ({ name: n.name, cores: Math.ceil(n.allocatableCpuMillis / 1000) }));
        if (!unreadable.has('Node')) await store.replaceNodes(cluster.name, nodes, now);
        phase('runningMs');
        const report = runPosture(entry.graph, { settings: settings.get(cluster.name) ?? loadDefaultSettings() });
        const attackPaths = computeAttackPaths(entry.graph);
        phase('postureMs');
        for (const [id, error] of Object.entries(report.errors)) problems.push(`recommendation ${id} could not be evaluated: ${error}`);
        const auditor = auditors.get(cluster.name);
        let compliance: SyncResults['compliance'];
        if (auditor !== undefined) {
          try {
            compliance = auditor.audit(loaded.inventory);
          } catch (error) {
            problems.push(`policy compliance audit failed: ${errorMessage(error)}`);
            log.warn({ cluster: cluster.name, error: errorMessage(error) }, 'policy compliance audit failed');
          }
          phase('complianceMs');
        }
        const counts = inventoryCounts(loaded.inventory);
        outcome = {
          status: problems.length > 0 ? 'partial' : 'ok',
          problems,
          counts: {
            objects: Object.values(counts).reduce((a, b) => a + b, 0),
            unknownObjects: loaded.inventory.unknown.length,
            runningImages: running.length,
            nodes: nodes.length,
            cores: nodes.reduce((sum, n) => sum + n.cores, 0),
          },
          durationMs: performance.now() - started,
          results: {
            recommendations: report.recommendations.flatMap((rec) =>
              rec.resources.map((r) => ({ id: rec.id, title: rec.title, severity: rec.severity, category: rec.category, kind: r.kind, namespace: r.namespace, name: r.name, container: r.container, detail: r.detail })),
            ),
            attackPaths,
            unreadableKinds: loaded.unreadableKinds,
            ...(compliance !== undefined ? { compliance } : {}),
          },
        };
      }
    } catch (error) {
      entry = undefined;
      outcome = { status: 'failed', error: errorMessage(error), problems: [], counts: emptyCounts(), durationMs: performance.now() - started };
      if (!(error instanceof AppError)) log.error({ cluster: cluster.name, error: errorMessage(error), stack: error instanceof Error ? error.stack : undefined }, 'cluster sync failed');
    } finally {
      clearInterval(heartbeat);
    }
    const commit = await clusterStore.finishSync(cluster.name, owner, syncId, outcome, { seenAt: now, finishedAt: clock.now() });
    phase('storeMs');
    if (!commit.committed) {
      log.warn({ cluster: cluster.name }, 'cluster sync lease was lost before the results were stored; another replica took it over');
      return { ...base, status: 'skipped', durationMs: outcome.durationMs, problems: [...outcome.problems], error: 'the sync lease ran out before the results were stored' };
    }
    if (entry !== undefined) graphs.set(cluster.name, entry);
    const counts = commit.counts;
    const fields = { cluster: cluster.name, status: outcome.status, durationMs: Math.round(performance.now() - started), ...phases, problems: outcome.problems.length, ...counts, opened: commit.opened, resolved: commit.resolved };
    if (outcome.status === 'failed') log.warn({ ...fields, error: outcome.error }, 'cluster sync failed');
    else log.info(fields, 'cluster synced');
    const result: SyncResult = { ...base, status: outcome.status, durationMs: Math.round(outcome.durationMs), problems: [...outcome.problems], counts, opened: commit.opened, resolved: commit.resolved };
    if (outcome.error !== undefined) result.error = outcome.error;
    return result;
  };

  const track = <T>(promise: Promise<T>): Promise<T> => {
    inflight.add(promise);
    void promise.finally(() => inflight.delete(promise)).catch(() => undefined);
    return promise;
  };

  const tick = async (): Promise<SyncResult[]> => {
    if (stopping) return [];
    return Promise.all(deps.clusters.map((c) => syncOne(c, false)));
  };

  /** The cluster's graph: the last sync's while younger than its interval, else built now from its source. */
  const graphEntry = async (cluster: ClusterConfig): Promise<GraphEntry> => {
    const now = clock.now();
    const cached = graphs.get(cluster.name);
    if (cached !== undefined && now.getTime() - cached.builtAt.getTime() < cluster.intervalSeconds * 1000) return cached;
    let pending = building.get(cluster.name);
    if (pending === undefined) {
      pending = (async () => {
        const loaded = await loadInventory(cluster);
        if (loaded.nothingRead) throw new AppError('UPSTREAM', `cluster ${cluster.name} could not be read: ${loaded.inventory.problems[0] ?? 'no resource answered'}`);
        const entry = await buildEntry(loaded.inventory, now);
        graphs.set(cluster.name, entry);
        return entry;
      })().finally(() => building.delete(cluster.name));
      building.set(cluster.name, pending);
    }
    return pending;
  };

  let combined: { key: string; graph: KubeGraph } | undefined;

  const ticker = serialTicker(tick, log, 'cluster sync');

  return {
    clusters: deps.clusters,

    tick() {
      return track(ticker.run());
    },

    async syncNow(name) {
      const cluster = clusterNamed(name);
      if (stopping) throw new AppError('CONFLICT', 'the server is shutting down');
      const result = await track(syncOne(cluster, true));
      if (result.status === 'skipped') throw new AppError('CONFLICT', `a sync of cluster ${name} is running (in this or another replica); try again when it has finished`);
      return result;
    },

    start(intervalMs) {
      if (deps.clusters.length === 0) return;
      ticker.start(intervalMs);
    },

    async stop() {
      stopping = true;
      await ticker.stop();
      await Promise.allSettled([...inflight]);
      await clusterStore.close();
    },

    async list() {
      const now = clock.now();
      const states = new Map((await clusterStore.syncStates(now)).map((s) => [s.cluster, s]));
      const out: ClusterView[] = deps.clusters.map((c) => {
        const state = states.get(c.name);
        const view: ClusterView = {
          name: c.name,
          source: clusterSource(c),
          intervalSeconds: c.intervalSeconds,
          status: state?.status ?? 'never',
          running: state?.running ?? false,
          problems: state?.problems ?? [],
          counts: state?.counts ?? emptyClusterCounts(),
        };
        if (state?.startedAt !== undefined) {
          view.startedAt = state.startedAt;
          view.nextSyncAt = new Date(Date.parse(state.startedAt) + c.intervalSeconds * 1000).toISOString();
        }
        if (state?.finishedAt !== undefined) view.finishedAt = state.finishedAt;
        if (state?.succeededAt !== undefined) view.succeededAt = state.succeededAt;
        if (state?.durationMs !== undefined && state.startedAt !== undefined) view.durationMs = state.durationMs;
        if (state?.error !== undefined) view.error = state.error;
        return view;
      });
      // Clusters that only report their running images from outside (PUT …/running-images).
      const reported = new Map<string, number>();
      for (const r of await store.listRunning()) if (!byName.has(r.cluster)) reported.set(r.cluster, (reported.get(r.cluster) ?? 0) + 1);
      for (const [name, n] of [...reported].sort(([a], [b]) => (a < b ? -1 : 1))) {
        out.push({ name, source: 'reported', status: 'reported', running: false, problems: [], counts: { ...emptyClusterCounts(), runningImages: n } });
      }
      return out;
    },

    async recommendations(filter) {
      clusterNamed(filter.cluster);
      const remediation = new Map(loadRecommendationSpecs().map((s) => [s.id, s.remediation]));
      const page = await clusterStore.listRecommendations(filter);
      return { total: page.total, items: page.items.map((item) => ({ ...item, remediation: remediation.get(item.id) ?? '' })) };
    },

    async attackPaths(name) {
      clusterNamed(name);
      return clusterStore.listAttackPaths(name);
    },

    async compliance(filter) {
      clusterNamed(filter.cluster);
      return clusterStore.getCompliance(filter);
    },

    async query(text, options = {}) {
      const compiled = compileQuery(text);
      const names = options.clusters && options.clusters.length > 0 ? [...new Set(options.clusters)] : deps.clusters.map((c) => c.name);
      if (names.length === 0) throw new AppError('BAD_INPUT', 'no clusters are configured: add clusters: to the server configuration to query their inventory');
      const chosen = names.map(clusterNamed);
      const entries = await Promise.all(chosen.map(graphEntry));
      let graph: KubeGraph;
      if (entries.length === 1 && entries[0] !== undefined) {
        graph = entries[0].graph;
      } else {
        const key = chosen.map((c, i) => `${c.name}@${entries[i]?.builtAt.toISOString() ?? ''}`).join(',');
        if (combined?.key !== key) {
          const lookup: FindingsLookup = (image) => {
            for (const e of entries) {
              const found = e.findings(image);
              if (found.length > 0) return found;
            }
            return [];
          };
          combined = { key, graph: buildGraph(entries.map((e) => e.inventory), { findings: lookup }) };
        }
        graph = combined.graph;
      }
      const value = compiled.run(graph);
      const limit = Math.min(options.limit ?? DEFAULT_QUERY_LIMIT, MAX_QUERY_LIMIT);
      const builtAt: Record<string, string> = {};
      const problems: Record<string, string[]> = {};
      chosen.forEach((c, i) => {
        const e = entries[i];
        if (e === undefined) return;
        builtAt[c.name] = e.builtAt.toISOString();
        problems[c.name] = [...e.inventory.problems];
      });
      const list = Array.isArray(value);
      const count = list ? value.length : 1;
      return { clusters: chosen.map((c) => c.name), builtAt, problems, result: list && value.length > limit ? value.slice(0, limit) : value, count, truncated: list && value.length > limit };
    },

    queries: {
      createQuery: (input, now) => clusterStore.createQuery(input, now),
      listQueries: () => clusterStore.listQueries(),
      getQuery: (id) => clusterStore.getQuery(id),
      updateQuery: (id, change, by, now) => clusterStore.updateQuery(id, change, by, now),
      deleteQuery: (id) => clusterStore.deleteQuery(id),
    },
  };
}

/** Opens the cluster store on the server's database and creates the collector; the store is closed again if the configuration is refused. */
export async function openClusterSync(deps: Omit<ClusterSyncDeps, 'clusterStore' | 'clusters'> & { config: { clusters: readonly ClusterConfig[]; database: string } }): Promise<ClusterSync> {
  const clusterStore = await openClusterStore(deps.config.database, deps.clock);
  try {
    return createClusterSync({ ...deps, clusters: deps.config.clusters, clusterStore });
  } catch (error) {
    await clusterStore.close();
    throw error;
  }
}

function emptyCounts(): SyncOutcome['counts'] {
  return { objects: 0, unknownObjects: 0, runningImages: 0, nodes: 0, cores: 0 };
}

function emptyClusterCounts(): ClusterCounts {
  return { ...emptyCounts(), openRecommendations: 0, attackPaths: 0 };
}

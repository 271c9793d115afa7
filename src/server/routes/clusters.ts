import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { SEVERITIES } from '../../core/index.js';
import type { ClusterSync } from '../cluster-sync.js';
import type { AppDeps } from '../deps.js';
import { SECURITY, boolQuery, jsonSchema, pageQuery, parseInput, type Authenticator } from '../http.js';

/** What discovery reports: the digests running in a cluster and its nodes' cores (replaces the cluster's previous report). */
const clusterParam = z.object({ cluster: z.string().min(1).max(200) });
const runningBody = z.object({
  items: z
    .array(
      z.object({
        namespace: z.string().min(1),
        pod: z.string().min(1),
        container: z.string().min(1),
        image: z.string().min(1),
        digest: z.string().regex(/^sha256:[a-f0-9]{64}$/, 'expected sha256:<64 hex>'),
      }),
    )
    .max(100_000),
});
const nodesBody = z.object({ nodes: z.array(z.object({ name: z.string().min(1), cores: z.number().int().min(0).max(4096) })).max(100_000) });

export function clusterRoutes(app: FastifyInstance, deps: AppDeps): void {
  const { store, auth, clock } = deps;

  app.put(
    '/api/v1/clusters/:cluster/running-images',
    { schema: { summary: 'Replace the running image digests of a cluster', tags: ['clusters'], security: SECURITY, params: jsonSchema(clusterParam), body: jsonSchema(runningBody) } },
    async (request) => {
      auth.require(request, 'admin');
      const { cluster } = parseInput(clusterParam, request.params, 'path');
      const body = parseInput(runningBody, request.body, 'running images');
      await store.replaceRunning(cluster, body.items.map((i) => ({ ...i, cluster })), clock.now());
      return { cluster, running: body.items.length };
    },
  );

  app.get('/api/v1/running-images', { schema: { summary: 'Running image digests, all clusters', tags: ['clusters'], security: SECURITY } }, async (request) => {
    auth.require(request, 'reader');
    return { items: await store.listRunning() };
  });

  app.put(
    '/api/v1/clusters/:cluster/nodes',
    { schema: { summary: "Replace a cluster's nodes and their vCPU cores (usage report)", tags: ['clusters'], security: SECURITY, params: jsonSchema(clusterParam), body: jsonSchema(nodesBody) } },
    async (request) => {
      auth.require(request, 'admin');
      const { cluster } = parseInput(clusterParam, request.params, 'path');
      const body = parseInput(nodesBody, request.body, 'nodes');
      await store.replaceNodes(cluster, body.nodes, clock.now());
      return { cluster, nodes: body.nodes.length, cores: body.nodes.reduce((sum, n) => sum + n.cores, 0) };
    },
  );
}

const recommendationsQuery = z.object({
  severity: z.enum(SEVERITIES).optional(),
  recommendation: z.string().regex(/^[A-Z]+-\d+$/, 'expected a recommendation id such as KP-001').optional(),
  namespace: z.string().max(253).optional().describe("the affected resource's namespace; empty for cluster-scoped resources"),
  state: z.enum(['open', 'resolved', 'all']).default('open'),
  ...pageQuery,
});

const complianceQuery = z.object({
  assignment: z.string().min(1).max(200).optional().describe('an assignment name'),
  policy: z.string().min(1).max(200).optional().describe('a policy id (every assignment of it)'),
  effect: z.enum(['Audit', 'Warn', 'Deny']).optional(),
  namespace: z.string().max(253).optional().describe("one namespace's counts and violations; '(cluster)' for cluster-scoped objects"),
  state: z.enum(['noncompliant', 'all']).default('all').describe('noncompliant: only assignments with non-compliant objects'),
  violations: boolQuery.optional().describe('false: counts only, without the violating objects'),
});

/** The configured clusters' syncs, recommendations, attack paths and policy compliance (src/server/cluster-sync.ts). */
export function clusterSyncRoutes(app: FastifyInstance, deps: { auth: Authenticator; clusters: ClusterSync }): void {
  const { auth, clusters } = deps;

  app.get('/api/v1/clusters', { schema: { summary: 'Clusters with their last sync, what it could not read, and counts', tags: ['clusters'], security: SECURITY } }, async (request) => {
    auth.require(request, 'reader');
    return { clusters: await clusters.list() };
  });

  app.get(
    '/api/v1/clusters/:cluster/recommendations',
    {
      schema: {
        summary: 'Posture recommendations of a cluster, one per affected resource, with first seen, last seen and resolved',
        tags: ['clusters'],
        security: SECURITY,
        params: jsonSchema(clusterParam),
        querystring: jsonSchema(recommendationsQuery),
      },
    },
    async (request) => {
      auth.require(request, 'reader');
      const { cluster } = parseInput(clusterParam, request.params, 'path');
      const q = parseInput(recommendationsQuery, request.query, 'query');
      const page = await clusters.recommendations({
        cluster,
        limit: q.limit,
        offset: q.offset,
        ...(q.severity ? { severity: q.severity } : {}),
        ...(q.recommendation ? { id: q.recommendation } : {}),
        ...(q.namespace !== undefined ? { namespace: q.namespace } : {}),
        ...(q.state !== 'all' ? { state: q.state } : {}),
      });
      return { cluster, ...page };
    },
  );

  app.get(
    '/api/v1/clusters/:cluster/attack-paths',
    { schema: { summary: 'The attack paths of the last sync of a cluster', tags: ['clusters'], security: SECURITY, params: jsonSchema(clusterParam) } },
    async (request) => {
      auth.require(request, 'reader');
      const { cluster } = parseInput(clusterParam, request.params, 'path');
      return { cluster, paths: await clusters.attackPaths(cluster) };
    },
  );

  app.get(
    '/api/v1/clusters/:cluster/compliance',
    {
      schema: {
        summary: "A cluster's policy compliance from its last audit: per assignment, per namespace, with the violating objects",
        tags: ['clusters'],
        security: SECURITY,
        params: jsonSchema(clusterParam),
        querystring: jsonSchema(complianceQuery),
      },
    },
    async (request) => {
      auth.require(request, 'reader');
      const { cluster } = parseInput(clusterParam, request.params, 'path');
      const q = parseInput(complianceQuery, request.query, 'query');
      return clusters.compliance({
        cluster,
        ...(q.assignment !== undefined ? { assignment: q.assignment } : {}),
        ...(q.policy !== undefined ? { policy: q.policy } : {}),
        ...(q.effect !== undefined ? { effect: q.effect } : {}),
        ...(q.namespace !== undefined ? { namespace: q.namespace } : {}),
        ...(q.state === 'noncompliant' ? { nonCompliantOnly: true } : {}),
        ...(q.violations === false ? { withoutViolations: true } : {}),
      });
    },
  );

  app.post(
    '/api/v1/clusters/:cluster/sync',
    { schema: { summary: 'Sync a cluster now (409 while a sync of it runs)', tags: ['clusters'], security: SECURITY, params: jsonSchema(clusterParam) } },
    async (request) => {
      auth.require(request, 'admin');
      const { cluster } = parseInput(clusterParam, request.params, 'path');
      return clusters.syncNow(cluster);
    },
  );
}

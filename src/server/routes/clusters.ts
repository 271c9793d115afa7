import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AppDeps } from '../deps.js';
import { SECURITY, jsonSchema, parseInput } from '../http.js';

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

import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { AppError } from '../../core/index.js';
import { parseImageReference } from '../../image/reference.js';
import type { AppDeps } from '../deps.js';
import { SECURITY, jsonSchema, parseInput } from '../http.js';

const scanBody = z.object({
  image: z.string().min(1).describe('registry/repository:tag or registry/repository@sha256:… of a configured registry'),
  force: z.boolean().default(false).describe('pull and catalog again even when the digest was scanned before'),
});
const idParam = z.object({ id: z.string().uuid() });

export function scanRoutes(app: FastifyInstance, deps: AppDeps): void {
  const { registries, scans, auth, store } = deps;

  app.post('/api/v1/scans', { schema: { summary: 'Scan an image now', tags: ['scans'], security: SECURITY, body: jsonSchema(scanBody) } }, async (request, reply) => {
    auth.require(request, 'admin');
    const body = parseInput(scanBody, request.body, 'scan request');
    const ref = parseImageReference(body.image);
    const registry = registries.list().find((r) => r.host === ref.registry);
    if (!registry) throw new AppError('BAD_INPUT', `registry ${ref.registry} is not configured; add it under registries (configured: ${registries.list().map((r) => r.host).join(', ') || 'none'})`);
    const digest = ref.digest ?? (await scans.resolveDigest(registry, ref.repository, ref.tag ?? 'latest'));
    const outcome = await scans.recordPush({ registry, repository: ref.repository, digest, ...(ref.tag && !ref.digest ? { tag: ref.tag } : {}) }, { forcePull: body.force });
    if (!outcome.queued) throw new AppError('BAD_INPUT', `repository ${ref.repository} is excluded by registries[${registry.name}].include/exclude`);
    return reply.status(202).send({ digest, jobId: outcome.jobId, created: outcome.created });
  });

  app.get('/api/v1/jobs/:id', { schema: { summary: 'One queue job', tags: ['scans'], security: SECURITY, params: jsonSchema(idParam) } }, async (request) => {
    auth.require(request, 'reader');
    const { id } = parseInput(idParam, request.params, 'path');
    const job = await store.job(id);
    if (!job) throw new AppError('NOT_FOUND', `job ${id} does not exist`);
    return job;
  });

  app.post('/api/v1/reevaluations', { schema: { summary: 'Re-evaluate every image inside the re-scan windows now', tags: ['scans'], security: SECURITY } }, async (request, reply) => {
    auth.require(request, 'admin');
    return reply.status(202).send(await deps.reevaluate('requested through the API'));
  });
}

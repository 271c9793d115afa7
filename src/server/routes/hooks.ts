import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AppError } from '../../core/index.js';
import type { AppDeps } from '../deps.js';
import { jsonSchema, parseInput, secretEquals } from '../http.js';
import { isServerUserAgent, type WatchedRegistry } from '../registries.js';

/**
 * Registry notifications. The Distribution registry posts envelopes
 * (`application/vnd.docker.distribution.events.v1+json`, {"events": [...]}) to
 * /api/v1/hooks/distribution/<registry name>, sending the configured shared secret in the
 * `X-Palisade-Secret` header (or `Authorization: Bearer`). Registries that cannot send that format
 * post {registry, repository, tag?, digest} to /api/v1/hooks/push with the same secret.
 * A pull event whose request came from the server's own registry client (its User-Agent, see
 * registries.ts) is a scan or a catalogue sync, not a user's pull: it does not move "last pulled".
 */
export const DISTRIBUTION_MEDIA_TYPE = 'application/vnd.docker.distribution.events.v1+json';
export const SECRET_HEADER = 'x-palisade-secret';

const MANIFEST_TYPES = new Set([
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
]);

const eventSchema = z.object({
  action: z.string(),
  timestamp: z.string().optional(),
  target: z.object({
    mediaType: z.string().optional(),
    digest: z.string().regex(/^sha256:[a-f0-9]{64}$/),
    repository: z.string().min(1),
    tag: z.string().optional(),
  }),
  request: z.object({ useragent: z.string().optional() }).optional(),
});
const envelopeSchema = z.object({ events: z.array(z.unknown()).max(1000) });
const registryParam = z.object({ registry: z.string().min(1).max(100) });
const pushBody = z.object({
  registry: z.string().min(1).describe('the configured registry name'),
  repository: z.string().min(1),
  tag: z.string().min(1).optional(),
  digest: z.string().regex(/^sha256:[a-f0-9]{64}$/, 'expected sha256:<64 hex>'),
});

function checkSecret(request: FastifyRequest, registry: WatchedRegistry): void {
  if (!registry.notificationSecret) {
    throw new AppError('FORBIDDEN', `notifications are not enabled for registry "${registry.name}": set registries[].notificationSecret`);
  }
  const header = request.headers[SECRET_HEADER];
  const auth = request.headers.authorization;
  const presented = typeof header === 'string' ? header : typeof auth === 'string' ? /^Bearer\s+(\S+)$/i.exec(auth)?.[1] : undefined;
  if (!presented) throw new AppError('UNAUTHORIZED', `unsigned notification: send the shared secret in the ${SECRET_HEADER} header`);
  if (!secretEquals(presented, registry.notificationSecret)) throw new AppError('UNAUTHORIZED', `notification secret does not match the one configured for registry "${registry.name}"`);
}

export function hookRoutes(app: FastifyInstance, deps: AppDeps): void {
  const { registries, scans, metrics, log } = deps;

  const known = (name: string): WatchedRegistry => {
    const registry = registries.byName(name);
    if (!registry) throw new AppError('NOT_FOUND', `registry "${name}" is not configured; add it under registries (configured: ${registries.list().map((r) => r.name).join(', ') || 'none'})`);
    return registry;
  };

  app.post(
    '/api/v1/hooks/distribution/:registry',
    { schema: { summary: 'Distribution registry notification endpoint (push and pull events)', tags: ['hooks'], params: jsonSchema(registryParam), body: jsonSchema(envelopeSchema) } },
    async (request) => {
      const { registry: name } = parseInput(registryParam, request.params, 'path');
      const registry = known(name);
      checkSecret(request, registry);
      const envelope = parseInput(envelopeSchema, request.body, 'notification envelope');
      const counts = { queued: 0, pulls: 0, ignored: 0, skipped: 0 };
      for (const raw of envelope.events) {
        const parsed = eventSchema.safeParse(raw);
        if (!parsed.success) {
          counts.skipped++;
          metrics.inc('palisade_notifications_total', { action: 'unknown', outcome: 'skipped' });
          continue;
        }
        const event = parsed.data;
        // Blob events and anything that is not a manifest say nothing about images.
        if (event.target.mediaType !== undefined && !MANIFEST_TYPES.has(event.target.mediaType)) {
          counts.ignored++;
          continue;
        }
        if (event.action === 'push') {
          const outcome = await scans.recordPush({ registry, repository: event.target.repository, digest: event.target.digest, ...(event.target.tag ? { tag: event.target.tag } : {}) });
          if (outcome.queued) counts.queued++;
          else counts.ignored++;
          metrics.inc('palisade_notifications_total', { action: 'push', outcome: outcome.queued ? 'queued' : 'ignored' });
        } else if (event.action === 'pull' && isServerUserAgent(event.request?.useragent)) {
          counts.ignored++;
          metrics.inc('palisade_notifications_total', { action: 'pull', outcome: 'own' });
        } else if (event.action === 'pull') {
          await scans.recordPull(event.target.digest);
          counts.pulls++;
          metrics.inc('palisade_notifications_total', { action: 'pull', outcome: 'recorded' });
        } else {
          counts.ignored++;
        }
      }
      if (counts.skipped > 0) log.warn({ registry: name, skipped: counts.skipped }, 'notification events skipped: not the Distribution event shape');
      return counts;
    },
  );

  app.post('/api/v1/hooks/push', { schema: { summary: 'Simple "image pushed" hook', tags: ['hooks'], body: jsonSchema(pushBody) } }, async (request, reply) => {
    const body = parseInput(pushBody, request.body, 'push hook body');
    const registry = known(body.registry);
    checkSecret(request, registry);
    const outcome = await scans.recordPush({ registry, repository: body.repository, digest: body.digest, ...(body.tag ? { tag: body.tag } : {}) });
    metrics.inc('palisade_notifications_total', { action: 'push', outcome: outcome.queued ? 'queued' : 'ignored' });
    if (!outcome.queued) return reply.status(202).send({ queued: false, reason: `repository ${body.repository} is not watched (see registries[].include/exclude)` });
    return reply.status(202).send(outcome);
  });
}

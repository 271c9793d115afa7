import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AppDeps } from '../deps.js';
import { SECURITY, jsonSchema, parseInput } from '../http.js';

/**
 * The audit webhook backend endpoint: kube-apiserver (`--audit-webhook-config-file`, a kubeconfig
 * whose `users[].user.token` is one of alerts.auditTokens) posts `audit.k8s.io/v1` EventList batches
 * here. The token and the concurrency limit are checked before the body is read: when
 * alerts.auditMaxConcurrent batches are being analysed, the answer is 429 (kube-apiserver's batch
 * backend retries with back-off) instead of buffering. The body reaches the analyzer as raw bytes.
 */
export const AUDIT_EVENTS_PATH = '/api/v1/audit/events';
export const CLUSTER_HEADER = 'x-palisade-cluster';

const clusterName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/, 'letters, digits, ".", "_", ":" or "-", at most 200');
const auditQuery = z.object({ cluster: clusterName.optional().describe(`cluster name for the alerts (or the ${CLUSTER_HEADER} header; default: the token's cluster)`) });
const eventListBody = z.object({ kind: z.literal('EventList'), apiVersion: z.literal('audit.k8s.io/v1'), items: z.array(z.object({}).loose()) });

function clusterOf(request: FastifyRequest, fallback: string | undefined): string {
  const q = parseInput(auditQuery, request.query, 'query');
  const header = request.headers[CLUSTER_HEADER];
  const fromHeader = typeof header === 'string' ? parseInput(clusterName, header, `${CLUSTER_HEADER} header`) : undefined;
  return q.cluster ?? fromHeader ?? fallback ?? '';
}

export async function auditRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  const { alerts, auditAuth, log, metrics } = deps;
  const bodyLimit = deps.config.alerts.auditBodyLimit;
  const senders = new WeakMap<FastifyRequest, { name: string; cluster?: string }>();

  // This plugin's scope only: the analyzer parses the JSON itself (bounded), so the body stays bytes.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit }, (_request, body, done) => done(null, body));

  const admit = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    senders.set(request, auditAuth.require(request));
    if (!alerts.tryAcquireAudit()) {
      metrics.inc('palisade_audit_batches_total', { outcome: 'busy' });
      return reply
        .status(429)
        .header('retry-after', '1')
        .send({ error: { code: 'BUSY', message: `${deps.config.alerts.auditMaxConcurrent} audit batches are being analysed; retry later (alerts.auditMaxConcurrent)` } });
    }
    reply.raw.once('close', () => alerts.releaseAudit());
    return undefined;
  };

  app.post(
    AUDIT_EVENTS_PATH,
    {
      bodyLimit,
      onRequest: admit,
      schema: {
        summary: "Audit webhook backend: kube-apiserver's EventList batches, analysed by the audit rules; alerts are stored",
        tags: ['alerts'],
        security: SECURITY,
        querystring: jsonSchema(auditQuery),
        body: jsonSchema(eventListBody),
      },
    },
    async (request) => {
      const sender = senders.get(request);
      const cluster = clusterOf(request, sender?.cluster);
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.from(typeof request.body === 'string' ? request.body : '');
      const started = performance.now();
      const result = await alerts.ingestAuditBatch(body, cluster);
      metrics.inc('palisade_audit_batches_total', { outcome: 'stored' });
      metrics.observe('palisade_audit_batch_duration_seconds', (performance.now() - started) / 1000);
      if (Object.keys(result.skipped).length > 0) log.warn({ sender: sender?.name, cluster, skipped: result.skipped }, 'audit events skipped');
      return { cluster, ...result };
    },
  );
}

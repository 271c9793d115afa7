import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AppError, type Logger } from '../../core/index.js';
import { ADMISSION_EFFECTS, admissionRecordSchema, type AdmissionRecordInput } from '../../store/index.js';
import type { AdmissionService } from '../admission.js';
import { SECURITY, idempotencyKey, jsonSchema, pageQuery, parseInput, validBatchItems, type Authenticator, type Sender, type SenderAuthenticator } from '../http.js';
import type { Metrics } from '../metrics.js';

/**
 * Record batches from the admission webhooks (src/policy/ship.ts): `Authorization: Bearer <token>`
 * (admission.tokens), `Idempotency-Key: <batch id>`, body `{schemaVersion: 1, webhook, cluster?,
 * batchId, records}`. A record without the record shape is skipped and counted; the rest are stored.
 * The list is newest first with filters.
 */
export const ADMISSION_RECORDS_PATH = '/api/v1/admission/records';
export const MAX_ADMISSION_BATCH = 5000;

const batchBody = z.object({
  schemaVersion: z.literal(1),
  webhook: z.string().min(1).max(253),
  cluster: z.string().min(1).max(200).optional(),
  batchId: z.string().min(1).max(200),
  records: z.array(z.unknown()).max(MAX_ADMISSION_BATCH),
});
const listQuery = z.object({
  cluster: z.string().max(200).optional(),
  namespace: z.string().max(253).optional(),
  policy: z.string().min(1).max(200).optional().describe('a policy id'),
  effect: z.enum(ADMISSION_EFFECTS).optional(),
  since: z.iso.datetime({ offset: true }).optional().describe('violations of requests reviewed at or after this time'),
  ...pageQuery,
});

export function admissionRoutes(
  app: FastifyInstance,
  deps: { auth: Authenticator; admissionAuth: SenderAuthenticator; admission: AdmissionService; metrics: Metrics; log: Logger; bodyLimit: number },
): void {
  const { auth, admissionAuth, admission, metrics, log } = deps;
  const senders = new WeakMap<FastifyRequest, Sender>();

  app.post(
    ADMISSION_RECORDS_PATH,
    {
      bodyLimit: deps.bodyLimit,
      onRequest: async (request) => void senders.set(request, admissionAuth.require(request)),
      schema: { summary: 'Violation records from the admission webhooks (idempotent by Idempotency-Key)', tags: ['admission'], security: SECURITY, body: jsonSchema(batchBody) },
    },
    async (request) => {
      const sender = senders.get(request);
      if (!sender) throw new AppError('UNAUTHORIZED', 'missing token: send "Authorization: Bearer <token>"');
      const body = parseInput(batchBody, request.body, 'admission batch');
      const key = idempotencyKey(request);
      const { valid, rejected: rejectedCount, reasons: rejected } = validBatchItems<AdmissionRecordInput>(body.records, admissionRecordSchema, 'record');
      if (rejectedCount > 0) {
        metrics.inc('palisade_admission_records_rejected_total', {}, rejectedCount);
        log.warn({ sender: sender.name, webhook: body.webhook, batchId: body.batchId, rejected }, 'admission records skipped: not the record shape');
      }
      const cluster = sender.cluster ?? body.cluster ?? '';
      const result = await admission.ingest({ sender: sender.name, key, webhook: body.webhook, cluster, records: valid });
      metrics.inc('palisade_admission_batches_total', { outcome: result.duplicate ? 'duplicate' : 'stored' });
      return { batchId: body.batchId, cluster, ...result, rejected: rejectedCount, ...(rejectedCount > 0 ? { reasons: rejected } : {}) };
    },
  );

  app.get(
    '/api/v1/admission/violations',
    { schema: { summary: 'Violations the admission webhooks recorded (Audit, Warn, Deny), newest first', tags: ['admission'], security: SECURITY, querystring: jsonSchema(listQuery) } },
    async (request) => {
      auth.require(request, 'reader');
      const q = parseInput(listQuery, request.query, 'query');
      const page = await admission.list({
        limit: q.limit,
        offset: q.offset,
        ...(q.cluster !== undefined ? { cluster: q.cluster } : {}),
        ...(q.namespace !== undefined ? { namespace: q.namespace } : {}),
        ...(q.policy !== undefined ? { policy: q.policy } : {}),
        ...(q.effect !== undefined ? { effect: q.effect } : {}),
        ...(q.since !== undefined ? { since: new Date(q.since) } : {}),
      });
      return { total: page.total, limit: q.limit, offset: q.offset, items: page.items };
    },
  );
}

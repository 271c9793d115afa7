import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AppError } from '../../core/index.js';
import { alertSchema } from '../../store/index.js';
import type { Alert } from '../../threat/alert.js';
import type { AppDeps } from '../deps.js';
import { SECURITY, idempotencyKey, jsonSchema, parseInput, validBatchItems, type Sender } from '../http.js';

/**
 * Alert batches from the node sensors (src/sensor/ship.ts): `Authorization: Bearer <node token>`
 * (alerts.sensorTokens), `Idempotency-Key: <batch id>`, body `{schemaVersion: 1, node, batchId,
 * alerts}`. A key is stored once per token with its alerts, so a batch resent after a lost answer
 * is stored once. An alert that does not have the alert shape is skipped and counted; the rest of
 * the batch is stored. Every stored alert names its node in `target.node` (the batch's node when
 * the sensor did not set it).
 */
export const SENSOR_ALERTS_PATH = '/api/v1/sensor/alerts';
export const MAX_SENSOR_BATCH = 5000;

const batchBody = z.object({
  schemaVersion: z.literal(1),
  node: z.string().min(1).max(253),
  batchId: z.string().min(1).max(200),
  alerts: z.array(z.unknown()).max(MAX_SENSOR_BATCH),
});
const runtimeAlert = alertSchema.refine((a) => a.source === 'runtime', { message: 'a sensor sends runtime alerts', path: ['source'] });

export function sensorRoutes(app: FastifyInstance, deps: AppDeps): void {
  const { alerts, sensorAuth, log, metrics } = deps;
  const senders = new WeakMap<FastifyRequest, Sender>();

  app.post(
    SENSOR_ALERTS_PATH,
    {
      bodyLimit: deps.config.alerts.sensorBodyLimit,
      onRequest: async (request) => void senders.set(request, sensorAuth.require(request)),
      schema: { summary: 'Runtime alert batches from the node sensors (idempotent by Idempotency-Key)', tags: ['alerts'], security: SECURITY, body: jsonSchema(batchBody) },
    },
    async (request) => {
      const sender = senders.get(request);
      if (!sender) throw new AppError('UNAUTHORIZED', 'missing token: send "Authorization: Bearer <token>"');
      const body = parseInput(batchBody, request.body, 'sensor batch');
      const key = idempotencyKey(request);
      const { valid: alertsOfBatch, rejected: rejectedCount, reasons: rejected } = validBatchItems<Alert>(body.alerts, runtimeAlert, 'alert');
      // Alerts of sensors older than target.node take the node of their batch.
      const valid = alertsOfBatch.map((alert) => (alert.target.node === undefined ? { ...alert, target: { ...alert.target, node: body.node } } : alert));
      if (rejectedCount > 0) {
        metrics.inc('palisade_sensor_alerts_rejected_total', {}, rejectedCount);
        log.warn({ sender: sender.name, node: body.node, batchId: body.batchId, rejected }, 'sensor alerts skipped: not the alert shape');
      }
      const result = await alerts.ingestSensorBatch({ sender: sender.name, key, node: body.node, alerts: valid, ...(sender.cluster !== undefined ? { cluster: sender.cluster } : {}) });
      metrics.inc('palisade_sensor_batches_total', { outcome: result.duplicate ? 'duplicate' : 'stored' });
      return { batchId: body.batchId, ...result, rejected: rejectedCount, ...(rejectedCount > 0 ? { reasons: rejected } : {}) };
    },
  );
}

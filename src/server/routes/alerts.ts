import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { AppError } from '../../core/index.js';
import { ALERT_SEVERITIES, ALERT_STATUSES } from '../../threat/alert.js';
import type { AppDeps } from '../deps.js';
import { SECURITY, jsonSchema, pageQuery, parseInput } from '../http.js';

/** Stored threat alerts (audit and runtime): listed newest first with filters; a person moves their status. */
const listQuery = z.object({
  rule: z.string().min(1).max(200).optional(),
  severity: z.enum(ALERT_SEVERITIES).optional(),
  status: z.enum(ALERT_STATUSES).optional(),
  cluster: z.string().max(200).optional(),
  source: z.enum(['audit', 'runtime']).optional(),
  node: z.string().min(1).max(253).optional().describe('runtime alerts of this node (target.node)'),
  since: z.iso.datetime({ offset: true }).optional().describe('alerts whose last repeat is at or after this time'),
  ...pageQuery,
});
const idParam = z.object({ id: z.string().min(1).max(128) });
const statusBody = z.object({ status: z.enum(ALERT_STATUSES) });

export function alertRoutes(app: FastifyInstance, deps: AppDeps): void {
  const { store, auth, clock } = deps;

  app.get('/api/v1/alerts', { schema: { summary: 'Threat alerts (audit and runtime), newest first', tags: ['alerts'], security: SECURITY, querystring: jsonSchema(listQuery) } }, async (request) => {
    auth.require(request, 'reader');
    const q = parseInput(listQuery, request.query, 'query');
    const page = await store.listAlerts({
      limit: q.limit,
      offset: q.offset,
      ...(q.rule !== undefined ? { rule: q.rule } : {}),
      ...(q.severity !== undefined ? { severity: q.severity } : {}),
      ...(q.status !== undefined ? { status: q.status } : {}),
      ...(q.cluster !== undefined ? { cluster: q.cluster } : {}),
      ...(q.source !== undefined ? { source: q.source } : {}),
      ...(q.node !== undefined ? { node: q.node } : {}),
      ...(q.since !== undefined ? { since: new Date(q.since) } : {}),
    });
    return { total: page.total, limit: q.limit, offset: q.offset, items: page.items };
  });

  app.get('/api/v1/alerts/:id', { schema: { summary: 'One threat alert with its evidence', tags: ['alerts'], security: SECURITY, params: jsonSchema(idParam) } }, async (request) => {
    auth.require(request, 'reader');
    const { id } = parseInput(idParam, request.params, 'path');
    const alert = await store.getAlert(id);
    if (!alert) throw new AppError('NOT_FOUND', `no alert ${id}; list them with GET /api/v1/alerts`);
    return alert;
  });

  app.patch(
    '/api/v1/alerts/:id',
    { schema: { summary: "Set an alert's status (new, acknowledged, resolved, dismissed)", tags: ['alerts'], security: SECURITY, params: jsonSchema(idParam), body: jsonSchema(statusBody) } },
    async (request) => {
      const principal = auth.require(request, 'admin');
      const { id } = parseInput(idParam, request.params, 'path');
      const { status } = parseInput(statusBody, request.body, 'alert status');
      const alert = await store.setAlertStatus(id, status, principal.name, clock.now());
      if (!alert) throw new AppError('NOT_FOUND', `no alert ${id}; list them with GET /api/v1/alerts`);
      return alert;
    },
  );
}

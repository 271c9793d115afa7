import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { AppError } from '../../core/index.js';
import { disableCriteriaSchema, type DisableRule } from '../../store/index.js';
import { ruleActive } from '../disable.js';
import type { AppDeps } from '../deps.js';
import { SECURITY, jsonSchema, parseInput } from '../http.js';

const ruleBody = z.object({
  name: z.string().min(1).max(200),
  criteria: disableCriteriaSchema.refine((c) => Object.keys(c).length > 0, 'set at least one criterion'),
  justification: z.string().min(10, 'say why (at least 10 characters)').max(2000),
  expiresAt: z.iso.datetime({ offset: true }).optional(),
});
const idParam = z.object({ id: z.string().uuid() });

/**
 * Disable rules: created and revoked, never deleted; the author is the token's name. Creating or
 * revoking a rule marks (or unmarks) the stored findings at once; `applied` / `released` say how many
 * findings and images changed. An expired rule lets go of its findings at the next scheduler tick.
 */
export function disableRuleRoutes(app: FastifyInstance, deps: AppDeps): void {
  const { store, auth, clock } = deps;

  app.get('/api/v1/disable-rules', { schema: { summary: 'Disable rules, with whether each is active', tags: ['disable-rules'], security: SECURITY } }, async (request) => {
    auth.require(request, 'reader');
    const now = clock.now();
    return { rules: (await store.listDisableRules()).map((rule) => ({ ...rule, active: ruleActive(rule, now) })) };
  });

  app.post('/api/v1/disable-rules', { schema: { summary: 'Create a disable rule (marks the stored findings it hides)', tags: ['disable-rules'], security: SECURITY, body: jsonSchema(ruleBody) } }, async (request, reply) => {
    const principal = auth.require(request, 'admin');
    const body = parseInput(ruleBody, request.body, 'disable rule');
    const now = clock.now();
    if (body.expiresAt && Date.parse(body.expiresAt) <= now.getTime()) throw new AppError('BAD_INPUT', `expiresAt ${body.expiresAt} is in the past`);
    const rule: DisableRule = {
      id: randomUUID(),
      name: body.name,
      criteria: body.criteria,
      justification: body.justification,
      author: principal.name,
      createdAt: now.toISOString(),
      ...(body.expiresAt ? { expiresAt: new Date(body.expiresAt).toISOString() } : {}),
    };
    const applied = await store.createDisableRule(rule, now);
    return reply.status(201).send({ ...rule, applied });
  });

  app.post('/api/v1/disable-rules/:id/revoke', { schema: { summary: 'Revoke a disable rule (it stays recorded)', tags: ['disable-rules'], security: SECURITY, params: jsonSchema(idParam) } }, async (request) => {
    const principal = auth.require(request, 'admin');
    const { id } = parseInput(idParam, request.params, 'path');
    const released = await store.revokeDisableRule(id, principal.name, clock.now());
    if (!released) throw new AppError('NOT_FOUND', `disable rule ${id} does not exist or was revoked before; list them with GET /api/v1/disable-rules`);
    return { id, revoked: true, released };
  });
}

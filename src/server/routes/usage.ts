import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AppDeps } from '../deps.js';
import { SECURITY, jsonSchema, parseInput } from '../http.js';
import { usageReport } from '../usage.js';

const usageQuery = z.object({ month: z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'expected YYYY-MM').optional() });

export function usageRoutes(app: FastifyInstance, deps: AppDeps): void {
  app.get('/api/v1/usage', { schema: { summary: 'Usage and cost for a calendar month', tags: ['usage'], security: SECURITY, querystring: jsonSchema(usageQuery) } }, async (request) => {
    deps.auth.require(request, 'reader');
    const q = parseInput(usageQuery, request.query, 'query');
    return usageReport({ store: deps.store, clock: deps.clock, configuredCores: deps.config.usage.cores, pricing: deps.pricing }, q.month);
  });
}

import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { AppError, SEVERITIES } from '../../core/index.js';
import type { AppDeps } from '../deps.js';
import { SECURITY, boolQuery, jsonSchema, pageQuery, parseInput } from '../http.js';

const includeDisabled = boolQuery.optional().describe('count findings that disable rules hide too (default: they are left out)');
const listQuery = z.object({ severity: z.enum(SEVERITIES).optional(), kev: boolQuery.optional(), includeDisabled, ...pageQuery });
const idParam = z.object({ id: z.string().min(1).max(200) });
const oneQuery = z.object({ includeDisabled });

export function vulnerabilityRoutes(app: FastifyInstance, deps: AppDeps): void {
  const { store, auth, advisory } = deps;

  app.get('/api/v1/vulnerabilities', { schema: { summary: 'Vulnerabilities across all images, with KEV and EPSS', tags: ['vulnerabilities'], security: SECURITY, querystring: jsonSchema(listQuery) } }, async (request) => {
    auth.require(request, 'reader');
    const q = parseInput(listQuery, request.query, 'query');
    const shown = { includeDisabled: q.includeDisabled ?? false };
    const page = await store.vulnerabilities({ limit: q.limit, offset: q.offset, ...shown, ...(q.severity ? { severity: q.severity } : {}), ...(q.kev !== undefined ? { kev: q.kev } : {}) });
    return { findingsBySeverity: await store.severityTotals(shown), ...page };
  });

  app.get(
    '/api/v1/vulnerabilities/:id',
    { schema: { summary: 'Which images carry a vulnerability (findings hidden by disable rules counted apart)', tags: ['vulnerabilities'], security: SECURITY, params: jsonSchema(idParam), querystring: jsonSchema(oneQuery) } },
    async (request) => {
      auth.require(request, 'reader');
      const { id } = parseInput(idParam, request.params, 'path');
      const q = parseInput(oneQuery, request.query, 'query');
      const all = await store.imagesWithAdvisory(id);
      if (all.length === 0) throw new AppError('NOT_FOUND', `no stored image carries ${id}`);
      const images = q.includeDisabled ? all : all.filter((image) => image.disabledBy === undefined);
      const db = advisory.current()?.db;
      const cve = /^CVE-\d{4}-\d+$/.test(id) ? id : undefined;
      return { advisoryId: id, kev: cve ? db?.kev(cve) ?? null : null, epss: cve ? db?.epss(cve) ?? null : null, images, disabled: all.length - all.filter((image) => image.disabledBy === undefined).length };
    },
  );
}

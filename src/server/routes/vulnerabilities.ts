import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { AppError, SEVERITIES } from '../../core/index.js';
import type { AppDeps } from '../deps.js';
import { SECURITY, boolQuery, jsonSchema, pageQuery, parseInput } from '../http.js';

const listQuery = z.object({ severity: z.enum(SEVERITIES).optional(), kev: boolQuery.optional(), ...pageQuery });
const idParam = z.object({ id: z.string().min(1).max(200) });

export function vulnerabilityRoutes(app: FastifyInstance, deps: AppDeps): void {
  const { store, auth, advisory } = deps;

  app.get('/api/v1/vulnerabilities', { schema: { summary: 'Vulnerabilities across all images, with KEV and EPSS', tags: ['vulnerabilities'], security: SECURITY, querystring: jsonSchema(listQuery) } }, async (request) => {
    auth.require(request, 'reader');
    const q = parseInput(listQuery, request.query, 'query');
    const page = await store.vulnerabilities({ limit: q.limit, offset: q.offset, ...(q.severity ? { severity: q.severity } : {}), ...(q.kev !== undefined ? { kev: q.kev } : {}) });
    return { findingsBySeverity: await store.severityTotals(), ...page };
  });

  app.get('/api/v1/vulnerabilities/:id', { schema: { summary: 'Which images carry a vulnerability', tags: ['vulnerabilities'], security: SECURITY, params: jsonSchema(idParam) } }, async (request) => {
    auth.require(request, 'reader');
    const { id } = parseInput(idParam, request.params, 'path');
    const images = await store.imagesWithAdvisory(id);
    if (images.length === 0) throw new AppError('NOT_FOUND', `no stored image carries ${id}`);
    const db = advisory.current()?.db;
    const cve = /^CVE-\d{4}-\d+$/.test(id) ? id : undefined;
    return { advisoryId: id, kev: cve ? db?.kev(cve) ?? null : null, epss: cve ? db?.epss(cve) ?? null : null, images };
  });
}

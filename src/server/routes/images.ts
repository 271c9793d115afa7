import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { AppError, SEVERITIES, severityRank, type Severity } from '../../core/index.js';
import { parseImageReference } from '../../image/reference.js';
import { markFindings, type MarkedFinding } from '../disable.js';
import type { AppDeps } from '../deps.js';
import { SECURITY, boolQuery, digestParam, jsonSchema, pageQuery, parseInput } from '../http.js';

const listQuery = z.object({
  registry: z.string().optional(),
  repository: z.string().optional(),
  tag: z.string().optional(),
  severity: z.enum(SEVERITIES).optional().describe('images with at least one finding this severe or worse'),
  fixAvailable: boolQuery.optional(),
  running: boolQuery.optional(),
  status: z.enum(['pending', 'done', 'failed']).optional(),
  includeDisabled: boolQuery.optional().describe('count and filter findings that disable rules hide too (default: they are left out)'),
  ...pageQuery,
});
const detailQuery = z.object({ includeDisabled: boolQuery.optional().describe("the image's counts include findings that disable rules hide") });
const resolveQuery = z.object({ reference: z.string().min(1).describe('registry/repository:tag or …@sha256:…') });

export function summarize(findings: readonly MarkedFinding[]): { visible: number; disabled: number; bySeverity: Record<Severity, number> } {
  const bySeverity: Record<Severity, number> = { critical: 0, high: 0, medium: 0, low: 0, negligible: 0, unknown: 0 };
  let disabled = 0;
  for (const f of findings) {
    if (f.disabledBy) disabled++;
    else bySeverity[f.severity]++;
  }
  return { visible: findings.length - disabled, disabled, bySeverity };
}

export function imageRoutes(app: FastifyInstance, deps: AppDeps): void {
  const { store, auth, clock } = deps;

  const loadMarked = async (digest: string, includeDisabled = false): Promise<{ image: NonNullable<Awaited<ReturnType<typeof store.getImage>>>; findings: MarkedFinding[] }> => {
    const image = await store.getImage(digest, { includeDisabled });
    if (!image) throw new AppError('NOT_FOUND', `image ${digest} is not known; push it to a watched registry or POST /api/v1/scans`);
    const findings = markFindings(await store.findings(digest), image, await store.listDisableRules(), clock.now());
    return { image, findings };
  };

  app.get('/api/v1/images', { schema: { summary: 'List and filter images', tags: ['images'], security: SECURITY, querystring: jsonSchema(listQuery) } }, async (request) => {
    auth.require(request, 'reader');
    const q = parseInput(listQuery, request.query, 'query');
    return store.listImages({
      limit: q.limit,
      offset: q.offset,
      ...(q.registry ? { registry: q.registry } : {}),
      ...(q.repository ? { repository: q.repository } : {}),
      ...(q.tag ? { tag: q.tag } : {}),
      ...(q.severity ? { minSeverity: q.severity } : {}),
      ...(q.fixAvailable !== undefined ? { fixAvailable: q.fixAvailable } : {}),
      ...(q.running !== undefined ? { running: q.running } : {}),
      ...(q.status ? { status: q.status } : {}),
      ...(q.includeDisabled !== undefined ? { includeDisabled: q.includeDisabled } : {}),
    });
  });

  app.get('/api/v1/images/resolve', { schema: { summary: 'Digest of a pushed reference', tags: ['images'], security: SECURITY, querystring: jsonSchema(resolveQuery) } }, async (request) => {
    auth.require(request, 'reader');
    const q = parseInput(resolveQuery, request.query, 'query');
    const ref = parseImageReference(q.reference);
    if (ref.digest) return { reference: q.reference, digest: ref.digest };
    const digest = await store.resolveTag(ref.registry, ref.repository, ref.tag ?? 'latest');
    if (!digest) throw new AppError('NOT_FOUND', `no push of ${q.reference} is recorded yet`);
    return { reference: q.reference, digest };
  });

  app.get(
    '/api/v1/images/:digest',
    { schema: { summary: 'One image with its packages and findings (disabled ones marked)', tags: ['images'], security: SECURITY, params: jsonSchema(digestParam), querystring: jsonSchema(detailQuery) } },
    async (request) => {
      auth.require(request, 'reader');
      const { digest } = parseInput(digestParam, request.params, 'path');
      const q = parseInput(detailQuery, request.query, 'query');
      const { image, findings } = await loadMarked(digest, q.includeDisabled);
      const sbom = await store.getSbom(digest);
      return { image, distro: sbom?.distro, packages: sbom?.packages ?? [], summary: summarize(findings), findings };
    },
  );

  app.get(
    '/api/v1/images/:digest/findings',
    { schema: { summary: 'CI gate view: pending, done or failed, with findings (disabled ones marked)', tags: ['images'], security: SECURITY, params: jsonSchema(digestParam) } },
    async (request) => {
      auth.require(request, 'reader');
      const { digest } = parseInput(digestParam, request.params, 'path');
      const { image, findings } = await loadMarked(digest);
      const job = await store.activeJob(digest);
      const status = image.status === 'done' ? 'done' : image.status === 'failed' && !job ? 'failed' : 'pending';
      findings.sort((a, b) => severityRank(b.severity) - severityRank(a.severity) || a.advisoryId.localeCompare(b.advisoryId));
      return {
        digest,
        registry: image.registry,
        repository: image.repository,
        status,
        ...(status === 'failed' && image.error ? { error: image.error } : {}),
        ...(image.evaluatedAt ? { evaluatedAt: image.evaluatedAt } : {}),
        summary: summarize(findings),
        findings,
      };
    },
  );

  app.get('/api/v1/images/:digest/scans', { schema: { summary: 'Scan history of an image', tags: ['images'], security: SECURITY, params: jsonSchema(digestParam) } }, async (request) => {
    auth.require(request, 'reader');
    const { digest } = parseInput(digestParam, request.params, 'path');
    if (!(await store.getImage(digest))) throw new AppError('NOT_FOUND', `image ${digest} is not known`);
    return { digest, scans: await store.scans(digest) };
  });
}

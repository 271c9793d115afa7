import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../deps.js';

/** Liveness, readiness (store reachable, advisory DB loaded) and Prometheus metrics; no token needed. */
export function healthRoutes(app: FastifyInstance, deps: AppDeps): void {
  app.get('/healthz', { schema: { summary: 'Liveness', tags: ['health'] } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { summary: 'Readiness: the store answers and an advisory DB is loaded', tags: ['health'] } }, async (_request, reply) => {
    const problems: string[] = [];
    try {
      await deps.store.ping();
    } catch {
      problems.push('store unreachable');
    }
    if (!deps.advisory.current()) problems.push(deps.advisory.error() ?? 'advisory DB not loaded');
    if (problems.length > 0) return reply.status(503).send({ status: 'not-ready', problems });
    return { status: 'ready' };
  });

  app.get('/metrics', { schema: { summary: 'Prometheus metrics', tags: ['health'] } }, async (_request, reply) => {
    const depth = await deps.store.queueDepth();
    const totals = await deps.store.scanTotals();
    const findings = await deps.store.findingTotals();
    const age = deps.advisory.ageSeconds(deps.clock.now());
    const text = deps.metrics.render([
      { name: 'palisade_queue_jobs', help: 'Scan jobs in the queue by state (all replicas)', samples: Object.entries(depth).map(([state, value]) => ({ labels: { state }, value })) },
      { name: 'palisade_stored_scans', help: 'Scans recorded in the store by kind and status (all replicas)', samples: totals.map((t) => ({ labels: { kind: t.kind, status: t.status }, value: t.count })) },
      {
        name: 'palisade_findings',
        help: 'Stored findings that no disable rule hides, by severity (all replicas; other: negligible and unknown)',
        samples: (['critical', 'high', 'medium', 'low', 'other'] as const).map((severity) => ({ labels: { severity }, value: findings.visible[severity] })),
      },
      { name: 'palisade_findings_disabled', help: 'Stored findings hidden by disable rules (marked, never deleted)', samples: [{ labels: {}, value: findings.disabled }] },
      { name: 'palisade_workers_busy', help: 'Workers of this replica running a job', samples: [{ labels: {}, value: deps.workerBusy?.() ?? 0 }] },
      { name: 'palisade_advisory_db_age_seconds', help: 'Seconds since the loaded advisory DB was built (feed age); -1 when none is loaded', samples: [{ labels: {}, value: age ?? -1 }] },
    ]);
    return reply.type('text/plain; version=0.0.4; charset=utf-8').send(text);
  });
}

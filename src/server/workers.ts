import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { AppError, errorMessage, type Clock, type Logger } from '../core/index.js';
import type { Job, Store } from '../store/index.js';
import type { Metrics } from './metrics.js';
import type { ScanService } from './scan-service.js';

/**
 * Scan workers: each loop leases one job, keeps the lease alive while it works, and stores the
 * result only while it still holds the lease. A crashed or killed process stops renewing; its lease
 * runs out and another worker (in this or another replica) takes the job over.
 */
export interface WorkerOptions {
  concurrency: number;
  leaseSeconds: number;
  maxAttempts: number;
  retryDelaySeconds: number;
  pollMilliseconds: number;
}

export interface WorkerPool {
  readonly id: string;
  start(): void;
  /** Stops taking jobs and waits for the running ones. */
  stop(): Promise<void>;
  /** Jobs this pool is running right now (the /metrics gauge; tests and benchmarks wait for 0). */
  busy(): number;
}

/** Errors that will not go away by retrying: fail the job at once. */
function permanent(error: unknown): boolean {
  return error instanceof AppError && (error.code === 'NOT_FOUND' || error.code === 'BAD_INPUT' || error.code === 'UNAUTHORIZED' || error.code === 'FORBIDDEN' || error.code === 'TOO_LARGE' || error.code === 'UNSUPPORTED');
}

export function createWorkerPool(deps: { store: Store; scans: ScanService; clock: Clock; log: Logger; metrics: Metrics; options: WorkerOptions; id?: string }): WorkerPool {
  const { store, scans, clock, log, options } = deps;
  const id = deps.id ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  let running = false;
  let active = 0;
  const loops: Promise<void>[] = [];
  const sleepers = new Set<() => void>();

  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        sleepers.delete(done);
        resolve();
      }
      sleepers.add(done);
    });

  const work = async (job: Job, owner: string): Promise<void> => {
    const leaseMs = options.leaseSeconds * 1000;
    const heartbeat = setInterval(() => {
      store.extendLease(job.id, owner, new Date(clock.now().getTime() + leaseMs)).catch((error: unknown) => log.warn({ jobId: job.id, error: errorMessage(error) }, 'lease renewal failed'));
    }, Math.max(250, leaseMs / 3));
    const startedAt = clock.now().toISOString();
    try {
      const outcome = await scans.execute(job, owner);
      log.info({ jobId: job.id, digest: job.digest, kind: outcome.kind, findings: outcome.findings, committed: outcome.committed }, 'scan job finished');
    } catch (error) {
      const message = errorMessage(error);
      const final = permanent(error) || job.attempts >= options.maxAttempts;
      const retryAt = final ? undefined : new Date(clock.now().getTime() + options.retryDelaySeconds * 1000 * job.attempts);
      log.error({ jobId: job.id, digest: job.digest, attempt: job.attempts, final, error: message }, 'scan job failed');
      deps.metrics.inc('palisade_scans_total', { kind: job.kind === 'scan' ? 'pull' : 'rematch', outcome: final ? 'failed' : 'retry' });
      await store.failAttempt(job, owner, message, startedAt, clock.now(), retryAt).catch((e: unknown) => log.error({ jobId: job.id, error: errorMessage(e) }, 'could not record the failure'));
    } finally {
      clearInterval(heartbeat);
    }
  };

  const loop = async (slot: number): Promise<void> => {
    const owner = `${id}/${slot}`;
    while (running) {
      let job: Job | undefined;
      try {
        job = await store.claim(owner, options.leaseSeconds * 1000, clock.now(), options.maxAttempts);
      } catch (error) {
        log.error({ error: errorMessage(error) }, 'job claim failed');
      }
      if (!job) {
        await sleep(options.pollMilliseconds);
        continue;
      }
      active++;
      try {
        await work(job, owner);
      } finally {
        active--;
      }
    }
  };

  return {
    id,
    start() {
      if (running) return;
      running = true;
      for (let slot = 0; slot < options.concurrency; slot++) loops.push(loop(slot));
    },
    async stop() {
      running = false;
      for (const wake of [...sleepers]) wake();
      await Promise.all(loops.splice(0));
    },
    busy: () => active,
  };
}

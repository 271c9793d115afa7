import type { FastifyInstance } from 'fastify';
import { errorMessage, type Clock, type Logger } from '../core/index.js';
import type { ServerConfig } from '../config/index.js';
import { openStore, type Store } from '../store/index.js';
import { createAdmissionService } from './admission.js';
import { createAdvisoryProvider } from './advisory.js';
import { createAlertService, type AlertService } from './alerts.js';
import { buildApp } from './app.js';
import { openClusterSync, type ClusterSync } from './cluster-sync.js';
import { createEventSink, type EventSink } from './events.js';
import { createAuthenticator, createSenderAuthenticator } from './http.js';
import { METRIC_HELP, createMetrics } from './metrics.js';
import { createRegistryDirectory } from './registries.js';
import { admissionRoutes } from './routes/admission.js';
import { clusterSyncRoutes } from './routes/clusters.js';
import { explorerRoutes } from './routes/explorer.js';
import { createScanService, type ScanService } from './scan-service.js';
import { createScheduler, type Scheduler } from './scheduler.js';
import { loadPricing } from './usage.js';
import { createWorkerPool, type WorkerPool } from './workers.js';

/**
 * Composes the server from its configuration: store (migrated), advisory DB, registries, scan
 * service, workers, scheduler and the HTTP app. `startServer` listens; `createServer` leaves the
 * timers and the socket to the caller (tests drive `scheduler.tick()` and `app.inject`).
 */
export interface ServerParts {
  app: FastifyInstance;
  store: Store;
  scans: ScanService;
  workers: WorkerPool;
  scheduler: Scheduler;
  events: EventSink;
  alerts: AlertService;
  clusters: ClusterSync;
  close(): Promise<void>;
}

export interface ServerOptions {
  clock: Clock;
  log: Logger;
  workerId?: string;
  fetch?: typeof fetch;
  /** Registry client retry tuning (tests make failures fast). */
  registryRetries?: number;
}

export async function createServer(config: ServerConfig, options: ServerOptions): Promise<ServerParts> {
  const { clock, log } = options;
  const store = await openStore(config.database, clock);
  try {
    // Stored findings carry the marks of the disable rules; the first start after migration 3 marks them all.
    await store
      .applyDisableRules(clock.now())
      .then((applied) => {
        if (applied.full || applied.released.length > 0) log.info({ ...applied }, 'disable rules applied to stored findings');
      })
      .catch((error: unknown) => log.error({ error: errorMessage(error) }, 'disable rules could not be applied at start; the scheduler tries again'));
    const advisory = createAdvisoryProvider(config.advisoryDb, log);
    const registries = createRegistryDirectory(config.registries, log, options.registryRetries !== undefined ? { retries: options.registryRetries, backoffMs: 100 } : {});
    const metrics = createMetrics(METRIC_HELP);
    const events = createEventSink({
      ...(config.events.webhookUrl ? { webhookUrl: config.events.webhookUrl } : {}),
      ...(config.events.webhookSecret ? { webhookSecret: config.events.webhookSecret } : {}),
      ...(config.events.jsonlPath ? { jsonlPath: config.events.jsonlPath } : {}),
      clock,
      log,
      metrics,
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
    const scans = createScanService({ store, clock, log, registries, advisory, events, metrics, config });
    const workers = createWorkerPool({ store, scans, clock, log, metrics, options: config.workers, ...(options.workerId ? { id: options.workerId } : {}) });
    const alerts = createAlertService({ store, clock, log, metrics, config: config.alerts, database: config.database });
    const scheduler = createScheduler({ store, scans, advisory, registries, clock, log, dailyAtHourUtc: config.rescan.dailyAtHourUtc, configuredCores: config.usage.cores });
    const app = await buildApp({
      store,
      scans,
      registries,
      advisory,
      metrics,
      auth: createAuthenticator(config.auth.tokens),
      alerts,
      auditAuth: createSenderAuthenticator(config.alerts.auditTokens, 'alerts.auditTokens'),
      sensorAuth: createSenderAuthenticator(config.alerts.sensorTokens, 'alerts.sensorTokens'),
      clock,
      log,
      pricing: loadPricing(),
      config,
      workerBusy: workers.busy,
      reevaluate: (reason) => scans.reevaluate(reason),
    });
    const clusters = await openClusterSync({ config, store, clock, log, env: process.env });
    clusterSyncRoutes(app, { auth: createAuthenticator(config.auth.tokens), clusters });
    explorerRoutes(app, { auth: createAuthenticator(config.auth.tokens), clusters, clock });
    admissionRoutes(app, {
      auth: createAuthenticator(config.auth.tokens),
      admissionAuth: createSenderAuthenticator(config.admission.tokens, 'admission.tokens'),
      admission: createAdmissionService({ store, clock, log, config: config.admission }),
      metrics,
      log,
      bodyLimit: config.admission.bodyLimit,
    });
    let closed = false;
    return {
      app,
      store,
      scans,
      workers,
      scheduler,
      events,
      alerts,
      clusters,
      async close() {
        if (closed) return;
        closed = true;
        await app.close().catch((error: unknown) => log.warn({ error: errorMessage(error) }, 'HTTP close failed'));
        await scheduler.stop();
        await clusters.stop();
        await workers.stop();
        if (!(await events.flush(5000))) log.warn({}, 'event webhook deliveries still pending at shutdown were not made');
        advisory.close();
        alerts.close();
        await store.close();
      },
    };
  } catch (error) {
    await store.close();
    throw error;
  }
}

export async function startServer(config: ServerConfig, options: ServerOptions): Promise<ServerParts & { url: string }> {
  const parts = await createServer(config, options);
  try {
    const address = await parts.app.listen({ host: config.server.host, port: config.server.port });
    parts.workers.start();
    parts.scheduler.start(config.rescan.checkIntervalSeconds * 1000);
    parts.clusters.start(config.rescan.checkIntervalSeconds * 1000);
    options.log.info({ address, database: config.database.replace(/\/\/[^@/]*@/, '//***@'), workers: config.workers.concurrency }, 'palisade server listening');
    return { ...parts, url: address };
  } catch (error) {
    await parts.close();
    throw error;
  }
}

import { errorMessage } from '../core/index.js';
import { createBatchShipper, type BatchShipper, type ShipperCounters, type ShipperOptions } from '../sensor/ship.js';
import type { AuditRecord, AuditSink } from './admission.js';

/**
 * Ships the webhook's violation records (Audit, Warn and Deny; records with violations only) to the
 * server: `POST {server}/api/v1/admission/records`, `Authorization: Bearer <token>` (the server's
 * admission.tokens), `Idempotency-Key: <batch id>`, body `{ schemaVersion: 1, webhook, cluster?,
 * batchId, records }`, through the sensor's batch shipper (sealed batches, bounded buffer, back-off
 * with jitter, refused batches dropped and counted).
 *
 * The review path only pushes the record onto a bounded in-memory queue (the oldest is dropped and
 * counted when it is full); a timer, off the request path, seals the queue into batches and sends
 * them. The webhook never waits for the server.
 */
export const ADMISSION_RECORDS_PATH = '/api/v1/admission/records';

/** The shipper's settings (src/sensor/ship.ts), with the webhook's own defaults: 16 MiB of buffer, 5 s per request. */
export interface AdmissionShipperOptions
  extends Pick<ShipperOptions, 'server' | 'token' | 'clock' | 'log' | 'maxBufferBytes' | 'batchSize' | 'initialBackoffMs' | 'maxBackoffMs' | 'timeoutMs' | 'ca' | 'insecure' | 'random'> {
  /** This webhook replica's name (the pod name), sent with every batch. */
  webhook: string;
  /** The cluster the records come from, for tokens the server does not tie to a cluster. */
  cluster?: string;
  /** Records waiting to be sealed; over it the oldest are dropped. Default 10,000. */
  maxQueued?: number;
  /** Period of the timer that seals and sends, ms. Default 1000. */
  intervalMs?: number;
}

export interface AdmissionShipperCounters extends ShipperCounters {
  /** Records waiting on the queue, and records dropped from it because it was full. */
  queued: number;
  droppedQueued: number;
}

export interface AdmissionShipper {
  /** Queues records with violations; returns at once. */
  readonly sink: AuditSink;
  /** Seals what is queued and sends what is due (the timer's work; tests call it directly). */
  flush(): Promise<void>;
  start(): void;
  /** Stops the timer and tries for up to `graceMs` to deliver what is left. */
  stop(graceMs?: number): Promise<void>;
  counters(): AdmissionShipperCounters;
}

/** Sends at most this many batches per timer tick, so a backlog drains without one tick running for long. */
const BATCHES_PER_FLUSH = 20;

export function createAdmissionShipper(options: AdmissionShipperOptions): AdmissionShipper {
  const shipper: BatchShipper<AuditRecord> = createBatchShipper<AuditRecord>({
    server: options.server,
    token: options.token,
    node: options.webhook,
    clock: options.clock,
    log: options.log,
    path: ADMISSION_RECORDS_PATH,
    tokenName: 'admission token',
    tokenSource: '--token or PALISADE_ADMISSION_TOKEN',
    idOf: (r) => r.uid,
    body: (batchId, records) => ({ schemaVersion: 1, webhook: options.webhook, ...(options.cluster !== undefined ? { cluster: options.cluster } : {}), batchId, records }),
    maxBufferBytes: options.maxBufferBytes ?? 16 * 1024 * 1024,
    ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}),
    ...(options.initialBackoffMs !== undefined ? { initialBackoffMs: options.initialBackoffMs } : {}),
    ...(options.maxBackoffMs !== undefined ? { maxBackoffMs: options.maxBackoffMs } : {}),
    timeoutMs: options.timeoutMs ?? 5000,
    ...(options.ca !== undefined ? { ca: options.ca } : {}),
    ...(options.insecure !== undefined ? { insecure: options.insecure } : {}),
    ...(options.random !== undefined ? { random: options.random } : {}),
  });
  const maxQueued = options.maxQueued ?? 10_000;
  let queue: AuditRecord[] = [];
  let droppedQueued = 0;
  let timer: NodeJS.Timeout | undefined;
  let flushing: Promise<void> | undefined;

  const work = async (): Promise<void> => {
    if (queue.length > 0) {
      const records = queue;
      queue = [];
      shipper.enqueue(records);
      shipper.seal();
    }
    for (let i = 0; i < BATCHES_PER_FLUSH && shipper.counters().bufferedBatches > 0; i++) {
      const before = shipper.counters();
      await shipper.pump();
      const after = shipper.counters();
      // Stop when nothing was sent (back-off, or the send failed); the next tick tries again.
      if (after.batchesSent === before.batchesSent && after.rejectedBatches === before.rejectedBatches) break;
    }
  };

  const flush = (): Promise<void> => {
    flushing ??= work()
      .catch((error: unknown) => options.log.warn({ problem: errorMessage(error) }, 'admission record shipping failed'))
      .finally(() => {
        flushing = undefined;
      });
    return flushing;
  };

  return {
    sink: {
      record(record) {
        if (record.violations.length === 0) return;
        queue.push(record);
        if (queue.length > maxQueued) {
          queue.shift();
          droppedQueued += 1;
        }
      },
    },
    flush,
    start() {
      if (timer !== undefined) return;
      timer = setInterval(() => void flush(), options.intervalMs ?? 1000);
      timer.unref();
    },
    async stop(graceMs = 5000) {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      let stopped = false;
      const drain = async (): Promise<void> => {
        await flush();
        while (!stopped && shipper.counters().bufferedBatches > 0) {
          const before = shipper.counters().attempts;
          await flush();
          if (shipper.counters().attempts === before) await new Promise((resolve) => setTimeout(resolve, 50));
        }
      };
      // A send in flight is not waited for past the grace period (it ends at its own timeout).
      let graceTimer: NodeJS.Timeout | undefined;
      await Promise.race([drain(), new Promise<void>((resolve) => (graceTimer = setTimeout(resolve, graceMs)))]);
      stopped = true;
      clearTimeout(graceTimer);
      const left = shipper.counters();
      if (left.bufferedBatches > 0 || queue.length > 0) options.log.warn({ batches: left.bufferedBatches, queued: queue.length }, 'admission records not delivered at shutdown were dropped');
    },
    counters: () => ({ ...shipper.counters(), queued: queue.length, droppedQueued }),
  };
}

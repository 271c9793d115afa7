import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { AppError, errorMessage, type Clock, type Logger } from '../core/index.js';
import type { Alert } from '../threat/alert.js';

/**
 * Ships items to the server in batches: the sensor's alerts (`createShipper`: `POST
 * {server}/api/v1/sensor/alerts`, body `{ schemaVersion: 1, node, batchId, alerts }`) and the
 * admission webhook's records (src/policy/ship.ts), with `Authorization: Bearer <token>` and
 * `Idempotency-Key: <batch id>`.
 *
 * - A batch is sealed once (when full or `flushMs` after its first item) and never changes: its id
 *   is the hash of the sender (`node`), its sequence number and its item ids, so a batch resent after
 *   a lost answer carries the same key and the server stores it once (item ids are stable too).
 * - Sealed batches wait in a bounded buffer: files in `bufferDir` (surviving a restart) or memory.
 *   When the buffer is full the oldest batches are dropped and counted.
 * - Delivery is one batch at a time, oldest first, with exponential back-off and jitter on network
 *   errors, 408, 429 and 5xx (and on 401/403, which an operator can fix by rotating the token).
 *   Other 4xx answers mean the batch itself is refused: it is dropped and counted.
 * - `pump()` never sleeps: the agent calls it every tick and it does work only when due.
 */
export interface ShipperOptions {
  /** Server base URL (`https://palisade.example.com`). */
  server: string;
  token: string;
  /** The sender's name (the node of a sensor, the pod of a webhook replica): hashed into batch ids, sent as X-Palisade-Node. */
  node: string;
  clock: Clock;
  log: Logger;
  bufferDir?: string;
  /** Bytes of sealed batches kept while the server is unreachable. Default 64 MiB. */
  maxBufferBytes?: number;
  maxBufferBatches?: number;
  batchSize?: number;
  flushMs?: number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  timeoutMs?: number;
  /** PEM CA of the server certificate (self-hosted servers often use a private CA). */
  ca?: string;
  insecure?: boolean;
  /** Random source for jitter (tests make it fixed). */
  random?: () => number;
}

/** Counters of a shipper; `alertsSent` and `droppedAlerts` count items (alerts, admission records). */
export interface ShipperCounters {
  enqueued: number;
  batchesSealed: number;
  batchesSent: number;
  alertsSent: number;
  attempts: number;
  failures: number;
  /** Batches (and their alerts) dropped because the buffer was full. */
  droppedBatches: number;
  droppedAlerts: number;
  /** Batches the server refused (4xx other than 401, 403, 408, 429). */
  rejectedBatches: number;
  bufferedBatches: number;
  bufferedBytes: number;
  /** Buffer files that could not be read back (corrupt, removed). */
  unreadableBatches: number;
  backoffMs: number;
  lastError?: string;
}

interface Sealed {
  seq: number;
  batchId: string;
  bytes: number;
  alerts: number;
  /** In memory when there is no buffer directory. */
  body?: string;
  file?: string;
}

export interface BatchShipper<T> {
  enqueue(items: readonly T[]): void;
  /** Seals what is pending if due, then tries the oldest batch if its back-off has passed. */
  pump(): Promise<void>;
  /** Seals the pending batch now (shutdown). */
  seal(): void;
  counters(): ShipperCounters;
}

export type Shipper = BatchShipper<Alert>;

/** What one kind of batch adds to the common options: where it goes and what its body is. */
export interface BatchShipperOptions<T> extends ShipperOptions {
  /** Server path the batches are posted to. */
  path: string;
  /** The token's name and where it comes from, for the message when it is empty ("sensor token", "--token or PALISADE_SENSOR_TOKEN"). */
  tokenName: string;
  tokenSource: string;
  /** A stable id per item (hashed into the batch id). */
  idOf(item: T): string;
  /** The JSON body of a sealed batch. */
  body(batchId: string, items: readonly T[]): unknown;
}

export const SENSOR_ALERTS_PATH = '/api/v1/sensor/alerts';

export type PostResult = { status: number } | { error: string };

export function postJson(url: URL, body: string, headers: Record<string, string>, options: { ca?: string; insecure?: boolean; timeoutMs: number }): Promise<PostResult> {
  return new Promise((resolve) => {
    const all = { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) };
    const common = { method: 'POST', headers: all, timeout: options.timeoutMs };
    const req = url.protocol === 'https:' ? httpsRequest(url, { ...common, ca: options.ca, rejectUnauthorized: !options.insecure }) : httpRequest(url, common);
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (error) => resolve({ error: errorMessage(error) }));
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
      res.on('error', (error) => resolve({ error: errorMessage(error) }));
    });
    req.end(body);
  });
}

const FILE_NAME = /^(\d{12})-([0-9a-f]{32})\.json$/;

/** The sensor's alert shipper. */
export function createShipper(options: ShipperOptions): Shipper {
  return createBatchShipper<Alert>({
    ...options,
    path: SENSOR_ALERTS_PATH,
    tokenName: 'sensor token',
    tokenSource: '--token or PALISADE_SENSOR_TOKEN',
    idOf: (a) => a.id,
    body: (batchId, alerts) => ({ schemaVersion: 1, node: options.node, batchId, alerts }),
  });
}

export function createBatchShipper<T>(options: BatchShipperOptions<T>): BatchShipper<T> {
  if (options.token.length === 0) throw new AppError('BAD_INPUT', `the ${options.tokenName} is empty: pass ${options.tokenSource}`);
  let url: URL;
  try {
    url = new URL(options.path, options.server);
  } catch {
    throw new AppError('BAD_INPUT', `--server ${options.server} is not a URL: use https://host[:port]`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new AppError('BAD_INPUT', `--server ${options.server} must be an https:// URL`);
  if (url.protocol === 'http:' && !['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) {
    throw new AppError('BAD_INPUT', `--server ${options.server} is plain http: the node token must travel over https (http is accepted on loopback only)`);
  }
  const maxBytes = options.maxBufferBytes ?? 64 * 1024 * 1024;
  const maxBatches = options.maxBufferBatches ?? 10_000;
  const batchSize = options.batchSize ?? 500;
  const flushMs = options.flushMs ?? 1000;
  const initialBackoff = options.initialBackoffMs ?? 1000;
  const maxBackoff = options.maxBackoffMs ?? 5 * 60_000;
  const timeoutMs = options.timeoutMs ?? 15_000;
  const random = options.random ?? Math.random;
  const dir = options.bufferDir;
  const queue: Sealed[] = [];
  let pending: T[] = [];
  let pendingSinceMs = 0;
  let seq = 0;
  let failures = 0;
  let nextAttemptMs = 0;
  let sending = false;
  const counters: ShipperCounters = {
    enqueued: 0,
    batchesSealed: 0,
    batchesSent: 0,
    alertsSent: 0,
    attempts: 0,
    failures: 0,
    droppedBatches: 0,
    droppedAlerts: 0,
    rejectedBatches: 0,
    bufferedBatches: 0,
    bufferedBytes: 0,
    unreadableBatches: 0,
    backoffMs: 0,
  };

  if (dir !== undefined) {
    mkdirSync(dir, { recursive: true });
    for (const name of readdirSync(dir).sort()) {
      const m = FILE_NAME.exec(name);
      if (!m) continue;
      const file = join(dir, name);
      const bytes = statSync(file).size;
      queue.push({ seq: Number(m[1]), batchId: m[2] ?? '', bytes, alerts: -1, file });
      seq = Math.max(seq, Number(m[1]));
    }
  }

  const recount = (): void => {
    counters.bufferedBatches = queue.length;
    counters.bufferedBytes = queue.reduce((n, b) => n + b.bytes, 0);
  };
  recount();

  const remove = (batch: Sealed): void => {
    if (batch.file !== undefined) rmSync(batch.file, { force: true });
  };

  function seal(): void {
    if (pending.length === 0) return;
    seq += 1;
    const alerts = pending;
    pending = [];
    const batchId = createHash('sha256')
      .update(`${options.node}\n${seq}\n${alerts.map(options.idOf).join(',')}`)
      .digest('hex')
      .slice(0, 32);
    const body = JSON.stringify(options.body(batchId, alerts));
    const batch: Sealed = { seq, batchId, bytes: Buffer.byteLength(body), alerts: alerts.length };
    if (batch.bytes > maxBytes) {
      counters.droppedBatches += 1;
      counters.droppedAlerts += alerts.length;
      return;
    }
    // Make room: drop the oldest batches (not the one being sent).
    let total = queue.reduce((n, b) => n + b.bytes, 0);
    while (queue.length > 0 && (total + batch.bytes > maxBytes || queue.length + 1 > maxBatches)) {
      const index = sending && queue.length > 1 ? 1 : sending ? -1 : 0;
      if (index < 0) break;
      const [old] = queue.splice(index, 1);
      if (old === undefined) break;
      remove(old);
      total -= old.bytes;
      counters.droppedBatches += 1;
      counters.droppedAlerts += old.alerts >= 0 ? old.alerts : 0;
    }
    if (dir !== undefined) {
      const name = `${String(seq).padStart(12, '0')}-${batchId}.json`;
      const file = join(dir, name);
      try {
        writeFileSync(`${file}.tmp`, body);
        renameSync(`${file}.tmp`, file);
        batch.file = file;
      } catch (error) {
        options.log.warn({ dir, problem: errorMessage(error) }, 'shipping buffer write failed; keeping the batch in memory');
        batch.body = body;
      }
    } else {
      batch.body = body;
    }
    queue.push(batch);
    counters.batchesSealed += 1;
    recount();
  }

  function backoff(nowMs: number): void {
    failures += 1;
    const base = Math.min(maxBackoff, initialBackoff * 2 ** Math.min(failures - 1, 30));
    const delay = Math.round(base * (0.8 + 0.4 * random()));
    counters.backoffMs = delay;
    nextAttemptMs = nowMs + delay;
  }

  return {
    enqueue(alerts) {
      if (alerts.length === 0) return;
      if (pending.length === 0) pendingSinceMs = options.clock.now().getTime();
      for (const a of alerts) {
        pending.push(a);
        counters.enqueued += 1;
        if (pending.length >= batchSize) seal();
      }
    },
    seal,
    async pump() {
      const nowMs = options.clock.now().getTime();
      if (pending.length > 0 && nowMs - pendingSinceMs >= flushMs) seal();
      if (sending || queue.length === 0 || nowMs < nextAttemptMs) return;
      const batch = queue[0];
      if (batch === undefined) return;
      let body = batch.body;
      if (body === undefined && batch.file !== undefined) {
        try {
          body = readFileSync(batch.file, 'utf8');
        } catch {
          body = undefined;
        }
      }
      if (body === undefined) {
        queue.shift();
        counters.unreadableBatches += 1;
        recount();
        return;
      }
      sending = true;
      counters.attempts += 1;
      const result = await postJson(url, body, { authorization: `Bearer ${options.token}`, 'idempotency-key': batch.batchId, 'x-palisade-node': options.node }, { ca: options.ca, insecure: options.insecure, timeoutMs });
      sending = false;
      const after = options.clock.now().getTime();
      if ('status' in result && result.status >= 200 && result.status < 300) {
        failures = 0;
        counters.backoffMs = 0;
        nextAttemptMs = 0;
        const index = queue.indexOf(batch);
        if (index >= 0) queue.splice(index, 1);
        remove(batch);
        counters.batchesSent += 1;
        counters.alertsSent += batch.alerts >= 0 ? batch.alerts : 0;
        recount();
        return;
      }
      const retryable = !('status' in result) || [401, 403, 408, 429].includes(result.status) || result.status >= 500;
      counters.failures += 1;
      counters.lastError = 'status' in result ? `HTTP ${result.status}` : result.error;
      if (!retryable) {
        const index = queue.indexOf(batch);
        if (index >= 0) queue.splice(index, 1);
        remove(batch);
        counters.rejectedBatches += 1;
        options.log.warn({ path: options.path, batchId: batch.batchId, problem: counters.lastError }, 'server refused a batch; dropped');
        recount();
        return;
      }
      if (failures === 0 || failures % 10 === 0) options.log.warn({ path: options.path, problem: counters.lastError, buffered: queue.length }, 'batch delivery failing; buffering');
      backoff(after);
    },
    counters: () => ({ ...counters }),
  };
}

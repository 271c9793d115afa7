import { appendFile } from 'node:fs/promises';
import { errorMessage, type Clock, type Finding, type Logger } from '../core/index.js';
import { createWebhookSender, type FetchLike, type WebhookSender } from '../threat/alert.js';
import type { Metrics } from './metrics.js';

/**
 * Events out: a new Critical/High finding on a running or recently pushed image. Each event is one
 * JSON line in the export file (appended before `emit` returns) and, batched per scan, one POST to
 * the webhook, `{"schemaVersion": 1, "events": [...]}`, signed the way alert webhooks are
 * (src/threat/alert.ts): `X-Palisade-Timestamp: <unix seconds>` and `X-Palisade-Signature:
 * sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">` with the shared secret; receivers check both with
 * verifyWebhookSignature. Deliveries run in the background, one batch at a time, through that
 * sender's retries (network errors, 429 and 5xx; bounded backoff), so a slow or dead receiver never
 * holds a scan worker. At most `maxQueued` batches wait; past that the oldest is dropped. Outcomes
 * are counted in /metrics and failures logged.
 */
export interface FindingEvent {
  type: 'finding.new';
  at: string;
  image: { digest: string; registry: string; repository: string; running: boolean; pushedAt?: string };
  finding: { advisoryId: string; aliases: string[]; severity: Finding['severity']; package: string; installed: string; fixedVersions: string[]; kev: boolean; epss?: number };
}

export interface EventSink {
  /** Appends the JSON lines and queues the webhook delivery; never waits for the receiver. */
  emit(events: readonly FindingEvent[]): Promise<void>;
  /** Waits until every queued delivery was made or given up (at most `timeoutMs`); false when some are still pending. */
  flush(timeoutMs?: number): Promise<boolean>;
}

export interface EventSinkOptions {
  webhookUrl?: string;
  webhookSecret?: string;
  jsonlPath?: string;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  fetch?: typeof fetch;
  /** Attempts per batch (default 4: the alert sender's). */
  attempts?: number;
  /** Waits between attempts; injectable so tests do not sleep. */
  sleep?: (ms: number) => Promise<void>;
  /** Batches waiting for delivery before the oldest is dropped (default 1000). */
  maxQueued?: number;
}

export const EVENT_HEADER = 'x-palisade-event';

export function createEventSink(options: EventSinkOptions): EventSink {
  const { log, metrics } = options;
  const maxQueued = options.maxQueued ?? 1000;
  const doFetch = options.fetch ?? fetch;
  let attemptsMade = 0;
  // The sender reads the status only: the body is released at once so the connection is reused.
  const countingFetch: FetchLike = async (url, init) => {
    attemptsMade++;
    const response = await doFetch(url, init);
    await response.body?.cancel().catch(() => undefined);
    return { status: response.status };
  };
  const webhook: WebhookSender | undefined =
    options.webhookUrl && options.webhookSecret
      ? createWebhookSender({
          url: options.webhookUrl,
          secret: options.webhookSecret,
          clock: options.clock,
          log,
          name: 'event webhook',
          fetch: countingFetch,
          ...(options.attempts !== undefined ? { attempts: options.attempts } : {}),
          ...(options.sleep ? { sleep: options.sleep } : {}),
        })
      : undefined;
  const queue: { body: string; events: number }[] = [];
  let pumping: Promise<void> | undefined;

  const deliver = async (batch: { body: string; events: number }): Promise<void> => {
    if (!webhook) return;
    attemptsMade = 0;
    try {
      await webhook.post(batch.body, `${batch.events} finding events`, { [EVENT_HEADER]: 'finding.new' });
      metrics.inc('palisade_event_deliveries_total', { sink: 'webhook', outcome: 'delivered' });
    } catch (error) {
      metrics.inc('palisade_event_deliveries_total', { sink: 'webhook', outcome: 'failed' });
      log.error({ url: options.webhookUrl, events: batch.events, error: errorMessage(error) }, 'event webhook delivery given up');
    } finally {
      if (attemptsMade > 1) metrics.inc('palisade_event_webhook_retries_total', {}, attemptsMade - 1);
    }
  };

  const pump = async (): Promise<void> => {
    for (let batch = queue.shift(); batch !== undefined; batch = queue.shift()) await deliver(batch);
    pumping = undefined;
  };

  return {
    async emit(events) {
      if (events.length === 0) return;
      if (options.jsonlPath) {
        try {
          await appendFile(options.jsonlPath, events.map((e) => JSON.stringify(e)).join('\n') + '\n');
          metrics.inc('palisade_event_deliveries_total', { sink: 'jsonl', outcome: 'written' });
        } catch (error) {
          metrics.inc('palisade_event_deliveries_total', { sink: 'jsonl', outcome: 'failed' });
          log.error({ path: options.jsonlPath, error: errorMessage(error) }, 'event export file not writable');
        }
      }
      if (!webhook) return;
      if (queue.length >= maxQueued) {
        const dropped = queue.shift();
        metrics.inc('palisade_event_deliveries_total', { sink: 'webhook', outcome: 'dropped' });
        log.error({ url: options.webhookUrl, events: dropped?.events, queued: queue.length }, 'event webhook queue full: oldest batch dropped');
      }
      queue.push({ body: JSON.stringify({ schemaVersion: 1, events }), events: events.length });
      pumping ??= pump();
    },

    async flush(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const deadline = timeoutMs === undefined ? undefined : new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
      try {
        while (pumping) {
          if ((await (deadline ? Promise.race([pumping, deadline]) : pumping)) === 'timeout') return false;
        }
        return true;
      } finally {
        if (timer) clearTimeout(timer);
      }
    },
  };
}

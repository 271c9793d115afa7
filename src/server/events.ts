import { createHmac } from 'node:crypto';
import { appendFile } from 'node:fs/promises';
import { errorMessage, type Finding, type Logger } from '../core/index.js';

/**
 * Events out: a new Critical/High finding on a running or recently pushed image. Each event is one
 * JSON line in the export file and one POST to the webhook, signed with HMAC-SHA256 over the exact
 * body: `X-Palisade-Signature: sha256=<hex>` (verify with the shared secret before trusting it).
 */
export interface FindingEvent {
  type: 'finding.new';
  at: string;
  image: { digest: string; registry: string; repository: string; running: boolean; pushedAt?: string };
  finding: { advisoryId: string; aliases: string[]; severity: Finding['severity']; package: string; installed: string; fixedVersions: string[]; kev: boolean; epss?: number };
}

export interface EventSink {
  emit(events: readonly FindingEvent[]): Promise<void>;
  /** Deliveries that failed since start (for /metrics). */
  failures(): number;
  delivered(): number;
}

export function signBody(body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export function createEventSink(options: { webhookUrl?: string; webhookSecret?: string; jsonlPath?: string; log: Logger; fetch?: typeof fetch }): EventSink {
  const doFetch = options.fetch ?? fetch;
  let failed = 0;
  let sent = 0;
  return {
    async emit(events) {
      if (events.length === 0) return;
      if (options.jsonlPath) {
        try {
          await appendFile(options.jsonlPath, events.map((e) => JSON.stringify(e)).join('\n') + '\n');
        } catch (error) {
          failed++;
          options.log.error({ path: options.jsonlPath, error: errorMessage(error) }, 'event export file not writable');
        }
      }
      if (options.webhookUrl && options.webhookSecret) {
        const body = JSON.stringify({ events });
        try {
          const response = await doFetch(options.webhookUrl, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-palisade-signature': signBody(body, options.webhookSecret), 'x-palisade-event': 'finding.new' },
            body,
            signal: AbortSignal.timeout(10_000),
          });
          await response.body?.cancel().catch(() => undefined);
          if (!response.ok) throw new Error(`HTTP ${response.status}`);
          sent += events.length;
        } catch (error) {
          failed++;
          options.log.warn({ url: options.webhookUrl, error: errorMessage(error), events: events.length }, 'event webhook delivery failed');
        }
      }
    },
    failures: () => failed,
    delivered: () => sent,
  };
}

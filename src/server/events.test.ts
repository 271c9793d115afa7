import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createJsonLogger, fixedClock } from '../core/index.js';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyWebhookSignature } from '../threat/alert.js';
import { EVENT_HEADER, createEventSink, type FindingEvent } from './events.js';
import { METRIC_HELP, createMetrics } from './metrics.js';

/** A real HTTP receiver whose answers the test chooses: a status per request, or holding the answer until released. */
const received: { body: string; headers: IncomingMessage['headers'] }[] = [];
let answers: number[] = [];
let held: (() => void)[] = [];
let holding = false;
let url = '';
const receiver = createServer((req: IncomingMessage, res: ServerResponse) => {
  let body = '';
  req.on('data', (chunk: Buffer) => (body += chunk.toString()));
  req.on('end', () => {
    received.push({ body, headers: req.headers });
    const answer = (): void => void res.writeHead(answers.shift() ?? 204).end();
    if (holding) held.push(answer);
    else answer();
  });
});

beforeAll(async () => {
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const address = receiver.address();
  if (address === null || typeof address === 'string') throw new Error('the receiver has no port');
  url = `http://127.0.0.1:${address.port}/events`;
});
afterAll(() => new Promise<void>((resolve) => receiver.close(() => resolve())));
beforeEach(() => {
  received.length = 0;
  answers = [];
  held = [];
  holding = false;
});

const SECRET = 'event-webhook-secret-0123';
const logLine = z.object({ msg: z.string(), error: z.string().optional() });
const batch = z.object({ schemaVersion: z.literal(1), events: z.array(z.object({ finding: z.object({ package: z.string() }) })) });
const line = z.object({ finding: z.object({ package: z.string() }) });
const NOW = 1_795_000_000;
const event = (pkg: string): FindingEvent => ({
  type: 'finding.new',
  at: new Date(NOW * 1000).toISOString(),
  image: { digest: `sha256:${'a'.repeat(64)}`, registry: 'reg.example', repository: 'team/app', running: true },
  finding: { advisoryId: 'CVE-2024-5535', aliases: [], severity: 'critical', package: pkg, installed: '3.0.11-1~deb12u2', fixedVersions: ['3.0.15-1~deb12u1'], kev: true },
});

function sink(extra: { attempts?: number; maxQueued?: number; jsonlPath?: string } = {}): {
  events: ReturnType<typeof createEventSink>;
  metrics: () => string;
  logged: () => z.infer<typeof logLine>[];
  waits: number[];
} {
  const metrics = createMetrics(METRIC_HELP);
  const lines: string[] = [];
  const waits: number[] = [];
  const events = createEventSink({
    webhookUrl: url,
    webhookSecret: SECRET,
    clock: fixedClock(new Date(NOW * 1000)),
    log: createJsonLogger((line) => void lines.push(line), 'warn'),
    metrics,
    sleep: async (ms) => void waits.push(ms),
    ...extra,
  });
  return {
    events,
    metrics: () => metrics.render([]),
    logged: () => lines.map((l) => logLine.parse(JSON.parse(l))),
    waits,
  };
}

describe('finding events out', () => {
  it('returns before the receiver answers, then delivers one signed batch', async () => {
    holding = true;
    const { events, metrics } = sink();
    await events.emit([event('openssl'), event('libssl3')]);
    // emit has returned while the receiver still holds the request: a scan worker would be free again.
    await expect.poll(() => received.length).toBe(1);
    expect(await events.flush(100)).toBe(false);
    for (const release of held) release();
    expect(await events.flush()).toBe(true);
    const [delivery] = received;
    expect(delivery?.headers[EVENT_HEADER]).toBe('finding.new');
    expect(verifyWebhookSignature(SECRET, String(delivery?.headers[TIMESTAMP_HEADER]), delivery?.body ?? '', String(delivery?.headers[SIGNATURE_HEADER]), NOW)).toBe(true);
    expect(batch.parse(JSON.parse(delivery?.body ?? '{}')).events.map((e) => e.finding.package)).toEqual(['openssl', 'libssl3']);
    expect(metrics()).toContain('palisade_event_deliveries_total{outcome="delivered",sink="webhook"} 1');
    expect(metrics()).not.toContain('palisade_event_webhook_retries_total');
  });

  it.each([
    ['retries 503 and 429, then delivers', [503, 429, 204], 3, [250, 500], 'delivered', 2],
    ['gives up after the last attempt on 500s', [500, 500, 500], 3, [250, 500], 'failed', 2],
    ['does not retry a 400', [400], 1, [], 'failed', 0],
  ])('%s, counting it in the metrics', async (_name, statuses, requests, waits, outcome, retries) => {
    answers = [...statuses];
    const s = sink({ attempts: 3 });
    await s.events.emit([event('openssl')]);
    expect(await s.events.flush()).toBe(true);
    expect(received).toHaveLength(requests);
    expect(new Set(received.map((r) => r.body)).size).toBe(1);
    expect(s.waits).toEqual(waits);
    expect(s.metrics()).toContain(`palisade_event_deliveries_total{outcome="${outcome}",sink="webhook"} 1`);
    if (retries > 0) expect(s.metrics()).toContain(`palisade_event_webhook_retries_total ${retries}`);
    else expect(s.metrics()).not.toContain('palisade_event_webhook_retries_total');
    const givenUp = s.logged().filter((l) => l.msg === 'event webhook delivery given up');
    expect(givenUp.map((l) => l.error)).toEqual(outcome === 'failed' ? [`event webhook ${url} did not accept 1 finding events (HTTP ${statuses.at(-1)}): check the URL and the receiver`] : []);
  });

  it('drops the oldest waiting batch when the queue is full', async () => {
    holding = true;
    const s = sink({ maxQueued: 1 });
    await s.events.emit([event('first')]);
    await expect.poll(() => received.length).toBe(1);
    await s.events.emit([event('second')]);
    await s.events.emit([event('third')]);
    for (const release of held.splice(0)) release();
    holding = false;
    expect(await s.events.flush()).toBe(true);
    expect(received.map((r) => batch.parse(JSON.parse(r.body)).events[0]?.finding.package)).toEqual(['first', 'third']);
    expect(s.metrics()).toContain('palisade_event_deliveries_total{outcome="dropped",sink="webhook"} 1');
    expect(s.metrics()).toContain('palisade_event_deliveries_total{outcome="delivered",sink="webhook"} 2');
  });

  it('appends JSON lines, and counts and logs an export file it cannot write', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'palisade-events-'));
    try {
      const good = sink({ jsonlPath: join(dir, 'events.jsonl') });
      await good.events.emit([event('openssl'), event('libssl3')]);
      const lines = readFileSync(join(dir, 'events.jsonl'), 'utf8').trim().split('\n');
      expect(lines.map((l) => line.parse(JSON.parse(l)).finding.package)).toEqual(['openssl', 'libssl3']);
      expect(good.metrics()).toContain('palisade_event_deliveries_total{outcome="written",sink="jsonl"} 1');
      const bad = sink({ jsonlPath: join(dir, 'missing', 'events.jsonl') });
      await bad.events.emit([event('openssl')]);
      expect(bad.metrics()).toContain('palisade_event_deliveries_total{outcome="failed",sink="jsonl"} 1');
      expect(bad.logged().map((l) => l.msg)).toContain('event export file not writable');
      // The webhook still got the batch.
      expect(await bad.events.flush()).toBe(true);
      expect(received).toHaveLength(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock, silentLogger } from '../core/index.js';
import {
  alertToJsonLine,
  createAlertGrouper,
  createWebhookSender,
  signWebhookBody,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  verifyWebhookSignature,
  type Alert,
  type AlertCandidate,
  type Suppression,
} from './alert.js';

function candidate(over: Partial<AlertCandidate> & { time: string }): AlertCandidate {
  return {
    rule: 'PAL_ExecIntoPod',
    title: 'Command run in a container through the API (exec)',
    severity: 'low',
    source: 'audit',
    cluster: 'prod-eu',
    message: 'alice@example.com ran a command in pod payments/api-0',
    subject: { user: 'alice@example.com', groups: ['system:authenticated'], sourceIPs: ['10.8.0.23'], userAgent: 'kubectl/v1.30.2' },
    target: { resource: 'pods', subresource: 'exec', namespace: 'payments', name: 'api-0' },
    mitre: { tactics: ['Execution'], techniques: ['T1609'] },
    evidence: [{ auditID: over.time }],
    ...over,
  };
}

function grouper(suppressions: Suppression[] = [], maxOpen = 100) {
  const out: Alert[] = [];
  const g = createAlertGrouper({ windowMs: 5 * 60_000, maxEvidence: 2, maxOpen, suppressions, emit: (a) => out.push(a) });
  return { g, out };
}

describe('alert grouping', () => {
  it('groups repeats within the window into one alert with a count and capped evidence', () => {
    const { g, out } = grouper();
    expect(g.add(candidate({ time: '2026-11-20T10:00:00.000Z' }))).toBe('new');
    expect(g.add(candidate({ time: '2026-11-20T10:01:00.000Z', subject: { user: 'alice@example.com', groups: [], sourceIPs: ['10.8.0.99'] } }))).toBe('grouped');
    expect(g.add(candidate({ time: '2026-11-20T10:04:59.000Z' }))).toBe('grouped');
    expect(g.add(candidate({ time: '2026-11-20T10:06:00.000Z' }))).toBe('new');
    g.flush();
    expect(out.map((a) => [a.time, a.lastSeen, a.count, a.evidence.length, a.subject.sourceIPs.join(',')])).toEqual([
      ['2026-11-20T10:00:00.000Z', '2026-11-20T10:04:59.000Z', 3, 2, '10.8.0.23,10.8.0.99'],
      ['2026-11-20T10:06:00.000Z', '2026-11-20T10:06:00.000Z', 1, 1, '10.8.0.23'],
    ]);
    expect(out[0]?.status).toBe('new');
    expect(out[0]?.id).toMatch(/^[0-9a-f]{20}$/);
    expect(out[0]?.id).not.toBe(out[1]?.id);
  });

  it('keeps different targets apart and honours an explicit group key', () => {
    const { g, out } = grouper();
    g.add(candidate({ time: '2026-11-20T10:00:00.000Z' }));
    g.add(candidate({ time: '2026-11-20T10:00:01.000Z', target: { resource: 'pods', subresource: 'exec', namespace: 'payments', name: 'api-1' } }));
    g.add(candidate({ time: '2026-11-20T10:00:02.000Z', groupKey: 'burst|alice', target: { name: 'a' } }));
    g.add(candidate({ time: '2026-11-20T10:00:03.000Z', groupKey: 'burst|alice', target: { name: 'b' } }));
    g.flush();
    expect(out.map((a) => [a.target.name, a.count, a.groupKey])).toEqual([
      ['api-0', 1, 'PAL_ExecIntoPod|prod-eu|alice@example.com|payments|pods|exec|api-0|'],
      ['api-1', 1, 'PAL_ExecIntoPod|prod-eu|alice@example.com|payments|pods|exec|api-1|'],
      ['a', 2, 'burst|alice'],
    ]);
  });

  it('emits groups whose window closed, and the oldest when too many are open', () => {
    const { g, out } = grouper([], 2);
    g.add(candidate({ time: '2026-11-20T10:00:00.000Z', target: { name: 'a' } }));
    g.add(candidate({ time: '2026-11-20T10:03:00.000Z', target: { name: 'b' } }));
    g.closeUntil(Date.parse('2026-11-20T10:05:30.000Z'));
    expect(out.map((a) => a.target.name)).toEqual(['a']);
    g.add(candidate({ time: '2026-11-20T10:04:00.000Z', target: { name: 'c' } }));
    g.add(candidate({ time: '2026-11-20T10:04:01.000Z', target: { name: 'd' } }));
    expect(out.map((a) => a.target.name)).toEqual(['a', 'b']);
    g.flush();
    expect(out.map((a) => a.target.name)).toEqual(['a', 'b', 'c', 'd']);
    expect(g.stats()).toEqual({ candidates: 4, grouped: 0, suppressed: 0, emitted: 4 });
  });

  it.each([
    ['by rule prefix and namespace', { rule: 'PAL_*', namespaces: ['payments'], reason: 'payments team debugs daily' }, 'suppressed'],
    ['not for another namespace', { rule: 'PAL_*', namespaces: ['kube-system'], reason: 'r' }, 'new'],
    ['by user and source range', { rule: 'PAL_ExecIntoPod', users: ['alice@*'], sourceIPs: ['10.8.0.0/16'], reason: 'VPN admins' }, 'suppressed'],
    ['not from another range', { rule: 'PAL_ExecIntoPod', sourceIPs: ['192.168.0.0/16'], reason: 'r' }, 'new'],
    ['until a date that has passed', { rule: 'PAL_ExecIntoPod', until: '2026-11-19', reason: 'expired' }, 'new'],
    ['until a later date', { rule: 'PAL_ExecIntoPod', until: '2026-11-20', reason: 'still on' }, 'suppressed'],
    ['by cluster', { rule: '*', clusters: ['prod-eu'], reason: 'r' }, 'suppressed'],
  ] satisfies Array<[string, Suppression, string]>)('suppresses %s', (_name, suppression, expected) => {
    const { g } = grouper([suppression]);
    expect(g.add(candidate({ time: '2026-11-20T10:00:00.000Z' }))).toBe(expected);
  });

  it('writes one JSON line per alert with a schema version', () => {
    const { g, out } = grouper();
    g.add(candidate({ time: '2026-11-20T10:00:00.000Z' }));
    g.flush();
    const [alert] = out;
    if (!alert) throw new Error('no alert');
    const line = alertToJsonLine(alert);
    expect(line.endsWith('\n')).toBe(true);
    expect(line.split('\n')).toHaveLength(2);
    expect(JSON.parse(line)).toMatchObject({ schemaVersion: 1, rule: 'PAL_ExecIntoPod', count: 1, status: 'new', mitre: { techniques: ['T1609'] } });
  });
});

describe('webhook export', () => {
  const secret = 'a-long-shared-secret-for-tests';
  const received: Array<{ headers: IncomingMessage['headers']; body: string }> = [];
  let failuresLeft = 0;
  let url = '';
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      if (failuresLeft > 0) {
        failuresLeft -= 1;
        res.writeHead(503).end();
        return;
      }
      const ok = verifyWebhookSignature(secret, String(req.headers[TIMESTAMP_HEADER]), body, String(req.headers[SIGNATURE_HEADER]), 1_795_000_000);
      res.writeHead(ok ? 204 : 401).end();
    });
  });
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    url = `http://127.0.0.1:${(address satisfies AddressInfo).port}/alerts`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const clock = fixedClock(new Date(1_795_000_000 * 1000));
  const { g, out } = grouper();
  g.add(candidate({ time: '2026-11-20T10:00:00.000Z' }));
  g.flush();

  it('posts a signed batch that the receiver verifies, retrying a 503', async () => {
    received.length = 0;
    failuresLeft = 1;
    const waits: number[] = [];
    const sender = createWebhookSender({ url, secret, clock, log: silentLogger, sleep: async (ms) => void waits.push(ms) });
    await sender.send(out);
    expect(received).toHaveLength(2);
    expect(waits).toEqual([250]);
    const last = received[1];
    expect(last?.headers[TIMESTAMP_HEADER]).toBe('1795000000');
    expect(last?.headers[SIGNATURE_HEADER]).toBe(signWebhookBody(secret, 1_795_000_000, last?.body ?? ''));
    expect(JSON.parse(last?.body ?? '{}')).toMatchObject({ schemaVersion: 1, alerts: [{ rule: 'PAL_ExecIntoPod' }] });
  });

  it('fails with UPSTREAM when the receiver refuses the signature', async () => {
    failuresLeft = 0;
    const sender = createWebhookSender({ url, secret: 'another-secret-of-enough-length', clock, log: silentLogger, sleep: async () => {} });
    await expect(sender.send(out)).rejects.toThrow(/did not accept 1 alerts \(HTTP 401\)/);
  });

  it('refuses a short secret', () => {
    expect(() => createWebhookSender({ url, secret: 'short', clock, log: silentLogger })).toThrow(/shorter than 16/);
  });

  it.each([
    ['the right signature', '1795000000', '{"a":1}', signWebhookBody(secret, 1_795_000_000, '{"a":1}'), true],
    ['a changed body', '1795000000', '{"a":2}', signWebhookBody(secret, 1_795_000_000, '{"a":1}'), false],
    ['a stale timestamp (replay)', '1794990000', '{"a":1}', signWebhookBody(secret, 1_794_990_000, '{"a":1}'), false],
    ['a garbage timestamp', 'yesterday', '{"a":1}', signWebhookBody(secret, 1_795_000_000, '{"a":1}'), false],
  ])('verifies %s', (_name, ts, body, signature, expected) => {
    expect(verifyWebhookSignature(secret, ts, body, signature, 1_795_000_000)).toBe(expected);
  });
});

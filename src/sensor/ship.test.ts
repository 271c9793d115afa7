import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer as createHttpsServer, type Server } from 'node:https';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger, type Clock } from '../core/index.js';
import type { Alert } from '../threat/alert.js';
import { createShipper, SENSOR_ALERTS_PATH } from './ship.js';

// A real HTTPS server (self-signed certificate made by openssl for 127.0.0.1) receives the batches.

const hasOpenssl = (() => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
if (!hasOpenssl) console.warn('ship.test: openssl is not installed, cannot make a test certificate: HTTPS shipping tests skip');

function alert(n: number): Alert {
  return {
    id: `alert-${String(n).padStart(6, '0')}`,
    groupKey: `K8S.NODE_ReverseShell|node-1|host|/bin/sh|${n}`,
    rule: 'K8S.NODE_ReverseShell',
    title: 'Potential reverse shell detected',
    severity: 'medium',
    source: 'runtime',
    time: '2026-11-20T10:00:00.000Z',
    lastSeen: '2026-11-20T10:00:00.000Z',
    count: 1,
    status: 'new',
    message: `reverse shell sh in host on node-1: stdin 203.0.113.7:4444, command sh [sh(${n}) < bash(1)]`,
    subject: { user: 'uid:0', groups: [], sourceIPs: [] },
    target: { resource: 'nodes', name: 'node-1' },
    mitre: { tactics: ['Execution'], techniques: ['T1059.004'] },
    evidence: [{ pid: n }],
  };
}

class TestClock implements Clock {
  constructor(public ms: number) {}
  now(): Date {
    return new Date(this.ms);
  }
}

interface Received {
  keys: string[];
  auth: string[];
  stored: Map<string, number>;
}

describe.skipIf(!hasOpenssl)('shipping alerts over HTTPS', () => {
  let dir: string;
  let cert: string;
  let key: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'palisade-ship-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
    key = readFileSync(join(dir, 'key.pem'), 'utf8');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** A receiver that stores alerts by id once per Idempotency-Key; `dropFirst` hangs up on the first request after reading it. */
  async function receiver(port = 0, options: { dropFirst?: boolean; status?: number } = {}): Promise<{ server: Server; port: number; got: Received }> {
    const got: Received = { keys: [], auth: [], stored: new Map() };
    const seenKeys = new Set<string>();
    let first = true;
    const server = createHttpsServer({ cert, key }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const idem = String(req.headers['idempotency-key'] ?? '');
        got.keys.push(idem);
        got.auth.push(String(req.headers.authorization ?? ''));
        if (req.url !== SENSOR_ALERTS_PATH) {
          res.writeHead(404).end();
          return;
        }
        if (!seenKeys.has(idem)) {
          seenKeys.add(idem);
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { alerts: Array<{ id: string }> };
          for (const a of body.alerts) got.stored.set(a.id, (got.stored.get(a.id) ?? 0) + 1);
        }
        if (options.dropFirst && first) {
          first = false;
          req.socket.destroy();
          return;
        }
        res.writeHead(options.status ?? 202).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
    const address = server.address();
    return { server, port: typeof address === 'object' && address !== null ? address.port : 0, got };
  }

  async function freePort(): Promise<number> {
    const s = createNetServer();
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', () => resolve()));
    const address = s.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    await new Promise<void>((resolve) => s.close(() => resolve()));
    return port;
  }

  it('delivers batches with the node token and an idempotency key, verifying the server certificate', async () => {
    const r = await receiver();
    const clock = new TestClock(Date.parse('2026-11-20T10:00:00Z'));
    const shipper = createShipper({ server: `https://127.0.0.1:${r.port}`, token: 'node-token-1', node: 'node-1', clock, log: silentLogger, ca: cert, batchSize: 4 });
    shipper.enqueue([1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map(alert));
    shipper.seal();
    for (let i = 0; i < 5; i++) await shipper.pump();
    r.server.close();
    expect([...r.got.stored.keys()].sort()).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((n) => alert(n).id));
    expect(r.got.auth).toEqual(['Bearer node-token-1', 'Bearer node-token-1', 'Bearer node-token-1']);
    expect(new Set(r.got.keys).size).toBe(3);
    expect(shipper.counters()).toMatchObject({ batchesSealed: 3, batchesSent: 3, alertsSent: 10, bufferedBatches: 0, droppedAlerts: 0 });
  });

  it('refuses a server whose certificate it cannot verify, and keeps the batch', async () => {
    const r = await receiver();
    const shipper = createShipper({ server: `https://127.0.0.1:${r.port}`, token: 't', node: 'n', clock: new TestClock(0), log: silentLogger });
    shipper.enqueue([alert(1)]);
    shipper.seal();
    await shipper.pump();
    r.server.close();
    expect(r.got.keys).toEqual([]);
    expect(shipper.counters()).toMatchObject({ batchesSent: 0, bufferedBatches: 1, failures: 1 });
    expect(shipper.counters().lastError).toMatch(/self[- ]signed certificate/);
  });

  it('resends a batch whose answer was lost with the same key, so the server stores it once', async () => {
    const r = await receiver(0, { dropFirst: true });
    const clock = new TestClock(1_000_000);
    const shipper = createShipper({ server: `https://127.0.0.1:${r.port}`, token: 't', node: 'n', clock, log: silentLogger, ca: cert, random: () => 0.5 });
    shipper.enqueue([alert(1), alert(2)]);
    shipper.seal();
    await shipper.pump();
    expect(shipper.counters()).toMatchObject({ batchesSent: 0, failures: 1, backoffMs: 1000 });
    await shipper.pump();
    expect(r.got.keys.length).toBe(1);
    clock.ms += 1000;
    await shipper.pump();
    r.server.close();
    expect(r.got.keys.length).toBe(2);
    expect(r.got.keys[0]).toBe(r.got.keys[1]);
    expect([...r.got.stored.entries()]).toEqual([
      [alert(1).id, 1],
      [alert(2).id, 1],
    ]);
    expect(shipper.counters()).toMatchObject({ batchesSent: 1, bufferedBatches: 0 });
  });

  it('survives a server that is down for an hour: bounded disk buffer, drop counters, then delivers the rest once', async () => {
    const port = await freePort();
    const bufferDir = join(dir, 'buffer-hour');
    const clock = new TestClock(Date.parse('2026-11-20T10:00:00Z'));
    const maxBufferBytes = 256 * 1024;
    const shipper = createShipper({ server: `https://127.0.0.1:${port}`, token: 't', node: 'node-1', clock, log: silentLogger, ca: cert, bufferDir, maxBufferBytes, batchSize: 50, flushMs: 1000, maxBackoffMs: 300_000, random: () => 0.5 });
    let n = 0;
    let maxDirBytes = 0;
    for (let second = 0; second < 3600; second++) {
      clock.ms += 1000;
      shipper.enqueue([alert(n++), alert(n++)]);
      await shipper.pump();
      if (second % 60 === 0) {
        const bytes = readdirSync(bufferDir).reduce((sum, f) => sum + statSync(join(bufferDir, f)).size, 0);
        maxDirBytes = Math.max(maxDirBytes, bytes);
      }
    }
    shipper.seal();
    const down = shipper.counters();
    expect(n).toBe(7200);
    expect(down.attempts).toBeLessThan(30);
    expect(down.batchesSent).toBe(0);
    expect(down.droppedAlerts).toBeGreaterThan(0);
    expect(down.bufferedBytes).toBeLessThanOrEqual(maxBufferBytes);
    expect(maxDirBytes).toBeLessThanOrEqual(maxBufferBytes);
    // The server comes back on the same port; a restarted sensor picks up the buffer from disk.
    const r = await receiver(port);
    const restarted = createShipper({ server: `https://127.0.0.1:${port}`, token: 't', node: 'node-1', clock, log: silentLogger, ca: cert, bufferDir, maxBufferBytes });
    expect(restarted.counters().bufferedBatches).toBe(down.bufferedBatches);
    for (let i = 0; i < down.bufferedBatches + 5 && restarted.counters().bufferedBatches > 0; i++) await restarted.pump();
    r.server.close();
    expect(restarted.counters().bufferedBatches).toBe(0);
    expect(readdirSync(bufferDir)).toEqual([]);
    const delivered = r.got.stored;
    expect([...delivered.values()].every((count) => count === 1)).toBe(true);
    // Nothing was lost silently: every alert either arrived (once) or was counted as dropped.
    expect(delivered.size + down.droppedAlerts).toBe(7200);
    // The newest alerts are the ones kept.
    expect(delivered.has(alert(7199 - 100).id)).toBe(true);
    expect(delivered.has(alert(0).id)).toBe(false);
  }, 30_000);

  it('drops and counts a batch the server refuses as bad input', async () => {
    const r = await receiver(0, { status: 400 });
    const shipper = createShipper({ server: `https://127.0.0.1:${r.port}`, token: 't', node: 'n', clock: new TestClock(0), log: silentLogger, ca: cert });
    shipper.enqueue([alert(1)]);
    shipper.seal();
    await shipper.pump();
    r.server.close();
    expect(shipper.counters()).toMatchObject({ rejectedBatches: 1, bufferedBatches: 0, lastError: 'HTTP 400' });
  });

  it.each([
    [{ server: 'http://palisade.example.com' }, '--server http://palisade.example.com is plain http: the node token must travel over https (http is accepted on loopback only)'],
    [{ server: 'not a url' }, '--server not a url is not a URL: use https://host[:port]'],
    [{ server: 'https://x', token: '' }, 'the sensor token is empty: pass --token or PALISADE_SENSOR_TOKEN'],
  ])('refuses bad settings %j', (bad, message) => {
    const base = { server: 'https://x', token: 't', node: 'n', clock: new TestClock(0), log: silentLogger };
    expect(() => createShipper({ ...base, ...bad })).toThrow(message);
  });
});

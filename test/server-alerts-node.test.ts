import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { silentLogger, type Clock } from '../src/core/index.js';
import { parseConfig } from '../src/config/index.js';
import { createShipper } from '../src/sensor/ship.js';
import { createServer, type ServerParts } from '../src/server/server.js';
import { alertSchema } from '../src/store/index.js';
import { storeBackends } from './server-support.js';

/**
 * The alerts list filtered by node: two nodes' sensors ship runtime alerts with their own shipper
 * (the second an older sensor that leaves `target.node` to its batch), and GET /api/v1/alerts?node=
 * answers each node's alerts — on SQLite and PostgreSQL.
 */

const READER = 'reader-token-0123456789';
const SENSOR_TOKEN = 'sensor-node-token-0123456789';
const BACKENDS = await storeBackends('server-alerts-node');
const fixedAt = (iso: string): Clock => ({ now: () => new Date(iso) });

function minerAlert(id: string, node: string | undefined, time: string): unknown {
  return {
    id,
    rule: 'K8S.NODE_DigitalCurrencyMining',
    title: 'Digital currency mining related behavior detected',
    severity: 'high',
    source: 'runtime',
    time,
    lastSeen: time,
    message: `xmrig(4242) in pod shop/web-1 ran "./xmrig -o stratum+tcp://pool.minexmr.example:4444" on node ${node ?? 'worker-2'}`,
    subject: { user: 'uid:0', groups: [], sourceIPs: [] },
    target: { namespace: 'shop', name: 'web-1', container: 'web', ...(node !== undefined ? { node } : {}) },
    mitre: { tactics: ['Impact'], techniques: ['T1496'] },
    evidence: [{ pid: 4242 }],
    groupKey: `K8S.NODE_DigitalCurrencyMining|${id}`,
    count: 1,
    status: 'new',
  };
}

describe.each(BACKENDS)('alerts list by node over $name', (backend) => {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-alerts-node-'));
  let server: ServerParts;
  let base = '';
  let drop: () => Promise<void> = async () => undefined;

  beforeAll(async () => {
    if (backend.skip) return;
    const db = await backend.open(dir);
    drop = db.drop;
    const config = parseConfig(
      {
        server: { host: '127.0.0.1', port: 0 },
        database: db.database,
        advisoryDb: join(dir, 'no-advisories.sqlite'),
        auth: { tokens: [{ name: 'dashboard', token: READER, role: 'reader' }] },
        workers: { concurrency: 0 },
        alerts: { sensorTokens: [{ name: 'nodes', token: SENSOR_TOKEN, cluster: 'prod-eu' }] },
      },
      {},
      'test config',
    );
    server = await createServer(config, { clock: fixedAt('2026-03-10T10:00:00Z'), log: silentLogger });
    base = await server.app.listen({ host: '127.0.0.1', port: 0 });
  });

  afterAll(async () => {
    await server?.close();
    await drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(backend.skip)('answers each node\'s runtime alerts', async () => {
    const ship = async (node: string, alerts: unknown[]): Promise<void> => {
      const shipper = createShipper({ server: base, token: SENSOR_TOKEN, node, clock: fixedAt('2026-03-10T10:00:05Z'), log: silentLogger });
      shipper.enqueue(alerts.map((a) => alertSchema.parse(a)));
      shipper.seal();
      await shipper.pump();
      expect(shipper.counters()).toMatchObject({ batchesSent: 1, failures: 0 });
    };
    await ship('worker-1', [minerAlert('a0000000000000000001', 'worker-1', '2026-03-10T09:59:00.000Z'), minerAlert('a0000000000000000002', 'worker-1', '2026-03-10T09:59:30.000Z')]);
    // An older sensor: no target.node; the server stores the batch's node there.
    await ship('worker-2', [minerAlert('a0000000000000000003', undefined, '2026-03-10T09:59:45.000Z')]);

    const ids = async (query: string): Promise<[number, string[]]> => {
      const res = await server.app.inject({ method: 'GET', url: `/api/v1/alerts${query}`, headers: { authorization: `Bearer ${READER}` } });
      expect(res.statusCode).toBe(200);
      const page = z.object({ total: z.number(), items: z.array(z.object({ id: z.string(), target: z.object({ node: z.string().optional() }) })) }).parse(res.json());
      return [page.total, page.items.map((a) => `${a.id}@${a.target.node ?? ''}`)];
    };
    expect(await ids('?node=worker-1')).toEqual([2, ['a0000000000000000002@worker-1', 'a0000000000000000001@worker-1']]);
    expect(await ids('?node=worker-2')).toEqual([1, ['a0000000000000000003@worker-2']]);
    expect(await ids('?node=worker-2&source=audit')).toEqual([0, []]);
    expect(await ids('?node=worker-9')).toEqual([0, []]);
    expect((await ids(''))[0]).toBe(3);
    const empty = await server.app.inject({ method: 'GET', url: '/api/v1/alerts?node=', headers: { authorization: `Bearer ${READER}` } });
    expect(empty.statusCode).toBe(400);
  });
});

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { silentLogger, systemClock } from '../src/core/index.js';
import { parseConfig } from '../src/config/index.js';
import { createServer, type ServerParts } from '../src/server/server.js';
import { assertBuilt, runCli } from './support/cli.js';

// The node name from the sensor to the stored alert: `palisade sensor` (built CLI, a real process)
// ships to a real Palisade server (SQLite), which stores and lists the alert with target.node.

const SENSOR_TOKEN = 'sensor-node-token-abcdef0123456789';
const READER = 'reader-token-abcdef0123456789';

const listView = z.object({
  total: z.number(),
  items: z.array(z.object({ rule: z.string(), message: z.string(), target: z.object({ node: z.string().optional(), name: z.string().optional(), resource: z.string().optional() }) })),
});

/** A Falco line without a hostname: the event's node is the sensor's own node name. */
const FALCO_MINER = JSON.stringify({
  time: '2026-11-20T10:00:00Z',
  output_fields: { 'evt.type': 'execve', 'proc.name': 'xmrig', 'proc.pid': 4242, 'proc.exepath': '/tmp/xmrig', 'proc.cmdline': 'xmrig -o stratum+tcp://pool.example.net:3333', 'container.id': 'host' },
});

describe('sensor → server: the node an alert came from', () => {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-sensor-server-'));
  let server: ServerParts;
  let base = '';

  const list = async (): Promise<z.infer<typeof listView>> => {
    const res = await server.app.inject({ method: 'GET', url: '/api/v1/alerts?source=runtime', headers: { authorization: `Bearer ${READER}` } });
    expect(res.statusCode).toBe(200);
    return listView.parse(res.json());
  };

  beforeAll(async () => {
    assertBuilt();
    const config = parseConfig(
      {
        server: { host: '127.0.0.1', port: 0 },
        database: join(dir, 'store.sqlite'),
        advisoryDb: join(dir, 'no-advisories.sqlite'),
        auth: { tokens: [{ name: 'dashboard', token: READER, role: 'reader' }] },
        workers: { concurrency: 0 },
        alerts: { sensorTokens: [{ name: 'node-sensors', token: SENSOR_TOKEN }] },
      },
      {},
      'test',
    );
    server = await createServer(config, { clock: systemClock, log: silentLogger });
    base = await server.app.listen({ host: '127.0.0.1', port: 0 });
  });

  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('ships alerts that name the node ($NODE_NAME, or --node-name over it) and the server lists them with it', async () => {
    const falco = join(dir, 'falco.jsonl');
    writeFileSync(falco, `${FALCO_MINER}\n`);
    const fromEnv = await runCli(['sensor', '--once', '--no-proc', '--falco', falco, '--server', base, '--token', SENSOR_TOKEN], { env: { NODE_NAME: 'worker-9' } });
    expect(fromEnv.code, fromEnv.stderr).toBe(0);
    const fromFlag = await runCli(['sensor', '--once', '--no-proc', '--falco', falco, '--server', base, '--token', SENSOR_TOKEN, '--node-name', 'worker-10'], { env: { NODE_NAME: 'worker-9' } });
    expect(fromFlag.code, fromFlag.stderr).toBe(0);
    const page = await list();
    expect(page.items.map((a) => [a.rule, a.target.node, a.target.resource, a.target.name]).sort()).toEqual([
      ['K8S.NODE_CryptoCoinMinerArtifacts', 'worker-10', 'nodes', 'worker-10'],
      ['K8S.NODE_CryptoCoinMinerArtifacts', 'worker-9', 'nodes', 'worker-9'],
      ['K8S.NODE_DigitalCurrencyMining', 'worker-10', 'nodes', 'worker-10'],
      ['K8S.NODE_DigitalCurrencyMining', 'worker-9', 'nodes', 'worker-9'],
    ]);
  });

  it('stores the batch node on alerts from sensors that do not set target.node', async () => {
    const alert = {
      id: 'b1c2d3e4f5a6b7c8d9e0',
      groupKey: 'K8S.NODE_ReverseShell|old-node|host|/bin/sh|',
      rule: 'K8S.NODE_ReverseShell',
      title: 'Potential reverse shell detected',
      severity: 'medium',
      source: 'runtime',
      time: '2026-11-20T11:00:00.000Z',
      lastSeen: '2026-11-20T11:00:00.000Z',
      count: 1,
      status: 'new',
      message: 'reverse shell sh in host on old-node',
      subject: { user: 'uid:0', groups: [], sourceIPs: [] },
      target: { resource: 'nodes', name: 'old-node' },
      mitre: { tactics: ['Execution'], techniques: ['T1059.004'] },
      evidence: [],
    };
    const res = await server.app.inject({
      method: 'POST',
      url: '/api/v1/sensor/alerts',
      payload: JSON.stringify({ schemaVersion: 1, node: 'old-node', batchId: 'batch-old-1', alerts: [alert] }),
      headers: { 'content-type': 'application/json', authorization: `Bearer ${SENSOR_TOKEN}`, 'idempotency-key': 'batch-old-1' },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect((await list()).items.filter((a) => a.rule === 'K8S.NODE_ReverseShell').map((a) => a.target.node)).toEqual(['old-node']);
  });
});

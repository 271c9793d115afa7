import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyWebhookSignature } from '../threat/alert.js';
import { sampleEvent } from '../threat/audit/samples.js';
import { registerAudit } from './audit.js';
import { runGroup } from './__fixtures__/run.js';

const dir = mkdtempSync(join(tmpdir(), 'palisade-cli-audit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(args: string[]): Promise<{ out: string; err: string }> {
  return runGroup(registerAudit, ['audit', 'analyze', ...args], dir);
}

const line = (patch: Record<string, unknown>, i: number): string => JSON.stringify(sampleEvent(patch, i, 'cli'));

const execAt = (iso: string, i: number): string =>
  line(
    {
      verb: 'create',
      requestURI: '/api/v1/namespaces/payments/pods/api-0/exec?command=sh&stdin=true&tty=true',
      objectRef: { resource: 'pods', subresource: 'exec', namespace: 'payments', name: 'api-0' },
      responseStatus: { code: 101 },
      requestReceivedTimestamp: iso,
      stageTimestamp: iso,
    },
    i,
  );

const kubeHunter = line(
  { verb: 'list', user: { username: 'system:anonymous', groups: ['system:unauthenticated'] }, userAgent: 'kube-hunter/0.6.8', sourceIPs: ['192.168.49.1'], objectRef: { resource: 'namespaces', namespace: null, name: null }, responseStatus: { code: 403 } },
  9,
);
const ordinary = line({ verb: 'get', objectRef: { resource: 'configmaps', namespace: 'shop', name: 'cart-config' } }, 10);

const plain = join(dir, 'audit.log');
writeFileSync(
  plain,
  [
    ordinary,
    execAt('2026-11-20T10:00:00.000Z', 1),
    execAt('2026-11-20T10:01:00.000Z', 2),
    '{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"cut',
    kubeHunter,
    `{"kind":"Event","apiVersion":"audit.k8s.io/v1","requestObject":"${'A'.repeat(5000)}"}`,
    '',
  ].join('\n'),
);
const rotatedDir = join(dir, 'rotated');
mkdirSync(rotatedDir);
writeFileSync(join(rotatedDir, 'audit-2026-11-20T09-00-00.000.log.gz'), gzipSync(`${execAt('2026-11-20T09:00:00.000Z', 3)}\n`));

describe('palisade audit analyze', () => {
  it('prints a table of grouped alerts and a summary with skipped lines on stderr', async () => {
    const { out, err } = await run([plain, '--max-line-bytes', '4096', '--cluster', 'prod-eu']);
    expect(out).toBe(
      [
        'TIME                      SEVERITY  RULE                        COUNT  CLUSTER  MESSAGE',
        '2026-11-20T10:00:00.000Z  low       K8S_PenTestToolsKubeHunter  1      prod-eu  system:anonymous called list namespaces * with a penetration-testing tool (kube-hunter/0.6.8) from 192.168.49.1',
        '2026-11-20T10:00:00.000Z  low       PAL_ExecIntoPod             2      prod-eu  alice@example.com ran a command in pod payments/api-0 (kubectl/v1.30.2 (linux/amd64) kubernetes/3968350) from 10.20.30.40',
        '',
        '2 alerts',
        '',
      ].join('\n'),
    );
    expect(err).toMatch(/^palisade: analysed 4 events \(5 records, 0 other stages\) in [\d.]+ s, \d+ events\/s; skipped 2 \(line over 4096 bytes: 1, truncated JSON: 1\); 2 alerts\n$/);
  });

  it('writes JSON lines, reads a directory of rotated gzip logs, and applies suppressions', async () => {
    const suppressions = join(dir, 'suppress.yaml');
    writeFileSync(suppressions, 'suppressions:\n  - rule: K8S_PenTestToolsKubeHunter\n    sourceIPs: [192.168.49.0/24]\n    reason: weekly kube-hunter run from the security team\n');
    const { out, err } = await run([rotatedDir, plain, '--format', 'jsonl', '--suppressions', suppressions]);
    const alerts = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(alerts.map((a) => [a.rule, a.count, a.time])).toEqual([
      ['PAL_ExecIntoPod', 1, '2026-11-20T09:00:00.000Z'],
      ['PAL_ExecIntoPod', 2, '2026-11-20T10:00:00.000Z'],
    ]);
    expect(alerts[0]).toMatchObject({ schemaVersion: 1, status: 'new', source: 'audit', mitre: { tactics: ['Execution'], techniques: ['T1609'] } });
    expect(err).toMatch(/; 2 alerts, 1 suppressed\n$/);
  });

  it('merges a user rules directory over the built-ins', async () => {
    const rules = join(dir, 'site-rules');
    mkdirSync(rules);
    writeFileSync(join(rules, 'site.yaml'), 'rules:\n  - id: PAL_ExecIntoPod\n    enabled: false\n');
    const { out } = await run([plain, '--rules', rules, '--format', 'jsonl']);
    expect(out.trim().split('\n').map((l) => JSON.parse(l).rule)).toEqual(['K8S_PenTestToolsKubeHunter']);
  });

  it('posts the alerts to a webhook, signed with the secret from the environment', async () => {
    const bodies: Array<{ ok: boolean; alerts: string[] }> = [];
    const secret = 'cli-test-secret-0123456789';
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        const ok = verifyWebhookSignature(secret, String(req.headers[TIMESTAMP_HEADER]), body, String(req.headers[SIGNATURE_HEADER]), Math.floor(Date.now() / 1000));
        const parsed: { alerts: Array<{ rule: string }> } = JSON.parse(body);
        bodies.push({ ok, alerts: parsed.alerts.map((a) => a.rule) });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    process.env.PALISADE_WEBHOOK_SECRET = secret;
    try {
      await run([plain, '--format', 'jsonl', '--webhook', `http://127.0.0.1:${port}/hook`]);
    } finally {
      delete process.env.PALISADE_WEBHOOK_SECRET;
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    expect(bodies).toEqual([{ ok: true, alerts: ['PAL_ExecIntoPod', 'K8S_PenTestToolsKubeHunter'] }]);
  });

  it('refuses --webhook without a secret', async () => {
    await expect(run([plain, '--webhook', 'http://127.0.0.1:9/hook'])).rejects.toThrow(/PALISADE_WEBHOOK_SECRET/);
  });

  it('says what is wrong with a missing file', async () => {
    await expect(run([join(dir, 'missing.log')])).rejects.toThrow(/audit log .*missing.log does not exist/);
  });
});

import { spawn } from 'node:child_process';
import { request } from 'node:https';
import { resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { z } from 'zod';
import { assertBuilt, CLI, runCli } from './support/cli.js';

const FIXTURES = resolve(import.meta.dirname, '../src/policy/__fixtures__');

describe('palisade policy / admission commands', () => {
  beforeAll(() => assertBuilt());

  it('policy test runs a user policy\'s samples and reports the wrong one', async () => {
    const run = await runCli(['policy', 'test', resolve(FIXTURES, 'user-policies')]);
    expect(run.stdout).toContain('ok   immutable-team-label pass: same team\n');
    expect(run.stdout).toContain('ok   immutable-team-label fail: team changed\n');
    expect(run.stdout).toContain('FAIL immutable-team-label fail: this sample is wrong on purpose and must be reported\n     no violation\n');
    expect(run.stdout).toContain('3/4 samples behave as expected');
    expect(run.code).toBe(1);
  });

  it('policy test passes on a built-in policy folder', async () => {
    const run = await runCli(['policy', 'test', resolve(import.meta.dirname, '../src/policy/library/no-privileged-containers')]);
    expect(run.stdout).toContain('5/5 samples behave as expected');
    expect(run.code).toBe(0);
  });

  it('policy audit prints compliance per policy and namespace', async () => {
    const run = await runCli(['policy', 'audit', '--from', resolve(FIXTURES, 'cluster'), '--format', 'json']);
    expect(run.code).toBe(0);
    const report = z
      .object({ objects: z.number(), policies: z.array(z.object({ assignment: z.string(), compliant: z.number(), nonCompliant: z.number(), byNamespace: z.record(z.string(), z.object({ compliant: z.number(), nonCompliant: z.number() })) })) })
      .parse(JSON.parse(run.stdout));
    expect(report.objects).toBe(5);
    expect(report.policies.map((p) => [p.assignment, p.compliant, p.nonCompliant, p.byNamespace])).toEqual([
      ['pod-security-restricted/pod-security-standards', 1, 2, { shop: { compliant: 1, nonCompliant: 1 }, monitoring: { compliant: 0, nonCompliant: 1 } }],
      ['pod-security-baseline/pod-security-standards', 2, 1, { shop: { compliant: 2, nonCompliant: 0 }, monitoring: { compliant: 0, nonCompliant: 1 } }],
    ]);
    const table = await runCli(['policy', 'audit', '--from', resolve(FIXTURES, 'cluster')]);
    expect(table.stdout).toContain('Compliance of 5 objects in offline');
  });

  it('admission manifests prints installable YAML with a caBundle', async () => {
    const run = await runCli(['admission', 'manifests', '--namespace', 'palisade-system']);
    expect(run.code).toBe(0);
    const kinds = parseAllDocuments(run.stdout).map((d) => z.object({ kind: z.string() }).parse(d.toJS()).kind);
    expect(kinds).toEqual(['Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Secret', 'Service', 'Deployment', 'PodDisruptionBudget', 'ValidatingWebhookConfiguration']);
    expect(run.stdout).toMatch(/caBundle: LS0tLS1CRUdJTi/);
  });

  it('refuses an assignments file with a bad parameter, naming it', async () => {
    const run = await runCli(['policy', 'audit', '--from', resolve(FIXTURES, 'cluster'), '--assignments', resolve(FIXTURES, 'bad-assignments.yaml')]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('palisade: assignment limits: parameters of policy resource-limits do not match its schema: parameters.memoryLimit: is required');
  });

  it('palisade admission --self-signed serves reviews and stops on SIGTERM', async () => {
    const child = spawn(process.execPath, [CLI, 'admission', '--self-signed', '--name', 'localhost', '--port', '0', '--host', '127.0.0.1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((r) => child.on('close', r));
    try {
      const started = Date.now();
      while (!/listening on https:\/\/127\.0\.0\.1:(\d+)/.test(stderr) || !stdout.includes('caBundle: ')) {
        if (Date.now() - started > 30_000) throw new Error(`webhook did not start: ${stderr}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const port = Number(/listening on https:\/\/127\.0\.0\.1:(\d+)/.exec(stderr)?.[1]);
      const ca = Buffer.from(/caBundle: (\S+)/.exec(stdout)?.[1] ?? '', 'base64').toString('utf8');
      const body = JSON.stringify({
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        request: {
          uid: 'b1d4c3a2-0000-4000-8000-000000000001',
          kind: { group: '', version: 'v1', kind: 'Pod' },
          resource: { group: '', version: 'v1', resource: 'pods' },
          namespace: 'shop',
          operation: 'CREATE',
          userInfo: { username: 'alice@example.com' },
          object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'shop' }, spec: { containers: [{ name: 'c', image: 'nginx:1.27', securityContext: { privileged: true } }] } },
        },
      });
      const answer = await new Promise<string>((resolvePromise, reject) => {
        const req = request({ host: '127.0.0.1', port, path: '/validate', method: 'POST', ca, servername: 'localhost', headers: { 'content-type': 'application/json' } }, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolvePromise(text));
        });
        req.on('error', reject);
        req.end(body);
      });
      const parsed = z.object({ response: z.object({ allowed: z.boolean(), status: z.object({ message: z.string() }) }) }).parse(JSON.parse(answer));
      expect(parsed.response.allowed).toBe(false);
      expect(parsed.response.status.message).toContain('[pod-security-standards] violates PodSecurity "baseline:latest": privileged');
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });
});

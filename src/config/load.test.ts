import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from './index.js';

const base = {
  advisoryDb: '/var/lib/palisade/vulndb.sqlite',
  auth: { tokens: [{ name: 'ci', token: 'ci-token-0123456789abcdef', role: 'admin' }] },
};

describe('server configuration', () => {
  it('applies defaults and environment overrides (keys matched without case, values typed)', () => {
    const config = parseConfig(base, { PALISADE__SERVER__PORT: '9443', PALISADE__DATABASE: 'postgres://palisade@db:5432/palisade', PALISADE__WORKERS__CONCURRENCY: '4', PALISADE__RESCAN__INCLUDERUNNING: 'false', HOME: '/root' }, 'palisade.yaml');
    expect(config.server).toEqual({ host: '127.0.0.1', port: 9443, bodyLimit: 1048576 });
    expect(config.database).toBe('postgres://palisade@db:5432/palisade');
    expect(config.workers).toEqual({ concurrency: 4, leaseSeconds: 60, maxAttempts: 3, retryDelaySeconds: 30, pollMilliseconds: 500 });
    expect(config.rescan).toEqual({ pushedWithinDays: 90, pulledWithinDays: 30, includeRunning: false, dailyAtHourUtc: 3, checkIntervalSeconds: 60 });
  });

  it.each([
    ['a port out of range', { ...base, server: { port: 70000 } }, {}, '  server.port: Too big: expected number to be <=65535'],
    ['a typo in a key', { ...base, workres: { concurrency: 2 } }, {}, '  (root): Unrecognized key: "workres"'],
    ['a short token', { ...base, auth: { tokens: [{ name: 'ci', token: 'short', role: 'admin' }] } }, {}, '  auth.tokens.0.token: use at least 16 characters'],
    ['a bad registry URL', { ...base, registries: [{ name: 'local', url: 'not a url' }] }, {}, '  registries.0.url: Invalid URL'],
    ['a webhook without a secret', { ...base, events: { webhookUrl: 'https://hooks.example.com/palisade' } }, {}, '  events.webhookSecret: events.webhookUrl needs events.webhookSecret to sign deliveries'],
    ['a short audit webhook token', { ...base, alerts: { auditTokens: [{ name: 'apiserver', token: 'short' }] } }, {}, '  alerts.auditTokens.0.token: use at least 16 characters'],
    ['a suppression without a reason', { ...base, alerts: { suppressions: [{ rule: 'PAL_ExecIntoPod' }] } }, {}, '  alerts.suppressions.0.reason: Invalid input: expected string, received undefined'],
    ['a wrong type from the environment', base, { PALISADE__SERVER__PORT: 'eighty' }, '  server.port: Invalid input: expected number, received string'],
  ])('names the key on %s', (_name, document, env, line) => {
    expect(() => parseConfig(document, env, 'palisade.yaml')).toThrow(`palisade.yaml: invalid configuration (environment overrides PALISADE__… included):\n${line}`);
  });

  it.each([
    ['a cluster with two sources', { ...base, clusters: [{ name: 'prod', kubeconfig: '/etc/kubeconfig', from: ['dump.json'] }] }, '  clusters.0: set exactly one of kubeconfig (with context), inCluster: true or from: [files]'],
    ['a cluster with no source', { ...base, clusters: [{ name: 'prod' }] }, '  clusters.0: set exactly one of kubeconfig (with context), inCluster: true or from: [files]'],
    ['a context without a kubeconfig', { ...base, clusters: [{ name: 'prod', context: 'prod', inCluster: true }] }, '  clusters.0.context: context needs kubeconfig: the path of the kubeconfig file'],
    ['a cluster name twice', { ...base, clusters: [{ name: 'prod', inCluster: true }, { name: 'prod', from: ['dump.json'] }] }, '  clusters.1.name: cluster name "prod" is used twice'],
    ['a cluster name unfit for URLs', { ...base, clusters: [{ name: 'Prod EU', inCluster: true }] }, '  clusters.0.name: lower-case letters, digits, ".", "_" or "-"'],
  ])('refuses %s', (_name, document, line) => {
    expect(() => parseConfig(document, {}, 'palisade.yaml')).toThrow(`palisade.yaml: invalid configuration (environment overrides PALISADE__… included):\n${line}`);
  });

  it('accepts the example configuration shipped beside the schema', () => {
    const config = loadConfig(fileURLToPath(new URL('./palisade.example.yaml', import.meta.url)), {});
    expect([config.registries[0]?.name, config.registries[0]?.include, config.events.minSeverity, config.auth.tokens.map((t) => t.role)]).toEqual(['internal', ['apps/**', 'base/*'], 'high', ['reader', 'admin']]);
    expect([config.alerts.auditTokens[0]?.cluster, config.alerts.sensorTokens[0]?.name, config.alerts.auditMaxConcurrent, config.alerts.suppressions[0]?.rule]).toEqual(['prod-eu', 'prod-eu-nodes', 4, 'PAL_ExecIntoPod']);
    expect(config.clusters.map((c) => [c.name, c.intervalSeconds, c.kubeconfig ?? c.from?.[0] ?? 'in-cluster'])).toEqual([
      ['prod-eu', 900, '/etc/palisade/kubeconfig'],
      ['self', 900, 'in-cluster'],
      ['airgap', 900, '/srv/palisade/airgap-dump.json'],
    ]);
    expect(config.clusters.map((c) => [c.name, c.policy])).toEqual([
      ['prod-eu', { enabled: true, policies: [], maxViolationsPerPolicy: 1000 }],
      ['self', { enabled: true, assignments: '/etc/palisade/assignments.yaml', policies: ['/etc/palisade/policies'], maxViolationsPerPolicy: 1000 }],
      ['airgap', { enabled: true, policies: [], maxViolationsPerPolicy: 1000 }],
    ]);
    expect([config.admission.tokens[0]?.cluster, config.admission.retentionDays]).toEqual(['prod-eu', 90]);
  });

  it('resolves relative paths against the file and reports YAML errors with the file name', () => {
    const dir = mkdtempSync(join(tmpdir(), 'palisade-config-'));
    const path = join(dir, 'palisade.yaml');
    writeFileSync(
      path,
      'advisoryDb: data/vulndb.sqlite\ndatabase: store.sqlite\nauth:\n  tokens:\n    - {name: ci, token: ci-token-0123456789abcdef, role: reader}\nalerts:\n  auditStateFile: state/audit.sqlite\n  auditRules: [rules/audit]\nclusters:\n  - {name: prod, kubeconfig: kube/config, context: prod}\n  - {name: dump, from: [dumps/prod.json, /abs/manifests], policy: {assignments: policy/assignments.yaml, policies: [policy/mine]}}\n',
    );
    const config = loadConfig(path, {});
    expect([config.advisoryDb, config.database]).toEqual([join(dir, 'data/vulndb.sqlite'), join(dir, 'store.sqlite')]);
    expect([config.alerts.auditStateFile, config.alerts.auditRules]).toEqual([join(dir, 'state/audit.sqlite'), [join(dir, 'rules/audit')]]);
    expect(config.clusters.map((c) => c.kubeconfig ?? c.from)).toEqual([join(dir, 'kube/config'), [join(dir, 'dumps/prod.json'), '/abs/manifests']]);
    expect(config.clusters[1]?.policy).toEqual({ enabled: true, assignments: join(dir, 'policy/assignments.yaml'), policies: [join(dir, 'policy/mine')], maxViolationsPerPolicy: 1000 });
    writeFileSync(path, 'auth: [unclosed\n');
    expect(() => loadConfig(path, {})).toThrow(`${path} is not valid YAML`);
  });
});

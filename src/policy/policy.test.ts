import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { fixedClock, silentLogger } from '../core/index.js';
import { createInventoryBuilder } from '../kube/index.js';
import { auditInventory, formatComplianceReport } from './audit.js';
import { bindAssignments, createPolicyEngine, globToRegExp } from './engine.js';
import { createImageGate, type FindingsLookup, type ImageFindings } from './gating.js';
import { applyDefaults, validate, type ParamSchema } from './json-schema.js';
import { loadLibrary, loadPolicyDir } from './load.js';
import { admissionManifests } from './manifests.js';
import { sampleInput } from './samples.js';
import { gatingSchema } from './schema.js';

const tmp = mkdtempSync(join(tmpdir(), 'palisade-policy-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const library = loadLibrary();

function policyDir(name: string, text: string): string {
  const dir = join(tmp, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'policy.yaml'), text);
  return dir;
}

describe('policy files', () => {
  it.each([
    [
      'a YAML syntax error',
      'id: broken\ntitle: Broken\nvalidations:\n  - expression: "true"\n    message: [unclosed\n',
      /policy\.yaml:6:1: YAML syntax error: /,
    ],
    [
      'a schema error, at the line of the bad node',
      'id: bad-severity\ntitle: Bad\ndescription: d\nseverity: extreme\ndefaultEffect: Audit\nvalidations:\n  - expression: "true"\n',
      /policy\.yaml:4: severity: Invalid option: expected one of "critical"\|"high"\|"medium"\|"low"\|"info"/,
    ],
    [
      'an unknown effect',
      'id: bad-effect\ntitle: Bad\ndescription: d\nseverity: low\ndefaultEffect: Block\nvalidations:\n  - expression: "true"\n',
      /policy\.yaml:5: defaultEffect: effect 'Block' is not one of Audit, Deny, Warn, Disabled/,
    ],
    [
      'a CEL parse error',
      'id: bad-cel\ntitle: Bad\ndescription: d\nseverity: low\ndefaultEffect: Audit\nvalidations:\n  - expression: "object.spec.(("\n',
      /validation 1: the CEL condition does not parse/,
    ],
  ])('refuses %s, naming the file and line', (_name, text, message) => {
    const dir = policyDir(`case-${_name.replace(/\W+/g, '-')}`, text);
    expect(() => {
      const loaded = loadPolicyDir(dir);
      const lib = { ...library, policies: new Map([...library.policies, [loaded.policy.id, loaded]]) };
      bindAssignments(lib, [{ name: 'x', policy: loaded.policy.id, match: {}, parameters: {} }]);
    }).toThrow(message);
  });
});

describe('assignments', () => {
  it.each([
    ['resource-limits', { cpuLimit: 2, memoryLimit: '1Gi' }, 'parameters.cpuLimit: expected a string, got number 2'],
    ['resource-limits', { cpuLimit: '2' }, 'parameters.memoryLimit: is required'],
    ['resource-limits', { cpuLimit: '2 cores', memoryLimit: '1Gi' }, "parameters.cpuLimit: '2 cores' does not match the pattern"],
    ['host-network-ports', { maxPort: 70000 }, 'parameters.maxPort: 70000 is above the maximum 65535'],
    ['allowed-pull-policy', { allowedPullPolicy: ['Sometimes'] }, 'parameters.allowedPullPolicy[0]: "Sometimes" is not one of "Always", "IfNotPresent", "Never"'],
    ['no-privileged-containers', { strict: true }, 'parameters.strict: unknown parameter (known: none)'],
  ])('%s with %o is refused at start-up', (policy, parameters, message) => {
    expect(() => bindAssignments(library, [{ name: 'a', policy, match: {}, parameters }])).toThrow(message);
  });

  it('refuses an effect the policy does not support and unknown ids', () => {
    expect(() => bindAssignments(library, [{ name: 'a', policy: 'cluster-admin-binding', effect: 'Deny', match: {}, parameters: {} }])).toThrow(
      'assignment a: policy cluster-admin-binding does not support effect Deny (allowed: Audit, Warn, Disabled)',
    );
    expect(() => bindAssignments(library, [{ name: 'a', policy: 'no-such-policy', match: {}, parameters: {} }])).toThrow('assignment a: unknown policy no-such-policy');
    expect(() => bindAssignments(library, [{ name: 'a', initiative: 'pod-security-baseline', match: {}, parameters: { 'allowed-images': {} } }])).toThrow(
      'parameters for allowed-images, which is not a member of initiative pod-security-baseline',
    );
  });

  it('skips the default system namespaces unless the assignment says otherwise', () => {
    const privileged = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'kube-proxy-x', namespace: 'kube-system' },
      spec: { containers: [{ name: 'p', image: 'registry.k8s.io/kube-proxy:v1.30.2', securityContext: { privileged: true } }] },
    };
    const byDefault = createPolicyEngine(bindAssignments(library, [{ name: 'a', policy: 'no-privileged-containers', match: {}, parameters: {} }]));
    expect(byDefault.evaluate(sampleInput({ name: 'x', object: privileged, operation: 'CREATE' })).violations).toEqual([]);
    const everywhere = createPolicyEngine(bindAssignments(library, [{ name: 'a', policy: 'no-privileged-containers', match: { excludedNamespaces: [] }, parameters: {} }]));
    expect(everywhere.evaluate(sampleInput({ name: 'x', object: privileged, operation: 'CREATE' })).violations.map((v) => v.field)).toEqual([
      'spec.containers[0].securityContext.privileged',
    ]);
  });

  it.each([
    ['registry.example.com/legacy/*', 'registry.example.com/legacy/erp:7', true],
    ['registry.example.com/legacy/*', 'registry.example.com/shop/web:1', false],
    ['*/istio/proxyv2:*', 'docker.io/istio/proxyv2:1.22.3', true],
  ])('glob %s on %s → %s', (glob, image, expected) => {
    expect(globToRegExp(glob).test(image)).toBe(expected);
  });
});

describe('parameter schemas', () => {
  const schema: ParamSchema = {
    type: 'object',
    properties: {
      level: { type: 'string', enum: ['baseline', 'restricted'], default: 'baseline' },
      ranges: { type: 'array', default: [], items: { type: 'object', required: ['min'], properties: { min: { type: 'integer' }, max: { type: 'integer', default: 65535 } } } },
    },
  };
  it.each([
    [{}, { level: 'baseline', ranges: [] }],
    [{ ranges: [{ min: 1000 }] }, { level: 'baseline', ranges: [{ min: 1000, max: 65535 }] }],
  ])('defaults %o → %o', (given, expected) => {
    expect(applyDefaults(schema, given)).toEqual(expected);
  });
  it.each([
    [{ level: 'privileged', ranges: [] }, ['parameters.level: "privileged" is not one of "baseline", "restricted"']],
    [{ level: 'baseline', ranges: [{ max: 2 }] }, ['parameters.ranges[0].min: is required']],
    [{ level: 'baseline', ranges: [{ min: 1.5 }] }, ['parameters.ranges[0].min: expected an integer, got number 1.5']],
  ])('validate %o', (value, problems) => {
    expect(validate(schema, value)).toEqual(problems);
  });
});

describe('admission manifests', () => {
  const yaml = admissionManifests({
    namespace: 'palisade-system',
    image: 'ghcr.io/palisade-dev/palisade:0.1.0',
    replicas: 2,
    failurePolicy: 'Ignore',
    timeoutSeconds: 5,
    excludedNamespaces: ['kube-system', 'gatekeeper-system'],
    assignmentsYaml: 'assignments: []\n',
    tls: { mode: 'self-signed', material: { cert: 'CERT', key: 'KEY', ca: '-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n' } },
  });
  const docs = parseAllDocuments(yaml).map((d): unknown => {
    const value: unknown = d.toJS();
    return value;
  });
  const find = (kind: string): Record<string, unknown> => {
    const doc = docs.find((d) => typeof d === 'object' && d !== null && 'kind' in d && d.kind === kind);
    if (typeof doc !== 'object' || doc === null) throw new Error(`no ${kind}`);
    return { ...doc };
  };

  it('emits every object the webhook needs', () => {
    expect(docs.map((d) => (typeof d === 'object' && d !== null && 'kind' in d ? d.kind : '?'))).toEqual([
      'Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'ConfigMap', 'Secret', 'Service', 'Deployment', 'PodDisruptionBudget', 'ValidatingWebhookConfiguration',
    ]);
  });

  it('configures the webhook: caBundle, selector, timeout, failure policy, side effects', () => {
    const hook = JSON.stringify(find('ValidatingWebhookConfiguration'));
    expect(hook).toContain(`"caBundle":"${Buffer.from('-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n').toString('base64')}"`);
    expect(hook).toContain('"namespaceSelector":{"matchExpressions":[{"key":"kubernetes.io/metadata.name","operator":"NotIn","values":["gatekeeper-system","kube-system","palisade-system"]}]}');
    expect(hook).toContain('"failurePolicy":"Ignore","timeoutSeconds":5');
    expect(hook).toContain('"sideEffects":"NoneOnDryRun"');
    const deployment = JSON.stringify(find('Deployment'));
    expect(deployment).toContain('"replicas":2');
    expect(deployment).toContain('"args":["admission","--tls-cert","/tls/tls.crt","--tls-key","/tls/tls.key","--port","8443","--assignments","/config/assignments.yaml"]');
  });

  it('ships violation records with the token from a Secret, never on the command line', () => {
    const options = {
      namespace: 'palisade-system',
      image: 'ghcr.io/palisade-dev/palisade:0.1.0',
      replicas: 1,
      failurePolicy: 'Ignore' as const,
      timeoutSeconds: 5,
      excludedNamespaces: [],
      tls: { mode: 'cert-manager' as const, issuer: 'ca' },
    };
    const shipping = parseAllDocuments(admissionManifests({ ...options, server: 'https://palisade.example', recordsTokenSecret: 'palisade-admission-token', cluster: 'prod' }))
      .map((d): unknown => d.toJS())
      .find((d) => typeof d === 'object' && d !== null && 'kind' in d && d.kind === 'Deployment');
    const container = JSON.stringify(shipping);
    expect(container).toContain('"args":["admission","--tls-cert","/tls/tls.crt","--tls-key","/tls/tls.key","--port","8443","--server","https://palisade.example","--cluster","prod"]');
    expect(container).toContain('"env":[{"name":"PALISADE_ADMISSION_TOKEN","valueFrom":{"secretKeyRef":{"name":"palisade-admission-token","key":"token"}}}]');
    expect(() => admissionManifests({ ...options, recordsTokenSecret: 'palisade-admission-token' })).toThrow('--token-secret needs --server URL');
  });

  it('installs a Deployment that passes the restricted Pod Security Standard', () => {
    const engine = createPolicyEngine(bindAssignments(library, [{ name: 'r', initiative: 'pod-security-restricted', effect: 'Deny', match: { excludedNamespaces: [] }, parameters: {} }]));
    expect(engine.evaluate(sampleInput({ name: 'self', object: find('Deployment'), operation: 'CREATE' })).violations).toEqual([]);
  });
});

describe('audit sweep', () => {
  it('reports compliance per policy and namespace', () => {
    const builder = createInventoryBuilder('staging');
    const pod = (ns: string, name: string, privileged: boolean): Record<string, unknown> => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: ns },
      spec: { containers: [{ name: 'c', image: 'registry.example.com/app:1', securityContext: { privileged } }] },
    });
    builder.upsert(pod('shop', 'a', false), 'f#1');
    builder.upsert(pod('shop', 'b', true), 'f#2');
    builder.upsert(pod('billing', 'c', true), 'f#3');
    builder.upsert(pod('kube-system', 'kube-proxy', true), 'f#4');
    const engine = createPolicyEngine(bindAssignments(library, [{ name: 'no-privileged', policy: 'no-privileged-containers', match: {}, parameters: {} }]));
    const report = auditInventory(engine, builder.build());
    expect(report.objects).toBe(4);
    expect(report.policies.map((p) => [p.assignment, p.compliant, p.nonCompliant, p.byNamespace])).toEqual([
      ['no-privileged', 1, 2, { shop: { compliant: 1, nonCompliant: 1 }, billing: { compliant: 0, nonCompliant: 1 } }],
    ]);
    expect(report.policies[0]?.violations.map((v) => `${v.namespace}/${v.name} ${v.field ?? ''}`).sort()).toEqual([
      'billing/c spec.containers[0].securityContext.privileged',
      'shop/b spec.containers[0].securityContext.privileged',
    ]);
    expect(formatComplianceReport(report)).toContain('no-privileged-containers (no-privileged)');
  });
});

describe('lookups of other objects', () => {
  it('the audit sweep compares Services with the rest of the inventory', () => {
    const builder = createInventoryBuilder('staging');
    const svc = (name: string, app: string): Record<string, unknown> => ({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: 'shop' },
      spec: { selector: { app }, ports: [{ port: 80 }] },
    });
    builder.upsert(svc('web', 'web'), 'f#1');
    builder.upsert(svc('web-copy', 'web'), 'f#2');
    builder.upsert(svc('admin', 'admin'), 'f#3');
    const engine = createPolicyEngine(bindAssignments(library, [{ name: 'unique', policy: 'unique-service-selectors', match: {}, parameters: {} }]));
    const report = auditInventory(engine, builder.build());
    expect(report.policies[0]?.violations.map((v) => `${v.name}: ${v.message}`).sort()).toEqual([
      'web-copy: has the same selector as Service web',
      'web: has the same selector as Service web-copy',
    ]);
    expect([report.policies[0]?.compliant, report.policies[0]?.nonCompliant]).toEqual([1, 2]);
  });
});

describe('gated deployment', () => {
  const pod = (image: string): Record<string, unknown> => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'prod' }, spec: { containers: [{ name: 'app', image }] } });
  const digest = 'sha256:4444444444444444444444444444444444444444444444444444444444444444';

  it('waits a bounded time for a scan, then decides with the result', async () => {
    let calls = 0;
    const lookup: FindingsLookup = {
      byDigest: async (): Promise<ImageFindings> => {
        calls += 1;
        return calls < 3 ? { status: 'pending', findings: [] } : { status: 'done', findings: [{ id: 'CVE-2024-6387', severity: 'high', fixed: true }] };
      },
    };
    const gate = createImageGate({
      config: gatingSchema.parse({ rules: [{ name: 'high', minSeverity: 'high' }], unscanned: { action: 'wait', waitSeconds: 5, afterWait: 'deny' } }),
      lookup,
      resolve: async () => digest,
      clock: fixedClock('2026-06-01T00:00:00Z'),
      log: silentLogger,
      sleep: async () => {},
    });
    const result = await gate.check(sampleInput({ name: 'x', object: pod(`registry.example.com/app@${digest}`), operation: 'CREATE' }), Date.parse('2026-06-01T00:00:04Z'));
    expect(calls).toBe(3);
    expect(result.violations.map((v) => `${v.effect} ${v.message}`)).toEqual([
      `Deny container "app": image registry.example.com/app@${digest} has 1 finding(s) breaking rule high: CVE-2024-6387 (high)`,
    ]);
  });

  it('never outlives its deadline when the findings server hangs', async () => {
    const gate = createImageGate({
      config: gatingSchema.parse({ rules: [{ name: 'any', minSeverity: 'low' }] }),
      lookup: { byDigest: () => new Promise<ImageFindings>(() => {}) },
      resolve: async () => digest,
      clock: { now: () => new Date() },
      log: silentLogger,
    });
    const started = Date.now();
    const result = await gate.check(sampleInput({ name: 'x', object: pod(`registry.example.com/app@${digest}`), operation: 'CREATE' }), started + 200);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(result.warnings).toEqual(['palisade: gated deployment timed out waiting for scan results; images were not checked']);
  });

  it.each([
    ['named CVE below the threshold', { rules: [{ name: 'r', minSeverity: 'critical', cves: ['CVE-2021-44228'] }] }, 1],
    ['only fixable findings count', { rules: [{ name: 'r', minSeverity: 'medium', fixedOnly: true }] }, 0],
    ['active exemption', { rules: [{ name: 'r', minSeverity: 'low', exemptions: [{ findings: ['CVE-2021-44228', 'CVE-2023-0001'], until: '2027-01-01', reason: 'vendor fix pending' }] }] }, 0],
    ['expired exemption', { rules: [{ name: 'r', minSeverity: 'low', exemptions: [{ findings: ['CVE-2021-44228', 'CVE-2023-0001'], until: '2026-01-01', reason: 'old' }] }] }, 1],
  ])('%s', async (_name, config, expected) => {
    const gate = createImageGate({
      config: gatingSchema.parse(config),
      lookup: {
        byDigest: async () => ({
          status: 'done',
          findings: [
            { id: 'GHSA-jfh8-c2jp-5v3q', aliases: ['CVE-2021-44228'], severity: 'medium', fixed: false },
            { id: 'CVE-2023-0001', severity: 'low', fixed: false },
          ],
        }),
      },
      resolve: async () => digest,
      clock: fixedClock('2026-06-01T00:00:00Z'),
      log: silentLogger,
    });
    const result = await gate.check(sampleInput({ name: 'x', object: pod(`registry.example.com/app@${digest}`), operation: 'CREATE' }), Date.parse('2026-06-01T00:00:05Z'));
    expect(result.violations.length).toBe(expected);
  });
});

describe('namespace objects from the API server', () => {
  it('selects by namespace labels and exposes namespaceObject', async () => {
    const { createServer } = await import('node:http');
    const { createTransport } = await import('../kube/cli-api.js');
    const { createPollingClusterCache } = await import('./namespaces.js');
    const { createAdmissionHandler, createMemoryAuditSink } = await import('./admission.js');
    const api = createServer((req, res) => {
      res.writeHead(req.url === '/api/v1/namespaces' ? 200 : 404, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          kind: 'NamespaceList',
          apiVersion: 'v1',
          items: [
            { metadata: { name: 'payments', labels: { 'kubernetes.io/metadata.name': 'payments', env: 'prod' } } },
            { metadata: { name: 'sandbox', labels: { 'kubernetes.io/metadata.name': 'sandbox', env: 'dev' } } },
          ],
        }),
      );
    });
    await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
    const address = api.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const lookup = createPollingClusterCache(createTransport({ name: 't', server: `http://127.0.0.1:${port}`, insecureSkipTlsVerify: true }), silentLogger);
    try {
      await lookup.refresh();
      const engine = createPolicyEngine(
        bindAssignments(library, [{ name: 'prod-only', policy: 'no-privileged-containers', effect: 'Deny', match: { namespaceSelector: { matchLabels: { env: 'prod' } } }, parameters: {} }]),
      );
      const handler = createAdmissionHandler({ engine, namespaces: lookup, audit: createMemoryAuditSink(), clock: fixedClock('2026-06-01T00:00:00Z'), log: silentLogger });
      const review = (ns: string): unknown => ({
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        request: {
          uid: `u-${ns}`,
          kind: { group: '', version: 'v1', kind: 'Pod' },
          resource: { group: '', version: 'v1', resource: 'pods' },
          namespace: ns,
          operation: 'CREATE',
          object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: ns }, spec: { containers: [{ name: 'c', image: 'busybox:1.36', securityContext: { privileged: true } }] } },
        },
      });
      expect((await handler.review(review('payments'))).response.allowed).toBe(false);
      expect((await handler.review(review('sandbox'))).response.allowed).toBe(true);
      expect(lookup.get('payments')).toEqual({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'payments', labels: { 'kubernetes.io/metadata.name': 'payments', env: 'prod' } } });
    } finally {
      lookup.stop();
      api.close();
    }
  });
});

describe('tag resolution for gated deployment', () => {
  it('resolves a tag to the manifest digest the registry serves, once per cache period', async () => {
    const { createServer } = await import('node:http');
    const { createHash } = await import('node:crypto');
    const { createRegistryClient } = await import('../image/index.js');
    const { createRegistryDigestResolver } = await import('./gating.js');
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${'a'.repeat(64)}`, size: 2 },
      layers: [],
    });
    const digest = `sha256:${createHash('sha256').update(manifest).digest('hex')}`;
    let hits = 0;
    const registry = createServer((req, res) => {
      hits += 1;
      if (req.url === '/v2/shop/web/manifests/1.4.2') {
        res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'docker-content-digest': digest });
        res.end(manifest);
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((r) => registry.listen(0, '127.0.0.1', r));
    const address = registry.address();
    const host = `127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
    try {
      const resolve = createRegistryDigestResolver(createRegistryClient({ insecure: true, retries: 0 }), fixedClock('2026-06-01T00:00:00Z'));
      expect(await resolve(`${host}/shop/web:1.4.2`)).toBe(digest);
      expect(await resolve(`${host}/shop/web:1.4.2`)).toBe(digest);
      expect(hits).toBe(1);
      expect(await resolve(`${host}/shop/web@${digest}`)).toBe(digest);
      await expect(resolve(`${host}/shop/web:9.9.9`)).rejects.toThrow('not found (HTTP 404)');
    } finally {
      registry.close();
    }
  });
});

import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { silentLogger, systemClock } from '../src/core/index.js';
import {
  createMemoryAuditSink,
  createPolicyRuntime,
  createRuntimeHandler,
  generateSelfSigned,
  startAdmissionServer,
  type AdmissionServer,
  type AuditRecord,
} from '../src/policy/index.js';

/**
 * End to end: the real webhook over HTTPS (self-signed CA made by openssl), real AdmissionReview v1
 * bodies as the API server sends them, assignments with every effect, a user policy directory, and
 * gated deployment against a real HTTP findings server started here.
 */

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const opensslPresent = hasOpenssl();
if (!opensslPresent) console.warn('skipping the admission end-to-end test: the openssl CLI is needed to make the self-signed certificate');

const CRITICAL_DIGEST = 'sha256:1111111111111111111111111111111111111111111111111111111111111111';
const CLEAN_DIGEST = 'sha256:2222222222222222222222222222222222222222222222222222222222222222';
const PENDING_DIGEST = 'sha256:3333333333333333333333333333333333333333333333333333333333333333';

const ASSIGNMENTS = `
policyDirs: [./policies]
assignments:
  - name: baseline
    initiative: pod-security-baseline
    effect: Deny
  - name: no-privileged
    policy: no-privileged-containers
    effect: Deny
  - name: latest-warn
    policy: no-latest-tag
    effect: Warn
  - name: readonly-audit
    policy: read-only-root-filesystem
    effect: Audit
    match:
      excludedContainers: [istio-proxy]
  - name: nodes
    policy: cannot-edit-nodes
    effect: Deny
  - name: team-label
    policy: immutable-team-label
    effect: Deny
  - name: broken-ignore
    policy: broken-expression
    effect: Deny
    match: { namespaces: [lab] }
  - name: broken-fail
    policy: broken-expression-fail
    effect: Deny
    match: { namespaces: [lab-strict] }
  - name: disabled
    policy: required-probes
    effect: Disabled
gating:
  rules:
    - name: no-critical-in-prod
      effect: Deny
      minSeverity: critical
      scope: { namespaces: [prod] }
      exemptions:
        - images: ["registry.example.com/legacy/*"]
          until: "2099-01-01"
          reason: replacement ships next quarter
        - images: ["registry.example.com/billing/*"]
          until: "2020-01-01"
          reason: expired exemption
  unscanned: { action: audit }
`;

const TEAM_LABEL_POLICY = `
id: immutable-team-label
title: The team label cannot change
description: Once set, metadata.labels.team is immutable (ownership moves through a new object).
severity: medium
defaultEffect: Deny
match: { kinds: [ConfigMap], operations: [UPDATE] }
validations:
  - expression: >-
      !has(oldObject.metadata.labels) || !("team" in oldObject.metadata.labels) ||
      (has(object.metadata.labels) && "team" in object.metadata.labels && object.metadata.labels["team"] == oldObject.metadata.labels["team"])
    messageExpression: '"team label changed from " + oldObject.metadata.labels["team"] + " to " + (has(object.metadata.labels) && "team" in object.metadata.labels ? object.metadata.labels["team"] : "(removed)")'
    field: metadata.labels.team
`;

const BROKEN = (id: string, failurePolicy: string): string => `
id: ${id}
title: A policy whose expression fails at evaluation
description: Reads a field that pods do not have.
severity: low
defaultEffect: Deny
failurePolicy: ${failurePolicy}
target: pod
validations:
  - expression: pod.spec.doesNotExist.size() == 0
    message: never reached
`;

function container(name: string, image: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name,
    image,
    securityContext: { readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, runAsNonRoot: true, capabilities: { drop: ['ALL'] } },
    resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m', memory: '256Mi' } },
    ...extra,
  };
}

function pod(namespace: string, containers: Record<string, unknown>[], spec: Record<string, unknown> = {}): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-7f9c', namespace, labels: { app: 'web' } }, spec: { containers, ...spec } };
}

let uidCounter = 0;
function review(
  operation: 'CREATE' | 'UPDATE' | 'DELETE',
  kind: { group: string; version: string; kind: string },
  resource: string,
  namespace: string,
  object: Record<string, unknown> | null,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  uidCounter += 1;
  const subject: unknown = object ?? extra.oldObject;
  const name = z.object({ metadata: z.object({ name: z.string() }) }).safeParse(subject).data?.metadata.name ?? '';
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: `705ab4f5-6393-11e8-b7cc-42010a8000${String(uidCounter).padStart(2, '0')}`,
      kind,
      resource: { group: kind.group, version: kind.version, resource },
      requestKind: kind,
      requestResource: { group: kind.group, version: kind.version, resource },
      name,
      namespace,
      operation,
      userInfo: { username: 'alice@example.com', uid: '014fbff9a07c', groups: ['system:authenticated', 'dev-team'] },
      object,
      oldObject: null,
      dryRun: false,
      options: { apiVersion: 'meta.k8s.io/v1', kind: operation === 'CREATE' ? 'CreateOptions' : operation === 'UPDATE' ? 'UpdateOptions' : 'DeleteOptions' },
      ...extra,
    },
  };
}

const POD = { group: '', version: 'v1', kind: 'Pod' };

describe.skipIf(!opensslPresent)('admission webhook over HTTPS (end to end)', () => {
  let dir: string;
  let ca: string;
  let server: AdmissionServer;
  let findings: HttpServer;
  let findingsHits = 0;
  const audit = createMemoryAuditSink();

  async function post(body: string | object, path = '/validate'): Promise<{ status: number; json: Record<string, unknown>; ms: number }> {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    const started = performance.now();
    return new Promise((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port: server.port, path, method: 'POST', ca, servername: 'localhost', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
            resolve({ status: res.statusCode ?? 0, json: typeof parsed === 'object' && parsed !== null ? { ...parsed } : {}, ms: performance.now() - started });
          });
        },
      );
      req.on('error', reject);
      req.end(text);
    });
  }

  async function get(path: string): Promise<string> {
    return new Promise((resolve, reject) => {
      request({ host: '127.0.0.1', port: server.port, path, method: 'GET', ca, servername: 'localhost' }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      })
        .on('error', reject)
        .end();
    });
  }

  const responseSchema = z.object({
    response: z.object({
      uid: z.string(),
      allowed: z.boolean(),
      status: z.object({ code: z.number(), message: z.string() }).optional(),
      warnings: z.array(z.string()).optional(),
      auditAnnotations: z.record(z.string(), z.string()).optional(),
    }),
  });
  function responseOf(json: Record<string, unknown>): z.infer<typeof responseSchema>['response'] {
    return responseSchema.parse(json).response;
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'palisade-admission-e2e-'));
    mkdirSync(join(dir, 'policies', 'immutable-team-label'), { recursive: true });
    mkdirSync(join(dir, 'policies', 'broken-expression'), { recursive: true });
    mkdirSync(join(dir, 'policies', 'broken-expression-fail'), { recursive: true });
    writeFileSync(join(dir, 'policies', 'immutable-team-label', 'policy.yaml'), TEAM_LABEL_POLICY);
    writeFileSync(join(dir, 'policies', 'broken-expression', 'policy.yaml'), BROKEN('broken-expression', 'Ignore'));
    writeFileSync(join(dir, 'policies', 'broken-expression-fail', 'policy.yaml'), BROKEN('broken-expression-fail', 'Fail'));
    writeFileSync(join(dir, 'assignments.yaml'), ASSIGNMENTS);

    findings = createHttpServer((req, res) => {
      findingsHits += 1;
      const digest = decodeURIComponent((req.url ?? '').split('/')[4] ?? '');
      const body =
        digest === CRITICAL_DIGEST
          ? { status: 'done', findings: [{ advisoryId: 'CVE-2024-3094', aliases: [], severity: 'critical', fixState: 'fixed', fixedVersions: ['5.6.1+really5.4.5-1'] }, { advisoryId: 'CVE-2023-4911', aliases: [], severity: 'high', fixState: 'fixed', fixedVersions: ['2.36-9+deb12u3'] }] }
          : digest === CLEAN_DIGEST
            ? { status: 'done', findings: [{ advisoryId: 'CVE-2023-4806', aliases: [], severity: 'medium', fixState: 'fixed', fixedVersions: ['2.36-9+deb12u4'] }] }
            : digest === PENDING_DIGEST
              ? { status: 'pending', findings: [] }
              : undefined;
      res.writeHead(body ? 200 : 404, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body ?? { error: 'not found' }));
    });
    await new Promise<void>((resolve) => findings.listen(0, '127.0.0.1', resolve));
    const address = findings.address();
    const findingsUrl = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;

    const runtime = createPolicyRuntime({ assignmentsFile: join(dir, 'assignments.yaml'), server: findingsUrl, clock: systemClock, log: silentLogger });
    const tls = generateSelfSigned({ names: ['localhost', '127.0.0.1'] });
    ca = tls.ca ?? '';
    const handler = createRuntimeHandler(runtime, { audit, clock: systemClock, log: silentLogger, budgetMs: 3000 });
    server = await startAdmissionServer({ handler, tls, port: 0, host: '127.0.0.1', log: silentLogger, auditRecords: audit.records });
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    await new Promise<void>((resolve) => (findings ? findings.close(() => resolve()) : resolve()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('allows a compliant pod and answers with the request uid', async () => {
    const body = review('CREATE', POD, 'pods', 'shop', pod('shop', [container('web', 'registry.example.com/shop/web:1.4.2')]));
    const { status, json } = await post(body);
    expect(status).toBe(200);
    expect(json.apiVersion).toBe('admission.k8s.io/v1');
    expect(json.kind).toBe('AdmissionReview');
    const r = responseOf(json);
    expect(r.uid).toBe(z.object({ request: z.object({ uid: z.string() }) }).parse(body).request.uid);
    expect(r.allowed).toBe(true);
    expect(r.warnings).toBeUndefined();
  });

  it('denies a privileged pod, listing every violated policy and the field at fault', async () => {
    const body = review('CREATE', POD, 'pods', 'shop', pod('shop', [container('web', 'registry.example.com/shop/web:1.4.2'), container('vpn', 'ghcr.io/example/vpn:2.1', { securityContext: { privileged: true, readOnlyRootFilesystem: true } })], { hostPID: true }));
    const r = responseOf((await post(body)).json);
    expect(r.allowed).toBe(false);
    expect(r.status?.code).toBe(403);
    expect(r.status?.message).toBe(
      [
        'palisade denied the request: 2 violation(s) of 2 policies:',
        '[pod-security-standards] violates PodSecurity "baseline:latest": host namespaces (hostPID=true) (spec.hostPID); privileged (container "vpn" must not set securityContext.privileged=true) (spec.containers[1].securityContext.privileged)',
        '[no-privileged-containers] container "vpn": runs privileged (securityContext.privileged: true) (field: spec.containers[1].securityContext.privileged)',
      ].join('\n'),
    );
  });

  it('judges the pod template of a Deployment before any pod exists', async () => {
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'shop' },
      spec: { replicas: 3, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [container('web', 'registry.example.com/shop/web:1.4.2', { securityContext: { privileged: true } })] } } },
    };
    const r = responseOf((await post(review('CREATE', { group: 'apps', version: 'v1', kind: 'Deployment' }, 'deployments', 'shop', deployment))).json);
    expect(r.allowed).toBe(false);
    expect(r.status?.message).toContain('(field: spec.template.spec.containers[0].securityContext.privileged)');
    expect(r.status?.message).toContain('(spec.template.spec.containers[0].securityContext.privileged)');
    // Warn and Audit effects ride along on the same answer.
    expect(r.auditAnnotations).toEqual({ 'palisade.dev/audit': 'read-only-root-filesystem' });
  });

  it('judges the job template of a CronJob', async () => {
    const cron = {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'report', namespace: 'shop' },
      spec: { schedule: '0 2 * * *', jobTemplate: { spec: { template: { spec: { restartPolicy: 'OnFailure', hostNetwork: true, containers: [container('report', 'registry.example.com/shop/report:2.0')] } } } } },
    };
    const r = responseOf((await post(review('CREATE', { group: 'batch', version: 'v1', kind: 'CronJob' }, 'cronjobs', 'shop', cron))).json);
    expect(r.allowed).toBe(false);
    expect(r.status?.message).toContain('host namespaces (hostNetwork=true) (spec.jobTemplate.spec.template.spec.hostNetwork)');
  });

  it('answers Warn violations as AdmissionResponse warnings and records Audit violations', async () => {
    const before = audit.records().length;
    const body = review('CREATE', POD, 'pods', 'shop', pod('shop', [container('web', 'nginx:latest'), container('cache', 'redis:7.2.5', { securityContext: { runAsNonRoot: true } }), container('istio-proxy', 'docker.io/istio/proxyv2:1.22.3', { securityContext: {} })]));
    const r = responseOf((await post(body)).json);
    expect(r.allowed).toBe(true);
    expect(r.warnings).toEqual(['[no-latest-tag] container "web": image nginx:latest uses the latest tag (explicitly or by omitting the tag) (field: spec.containers[0].image)']);
    expect(r.auditAnnotations).toEqual({ 'palisade.dev/audit': 'read-only-root-filesystem' });
    const records = audit.records().slice(before);
    expect(records).toHaveLength(1);
    const rec: AuditRecord | undefined = records[0];
    expect(rec?.allowed).toBe(true);
    expect(rec?.user).toBe('alice@example.com');
    // istio-proxy is excluded by the assignment, so only "cache" is audited.
    expect(rec?.violations.map((v) => [v.policyId, v.effect, v.field])).toEqual([
      ['no-latest-tag', 'Warn', 'spec.containers[0].image'],
      ['read-only-root-filesystem', 'Audit', 'spec.containers[1].securityContext.readOnlyRootFilesystem'],
    ]);
    const served: unknown = JSON.parse(await get('/audit'));
    expect(JSON.stringify(served)).toContain(rec?.uid ?? 'missing');
  });

  it('evaluates dry-run requests the same way but does not record them', async () => {
    const before = audit.records().length;
    const body = review('CREATE', POD, 'pods', 'shop', pod('shop', [container('web', 'nginx:latest', { securityContext: { privileged: true } })]), { dryRun: true });
    const r = responseOf((await post(body)).json);
    expect(r.allowed).toBe(false);
    expect(r.status?.message).toContain('[no-privileged-containers]');
    expect(audit.records().length).toBe(before);
    expect(await get('/metrics')).toMatch(/palisade_admission_dry_run_total 1\n/);
  });

  it('uses oldObject on UPDATE (a user policy from the assignments file)', async () => {
    const cm = (team: string): Record<string, unknown> => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: 'shop', labels: { team } }, data: { LOG_LEVEL: 'info' } });
    const same = responseOf((await post(review('UPDATE', { group: '', version: 'v1', kind: 'ConfigMap' }, 'configmaps', 'shop', cm('payments'), { oldObject: cm('payments') }))).json);
    expect(same.allowed).toBe(true);
    const changed = responseOf((await post(review('UPDATE', { group: '', version: 'v1', kind: 'ConfigMap' }, 'configmaps', 'shop', cm('growth'), { oldObject: cm('payments') }))).json);
    expect(changed.allowed).toBe(false);
    expect(changed.status?.message).toBe(
      'palisade denied the request: 1 violation(s) of 1 policy:\n[immutable-team-label] team label changed from payments to growth (field: metadata.labels.team)',
    );
  });

  it('judges DELETE with oldObject and the requesting user', async () => {
    const node = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'aks-userpool-12345678-vmss000000', labels: { 'kubernetes.io/os': 'linux' } } };
    const NODE = { group: '', version: 'v1', kind: 'Node' };
    const byAlice = responseOf((await post(review('DELETE', NODE, 'nodes', '', null, { oldObject: node }))).json);
    expect(byAlice.allowed).toBe(false);
    expect(byAlice.status?.message).toContain('[cannot-edit-nodes] user alice@example.com may not delete nodes');
    const byController = responseOf(
      (await post(review('DELETE', NODE, 'nodes', '', null, { oldObject: node, userInfo: { username: 'system:serviceaccount:kube-system:node-controller', groups: ['system:serviceaccounts'] } }))).json,
    );
    expect(byController.allowed).toBe(true);
  });

  it('gates images by their stored findings: deny, exemptions, unscanned images', async () => {
    const prodPod = (image: string): Record<string, unknown> => pod('prod', [container('app', image)]);
    const vulnerable = responseOf((await post(review('CREATE', POD, 'pods', 'prod', prodPod(`registry.example.com/billing/api@${CRITICAL_DIGEST}`)))).json);
    expect(vulnerable.allowed).toBe(false);
    expect(vulnerable.status?.message).toContain(
      `[gated-deployment] container "app": image registry.example.com/billing/api@${CRITICAL_DIGEST} has 1 finding(s) breaking rule no-critical-in-prod: CVE-2024-3094 (critical) (field: spec.containers[0].image)`,
    );
    const exempt = responseOf((await post(review('CREATE', POD, 'pods', 'prod', prodPod(`registry.example.com/legacy/erp@${CRITICAL_DIGEST}`)))).json);
    expect(exempt.allowed).toBe(true);
    const clean = responseOf((await post(review('CREATE', POD, 'pods', 'prod', prodPod(`registry.example.com/shop/web@${CLEAN_DIGEST}`)))).json);
    expect(clean.allowed).toBe(true);
    expect(clean.auditAnnotations).toBeUndefined();
    const pending = responseOf((await post(review('CREATE', POD, 'pods', 'prod', prodPod(`registry.example.com/shop/new@${PENDING_DIGEST}`)))).json);
    expect(pending.allowed).toBe(true);
    expect(pending.auditAnnotations).toEqual({ 'palisade.dev/audit': 'gated-deployment' });
    const otherNamespace = responseOf((await post(review('CREATE', POD, 'pods', 'shop', pod('shop', [container('app', `registry.example.com/billing/api@${CRITICAL_DIGEST}`)])))).json);
    expect(otherNamespace.allowed).toBe(true);
    expect(findingsHits).toBeGreaterThan(0);
  });

  it('turns evaluation errors into warnings (failurePolicy Ignore) or a refusal (Fail)', async () => {
    const ignore = responseOf((await post(review('CREATE', POD, 'pods', 'lab', pod('lab', [container('web', 'registry.example.com/shop/web:1.4.2')])))).json);
    expect(ignore.allowed).toBe(true);
    expect(ignore.warnings?.[0]).toMatch(/^\[broken-expression\] could not be evaluated: .*doesNotExist/);
    const fail = responseOf((await post(review('CREATE', POD, 'pods', 'lab-strict', pod('lab-strict', [container('web', 'registry.example.com/shop/web:1.4.2')])))).json);
    expect(fail.allowed).toBe(false);
    expect(fail.status?.message).toMatch(/\[broken-expression-fail\] could not be evaluated and fails closed: .*doesNotExist/);
    expect(await get('/metrics')).toMatch(/palisade_admission_evaluation_errors_total [1-9]/);
  });

  it.each([
    ['not JSON', '{"apiVersion": "admission.k8s.io/v1", ', 400, 'the body is not JSON'],
    ['another apiVersion', { apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview', request: {} }, 400, 'not an AdmissionReview v1 request: apiVersion: apiVersion must be admission.k8s.io/v1'],
    ['no request uid', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { kind: POD, resource: { group: '', version: 'v1', resource: 'pods' }, operation: 'CREATE' } }, 400, 'not an AdmissionReview v1 request: request.uid'],
    ['unknown operation', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'x', kind: POD, resource: { group: '', version: 'v1', resource: 'pods' }, operation: 'PATCH' } }, 400, 'request.operation'],
  ] as const)('refuses a malformed review (%s) with a clear 400', async (_name, body, status, message) => {
    const res = await post(body);
    expect(res.status).toBe(status);
    expect(String(res.json.error)).toContain(message);
  });

  it('answers an object nested 100,000 levels deep', async () => {
    const depth = 100_000;
    const nested = `${'{"x":'.repeat(depth)}1${'}'.repeat(depth)}`;
    const body = JSON.stringify(review('CREATE', POD, 'pods', 'shop', pod('shop', [container('web', 'registry.example.com/shop/web:1.4.2', { env: [] })]))).replace('"env":[]', `"env":[{"name":"DEEP","valueFrom":${nested}}]`);
    const res = await post(body);
    expect(res.status).toBe(200);
    expect(responseOf(res.json).allowed).toBe(true);
  });

  it('allows objects of kinds no policy knows', async () => {
    const widget = { apiVersion: 'example.com/v1alpha1', kind: 'Widget', metadata: { name: 'w', namespace: 'shop' }, spec: { size: 3 } };
    const r = responseOf((await post(review('CREATE', { group: 'example.com', version: 'v1alpha1', kind: 'Widget' }, 'widgets', 'shop', widget))).json);
    expect(r.allowed).toBe(true);
  });

  it('answers a 3 MB object in time and refuses bodies over the limit', async () => {
    const big = pod('shop', [container('web', 'registry.example.com/shop/web:1.4.2', { env: Array.from({ length: 30_000 }, (_, i) => ({ name: `VAR_${i}`, value: 'x'.repeat(80) })) })]);
    const body = review('CREATE', POD, 'pods', 'shop', big);
    expect(JSON.stringify(body).length).toBeGreaterThan(3_000_000);
    const res = await post(body);
    expect(res.status).toBe(200);
    expect(responseOf(res.json).allowed).toBe(true);
    expect(res.ms).toBeLessThan(2000);
    const huge = JSON.stringify(review('CREATE', POD, 'pods', 'shop', { ...big, padding: 'y'.repeat(7 * 1024 * 1024) }));
    const tooBig = await post(huge);
    expect(tooBig.status).toBe(413);
    expect(String(tooBig.json.error)).toContain('over the 6291456-byte limit');
    // Still serving after all of that.
    expect(await get('/healthz')).toBe('ok');
  });
});

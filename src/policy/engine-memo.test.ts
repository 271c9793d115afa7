import { describe, expect, it } from 'vitest';
import { bindAssignments, createPolicyEngine, isJson, staticObjectLookup, type BoundAssignment, type Json } from './engine.js';
import { loadLibrary } from './load.js';
import { sampleInput } from './samples.js';
import type { Sample } from './schema.js';

const library = loadLibrary();

/** Every built-in policy, Deny where it may, with parameters that make the parameterised ones bite. */
const ALL = [...library.policies.values()].map(({ policy: p }) => ({
  name: p.id,
  policy: p.id,
  effect: p.effects.includes('Deny') ? ('Deny' as const) : ('Audit' as const),
  match: {},
  parameters:
    {
      'allowed-images': { allowedContainerImagesRegex: '^registry\\.example\\.com/.+$' },
      'resource-limits': { cpuLimit: '2', memoryLimit: '4Gi' },
      'service-allowed-ports': { allowedServicePortsList: ['80', '443'] },
      'required-labels': { labelsList: ['app', 'team'] },
      'allowed-capabilities': { requiredDropCapabilities: ['ALL'] },
      'pod-security-standards': { level: 'restricted' },
    }[p.id] ?? {},
}));

/** Counts CEL evaluations (checks, messages, variables) of bound assignments. */
function counted(bound: BoundAssignment[]): { bound: BoundAssignment[]; calls: () => number } {
  let calls = 0;
  for (const a of bound) {
    for (const v of a.policy.validations) {
      const check = v.check;
      v.check = (b) => {
        calls += 1;
        return check(b);
      };
    }
    for (const v of a.policy.variables) {
      const program = v.program;
      v.program = (b) => {
        calls += 1;
        return program(b);
      };
    }
  }
  return { bound, calls: () => calls };
}

const container = (name: string, image: string, extra: Json = {}): Json => ({
  name,
  image,
  imagePullPolicy: 'IfNotPresent',
  resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m', memory: '512Mi' } },
  securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, runAsUser: 10001, capabilities: { drop: ['ALL'] } },
  readinessProbe: { httpGet: { path: '/ready', port: 8080 } },
  livenessProbe: { httpGet: { path: '/healthz', port: 8080 } },
  lifecycle: { preStop: { exec: { command: ['sleep', '5'] } } },
  ...extra,
});

function replicaPod(n: number, app = 'checkout'): Json {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `${app}-7d9f8c6b5-${n}`,
      generateName: `${app}-7d9f8c6b5-`,
      namespace: 'shop',
      uid: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
      creationTimestamp: `2026-11-27T02:00:${String(n % 60).padStart(2, '0')}Z`,
      resourceVersion: String(1000 + n),
      labels: { app, team: 'payments', 'pod-template-hash': '7d9f8c6b5' },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `${app}-7d9f8c6b5`, uid: 'c0ffee00-1111-2222-3333-444455556666', controller: true }],
    },
    spec: {
      automountServiceAccountToken: false,
      securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' }, appArmorProfile: { type: 'RuntimeDefault' } },
      imagePullSecrets: [{ name: 'registry' }],
      initContainers: [container('migrate', `registry.example.com/shop/${app}-migrate:3.8.1`)],
      containers: [container(app, `registry.example.com/shop/${app}:3.8.1`), container('envoy', 'registry.example.com/mirror/envoy:v1.31.2')],
      volumes: [{ name: 'tmp', emptyDir: {} }],
    },
  };
}

const clone = (value: Json): Json => structuredClone(value);
const meta = (pod: Json): Json => (isJson(pod.metadata) ? pod.metadata : {});
const spec = (pod: Json): Json => (isJson(pod.spec) ? pod.spec : {});
const appContainer = (pod: Json): Json => {
  const list = spec(pod).containers;
  const first: unknown = Array.isArray(list) ? list[0] : undefined;
  return isJson(first) ? first : {};
};

/** Changes a pod may carry; the first few touch nothing a built-in policy reads. */
const MUTATIONS: Array<[string, (pod: Json) => void]> = [
  ['rename', (p) => Object.assign(meta(p), { name: `${String(meta(p).name)}-x`, uid: 'ffffffff-0000-4000-8000-000000000001', creationTimestamp: '2026-11-28T00:00:00Z' })],
  ['hostname and node affinity', (p) => Object.assign(spec(p), { hostname: 'web-3', subdomain: 'web', affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['node-7'] }] }] } } } })],
  ['a StatefulSet pod label', (p) => Object.assign(meta(p).labels ?? {}, { 'statefulset.kubernetes.io/pod-name': 'web-3' })],
  ['no team label', (p) => delete (meta(p).labels as Json | undefined)?.team],
  ['no labels', (p) => delete meta(p).labels],
  ['a non-string label', (p) => Object.assign(meta(p).labels ?? {}, { replicas: 3 })],
  ['a numeric name', (p) => Object.assign(meta(p), { name: 5 })],
  ['no metadata', (p) => delete p.metadata],
  ['an unconfined AppArmor annotation', (p) => Object.assign(meta(p), { annotations: { 'container.apparmor.security.beta.kubernetes.io/checkout': 'unconfined' } })],
  ['hostPID', (p) => Object.assign(spec(p), { hostPID: true })],
  ['a privileged container', (p) => Object.assign(appContainer(p).securityContext ?? {}, { privileged: true })],
  ['a latest tag', (p) => Object.assign(appContainer(p), { image: 'registry.example.com/shop/checkout:latest' })],
  ['another registry', (p) => Object.assign(appContainer(p), { image: 'docker.io/library/nginx:1.27' })],
  ['a CPU limit over the maximum', (p) => Object.assign(appContainer(p), { resources: { limits: { cpu: '3', memory: '1Gi' } } })],
  ['an unparsable CPU limit', (p) => Object.assign(appContainer(p), { resources: { limits: { cpu: 'lots', memory: '1Gi' } } })],
  ['no owner', (p) => delete meta(p).ownerReferences],
  ['the default namespace', (p) => Object.assign(meta(p), { namespace: 'default' })],
  ['a hostPath volume', (p) => Object.assign(spec(p), { volumes: [{ name: 'logs', hostPath: { path: '/var/log' } }] })],
  ['a forbidden sysctl', (p) => Object.assign(spec(p).securityContext ?? {}, { sysctls: [{ name: 'kernel.msgmax', value: '65536' }] })],
  ['no pod seccomp profile', (p) => delete (spec(p).securityContext as Json | undefined)?.seccompProfile],
  ['root user', (p) => Object.assign(appContainer(p).securityContext ?? {}, { runAsUser: 0 })],
  ['runAsUser as a string', (p) => Object.assign(appContainer(p).securityContext ?? {}, { runAsUser: '10001' })],
  ['spec is a list', (p) => Object.assign(p, { spec: [] })],
  ['a container without a name', (p) => delete appContainer(p).name],
];

/** A deterministic stream of pods: a few bases, each with a pseudo-random handful of mutations. */
function stream(length: number): Array<{ label: string; object: Json; kind: 'Pod' | 'Deployment' }> {
  let seed = 42;
  // mulberry32: a small deterministic generator with usable low bits.
  const random = (n: number): number => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) % n;
  };
  const out: Array<{ label: string; object: Json; kind: 'Pod' | 'Deployment' }> = [];
  for (let i = 0; i < length; i++) {
    const pod = clone(replicaPod(i, ['checkout', 'cart'][random(2)]));
    const applied: string[] = [];
    const count = random(4) === 0 ? 0 : random(3);
    for (let k = 0; k < count; k++) {
      const [name, mutate] = MUTATIONS[random(MUTATIONS.length)] ?? MUTATIONS[0] ?? ['none', () => undefined];
      mutate(pod);
      applied.push(name);
    }
    const asDeployment = random(5) === 0 && isJson(pod.metadata);
    const object = asDeployment
      ? { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'checkout', namespace: meta(pod).namespace ?? 'shop' }, spec: { replicas: 3, selector: {}, template: pod } }
      : pod;
    out.push({ label: `#${i} ${asDeployment ? 'Deployment' : 'Pod'} ${applied.join(', ') || 'as is'}`, object, kind: asDeployment ? 'Deployment' : 'Pod' });
  }
  return out;
}

const inputOf = (object: Json, operation: Sample['operation'] = 'CREATE', oldObject?: Json) =>
  sampleInput({ name: 'memo', object, operation, ...(oldObject ? { oldObject } : {}), namespaceObject: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', labels: { env: 'prod' } } } });

describe('the assignment outcome memo', () => {
  it('answers a stream of varied pods exactly as an engine without caches does', () => {
    const memoized = counted(bindAssignments(library, ALL));
    const plain = counted(bindAssignments(library, ALL));
    const cached = createPolicyEngine(memoized.bound);
    const uncached = createPolicyEngine(plain.bound, undefined, { containerCacheSize: 0, outcomeCacheSize: 0 });
    const pods = stream(400);
    const denied = new Set<string>();
    for (const { label, object } of pods) {
      const expected = uncached.evaluate(inputOf(object));
      expect(cached.evaluate(inputOf(object)), label).toEqual(expected);
      for (const v of expected.violations) denied.add(v.policyId);
      for (const e of expected.errors) denied.add(`error: ${e.policyId}`);
    }
    // The stream exercised violations and errors of many policies, and the memo answered most evaluations.
    expect(denied.size).toBeGreaterThan(15);
    expect(denied).toContain('error: pod-security-standards');
    expect(memoized.calls()).toBeLessThan(plain.calls() / 3);
  });

  it('evaluates the pods of one ReplicaSet twice at most: names, uids and timestamps are not read', () => {
    const { bound, calls } = counted(bindAssignments(library, ALL));
    const engine = createPolicyEngine(bound);
    const first = engine.evaluate(inputOf(replicaPod(1)));
    expect(calls()).toBeGreaterThan(50);
    // Values met once are not kept (nor outcomes keyed on them): the second pod is evaluated again, and memoized.
    expect(engine.evaluate(inputOf(replicaPod(2)))).toEqual(first);
    const afterFirst = calls();
    for (let n = 3; n < 50; n++) expect(engine.evaluate(inputOf(replicaPod(n)))).toEqual(first);
    expect(calls()).toBe(afterFirst);
    // Another label value: only required-labels reads label values, so it alone runs again.
    const relabelled = replicaPod(51);
    Object.assign(meta(relabelled).labels ?? {}, { team: 'checkout' });
    expect(engine.evaluate(inputOf(relabelled))).toEqual(first);
    expect(calls()).toBe(afterFirst + 1);
    // A new label key changes the labels' shape, which the Pod Security evaluation checks (variable + validation).
    const labelled = replicaPod(52);
    Object.assign(meta(labelled).labels ?? {}, { 'statefulset.kubernetes.io/pod-name': 'checkout-52' });
    expect(engine.evaluate(inputOf(labelled))).toEqual(first);
    expect(calls()).toBe(afterFirst + 4);
  });

  it('keys on the request too: operation, user and old object', () => {
    const assignments = ALL.filter((a) => ['no-aks-specific-labels', 'cannot-edit-nodes'].includes(a.policy));
    const engine = createPolicyEngine(bindAssignments(library, assignments));
    const uncached = createPolicyEngine(bindAssignments(library, assignments), undefined, { outcomeCacheSize: 0 });
    const node = (labels: Json): Json => ({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1', labels } });
    const cases: Array<[Json, Sample['operation'], Json | undefined]> = [
      [node({ 'kubernetes.azure.com/mode': 'user' }), 'UPDATE', node({ 'kubernetes.azure.com/mode': 'user' })],
      [node({ 'kubernetes.azure.com/mode': 'system' }), 'UPDATE', node({ 'kubernetes.azure.com/mode': 'user' })],
      [node({ 'kubernetes.azure.com/mode': 'user' }), 'UPDATE', node({ 'kubernetes.azure.com/mode': 'user' })],
      [node({ 'kubernetes.azure.com/mode': 'user' }), 'DELETE', node({ 'kubernetes.azure.com/mode': 'user' })],
      [node({ 'kubernetes.azure.com/mode': 'system' }), 'UPDATE', node({ 'kubernetes.azure.com/mode': 'user' })],
    ];
    const results = cases.map(([obj, op, old]) => engine.evaluate(inputOf(obj, op, old)));
    expect(results).toEqual(cases.map(([obj, op, old]) => uncached.evaluate(inputOf(obj, op, old))));
    expect(results.map((r) => r.violations.map((v) => v.policyId).sort())).toEqual([
      ['cannot-edit-nodes'],
      ['cannot-edit-nodes', 'no-aks-specific-labels'],
      ['cannot-edit-nodes'],
      ['cannot-edit-nodes'],
      ['cannot-edit-nodes', 'no-aks-specific-labels'],
    ]);
  });

  it('keeps excluded containers out when only the excluded container differs', () => {
    const assignments = [{ name: 'priv', policy: 'no-privileged-containers', effect: 'Deny' as const, match: { excludedImages: ['registry.example.com/mirror/*'] }, parameters: {} }];
    const engine = createPolicyEngine(bindAssignments(library, assignments));
    const uncached = createPolicyEngine(bindAssignments(library, assignments), undefined, { containerCacheSize: 0, outcomeCacheSize: 0 });
    const privileged = (image: string): Json => {
      const pod = replicaPod(1);
      const list = spec(pod).containers;
      const envoy: unknown = Array.isArray(list) ? list[1] : undefined;
      if (isJson(envoy)) Object.assign(envoy, { image, securityContext: { privileged: true } });
      return pod;
    };
    const sequence = [privileged('registry.example.com/mirror/envoy:v1'), privileged('registry.example.com/shop/envoy:v1'), privileged('registry.example.com/mirror/envoy:v1')];
    const results = sequence.map((p) => engine.evaluate(inputOf(p)));
    expect(results).toEqual(sequence.map((p) => uncached.evaluate(inputOf(p))));
    expect(results.map((r) => r.violations.length)).toEqual([0, 1, 0]);
  });

  it('does not memoize a pod whose containers are over 64 KiB of JSON, and still answers right', () => {
    const { bound, calls } = counted(bindAssignments(library, ALL.filter((a) => a.policy === 'no-privileged-containers')));
    const engine = createPolicyEngine(bound, undefined, { containerCacheSize: 0 });
    const big = replicaPod(1);
    Object.assign(appContainer(big), { env: Array.from({ length: 2000 }, (_, i) => ({ name: `FLAG_${i}`, value: 'enabled-for-all-tenants' })) });
    expect(JSON.stringify(spec(big).containers).length).toBeGreaterThan(64 * 1024);
    engine.evaluate(inputOf(big));
    const once = calls();
    engine.evaluate(inputOf(big));
    expect(calls()).toBe(2 * once);
    Object.assign(appContainer(big).securityContext ?? {}, { privileged: true });
    expect(engine.evaluate(inputOf(big)).violations.map((v) => v.field)).toEqual(['spec.containers[0].securityContext.privileged']);
  });

  it('stops building keys that never hit (every pod new), and starts again once pods repeat', () => {
    const { bound, calls } = counted(bindAssignments(library, ALL.filter((a) => a.policy === 'no-privileged-containers')));
    const engine = createPolicyEngine(bound, undefined, { containerCacheSize: 0 });
    const uncached = createPolicyEngine(bindAssignments(library, ALL.filter((a) => a.policy === 'no-privileged-containers')), undefined, { containerCacheSize: 0, outcomeCacheSize: 0 });
    const withImage = (n: number): Json => {
      const pod = replicaPod(n);
      Object.assign(appContainer(pod), { image: `registry.example.com/shop/checkout:3.8.${n}` });
      return pod;
    };
    for (let n = 0; n < 200; n++) expect(engine.evaluate(inputOf(withImage(n)))).toEqual(uncached.evaluate(inputOf(withImage(n))));
    expect(calls()).toBe(200 * 3);
    // The same pod from now on: a probe meets its values within 16 reviews, the next probe stores
    // them, the one after hits and the memo is warm again.
    const same = withImage(1000);
    const expected = uncached.evaluate(inputOf(same));
    for (let i = 0; i < 60; i++) expect(engine.evaluate(inputOf(same))).toEqual(expected);
    const warm = calls();
    expect(warm).toBeLessThanOrEqual(200 * 3 + 49 * 3);
    for (let i = 0; i < 20; i++) expect(engine.evaluate(inputOf(same))).toEqual(expected);
    expect(calls()).toBe(warm);
  });

  it('never memoizes a policy with lookups (other objects of the cluster change)', () => {
    const service = (name: string, selector: Json): Json => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'shop' }, spec: { selector } });
    const assignments = [{ name: 'unique', policy: 'unique-service-selectors', effect: 'Audit' as const, match: {}, parameters: {} }];
    const bound = bindAssignments(library, assignments);
    expect(bound[0]?.policy.reads).toBeUndefined();
    let others: Json[] = [];
    const engine = createPolicyEngine(bound, { list: (kind, ns) => staticObjectLookup(others).list(kind, ns) });
    const web = service('web', { app: 'web' });
    expect(engine.evaluate(inputOf(web)).violations).toEqual([]);
    others = [service('web-copy', { app: 'web' })];
    expect(engine.evaluate(inputOf(web)).violations.map((v) => v.message)).toEqual(['has the same selector as Service web-copy']);
  });

  it('answers every library sample, and a renamed copy of it, as a fresh engine does', () => {
    const engines = new Map<string, ReturnType<typeof createPolicyEngine>>();
    let compared = 0;
    for (const loaded of library.policies.values()) {
      if (loaded.policy.lookups.length > 0) continue;
      for (const sample of [...(loaded.samples?.pass ?? []), ...(loaded.samples?.fail ?? [])]) {
        const key = `${loaded.policy.id} ${JSON.stringify(sample.params ?? {})}`;
        const bind = () => bindAssignments({ ...library, defaultExcludedNamespaces: [] }, [{ name: 'sample', policy: loaded.policy.id, effect: 'Audit', match: {}, parameters: sample.params ?? {} }]);
        let engine = engines.get(key);
        if (engine === undefined) {
          engine = createPolicyEngine(bind());
          engines.set(key, engine);
        }
        const renamed: Sample = sample.object && isJson(sample.object.metadata) ? { ...sample, object: { ...sample.object, metadata: { ...sample.object.metadata, name: 'renamed', uid: 'u-1' } } } : sample;
        for (const s of [sample, renamed, sample]) {
          expect(engine.evaluate(sampleInput(s)), `${loaded.policy.id}: ${s.name}`).toEqual(createPolicyEngine(bind(), undefined, { outcomeCacheSize: 0 }).evaluate(sampleInput(s)));
          compared += 1;
        }
      }
    }
    expect(compared).toBeGreaterThan(300);
  });
});

import { isCelError, parse, plan, type CelResult } from '@bufbuild/cel';
import { describe, expect, it } from 'vitest';
import { parsePolicyExpression, policyCelEnv, policyVariablesOf, toCelInput } from './cel-env.js';
import { bindAssignments, createPolicyEngine } from './engine.js';
import { loadLibrary } from './load.js';
import { sampleInput } from './samples.js';

const library = loadLibrary();

describe('policy expressions: variable analysis and the dyn() rewrite', () => {
  it.each([
    ['container.securityContext.privileged == true', ['container']],
    ['container.image.matches(params.allowedContainerImagesRegex)', ['container', 'params']],
    ['pod.spec.containers.all(c, c.name != "")', ['pod']],
    ['[has(container.securityContext) ? "a" : pod.metadata.name].all(profile, profile in params.allowed)', ['container', 'params', 'pod']],
    ['variables.sysctls.exists(s, s.name == "kernel.shm_rmid_forced")', ['variables']],
    ['request.userInfo.username in params.allowedUsers', ['params', 'request']],
  ])('%s reads %j', (expr, expected) => {
    expect([...policyVariablesOf(expr)].sort()).toEqual(expected);
  });

  const env = policyCelEnv();
  const bindings = {
    object: toCelInput({ metadata: { name: 'web', labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'nginx:1.27.2' }] } }),
    oldObject: null,
    request: toCelInput({ operation: 'CREATE', userInfo: { username: 'alice@example.com' } }),
    params: toCelInput({ allowed: ['runtime/default'] }),
    namespaceObject: null,
    pod: null,
    podPath: '',
    variables: null,
    container: toCelInput({ name: 'app', image: 'nginx:1.27.2', securityContext: { privileged: false } }),
    lookups: null,
  };
  it.each([
    'container.securityContext.privileged',
    'has(container.securityContext) && has(container.securityContext.capabilities)',
    'container.securityContext.capabilities.drop',
    'object.spec.containers.all(c, c.image.startsWith("nginx"))',
    'object.metadata.labels["app"]',
    'object.metadata.labels["tier"]',
    'oldObject.metadata.name',
    'pod.spec',
    'variables.missing',
    'params.allowed.exists(p, p == "runtime/default") && request.userInfo.username.endsWith("@example.com")',
    'object.spec.containers.map(c, c.name).exists(n, n.size() > 2)',
  ])('%s gives the same value or error with and without the rewrite', (expr) => {
    // What the engine keeps of a result: the value, or the error's message (not its node id).
    const seen = (r: CelResult): unknown => (isCelError(r) ? { error: r.message } : r);
    const plain = seen(plan(env, parse(expr))(bindings));
    expect(seen(plan(env, parsePolicyExpression(expr))(bindings))).toEqual(plain);
  });
});

describe('the container result cache', () => {
  const pod = (privileged: boolean, image = 'registry.example.com/shop/checkout:3.8.1') => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'checkout-7d9f8c6b5-x2x4q', namespace: 'shop' },
    spec: {
      containers: [
        { name: 'checkout', image, securityContext: { privileged } },
        { name: 'envoy', image: 'registry.example.com/mirror/envoyproxy/envoy:v1.31.2' },
      ],
    },
  });
  const assignments = [
    { name: 'priv', policy: 'no-privileged-containers', effect: 'Deny' as const, match: {}, parameters: {} },
    { name: 'latest', policy: 'no-latest-tag', effect: 'Deny' as const, match: {}, parameters: {} },
  ];

  it('answers a sequence of pods exactly as an engine without the cache does', () => {
    const cached = createPolicyEngine(bindAssignments(library, assignments));
    const uncached = createPolicyEngine(bindAssignments(library, assignments), undefined, { containerCacheSize: 0, outcomeCacheSize: 0 });
    const sequence = [pod(false), pod(true), pod(false), pod(true, 'registry.example.com/shop/checkout:latest'), pod(true)];
    const results = sequence.map((p) => cached.evaluate(sampleInput({ name: 'p', object: p, operation: 'CREATE' })));
    expect(results).toEqual(sequence.map((p) => uncached.evaluate(sampleInput({ name: 'p', object: p, operation: 'CREATE' }))));
    expect(results.map((r) => r.violations.map((v) => `${v.policyId} ${v.field ?? ''}`))).toEqual([
      [],
      ['no-privileged-containers spec.containers[0].securityContext.privileged'],
      [],
      ['no-privileged-containers spec.containers[0].securityContext.privileged', 'no-latest-tag spec.containers[0].image'],
      ['no-privileged-containers spec.containers[0].securityContext.privileged'],
    ]);
  });

  it('runs a container-only check once per distinct container, and again once the cache is full', () => {
    const bound = bindAssignments(library, [assignments[0] ?? assignments[1]].filter((a) => a !== undefined));
    let calls = 0;
    for (const a of bound) {
      for (const v of a.policy.validations) {
        expect(v.containerOnly).toBe(true);
        const check = v.check;
        v.check = (b) => {
          calls += 1;
          return check(b);
        };
      }
    }
    // The outcome memo off: it would answer repeated pods before the container cache is asked.
    const engine = createPolicyEngine(bound, undefined, { containerCacheSize: 2, outcomeCacheSize: 0 });
    const review = (p: ReturnType<typeof pod>) => engine.evaluate(sampleInput({ name: 'p', object: p, operation: 'CREATE' }));
    review(pod(false));
    expect(calls).toBe(2);
    review(pod(false));
    expect(calls).toBe(2);
    review(pod(true)); // a new checkout container evicts the oldest entry, the first checkout
    expect(calls).toBe(3);
    review(pod(false)); // the first checkout again evicts envoy, which then evicts the second checkout
    expect(calls).toBe(5);
  });

  it('does not keep containers over 16 KiB of JSON', () => {
    const bound = bindAssignments(library, [{ name: 'priv', policy: 'no-privileged-containers', effect: 'Deny', match: {}, parameters: {} }]);
    let calls = 0;
    for (const v of bound[0]?.policy.validations ?? []) {
      const check = v.check;
      v.check = (b) => {
        calls += 1;
        return check(b);
      };
    }
    const engine = createPolicyEngine(bound, undefined, { outcomeCacheSize: 0 });
    const big = pod(false);
    const env = Array.from({ length: 400 }, (_, i) => ({ name: `FEATURE_FLAG_${i}`, value: 'enabled-for-all-tenants' }));
    const withEnv = { ...big, spec: { containers: big.spec.containers.map((c) => ({ ...c, env })) } };
    engine.evaluate(sampleInput({ name: 'p', object: withEnv, operation: 'CREATE' }));
    engine.evaluate(sampleInput({ name: 'p', object: withEnv, operation: 'CREATE' }));
    expect(calls).toBe(4);
  });
});

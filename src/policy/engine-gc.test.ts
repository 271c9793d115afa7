import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { CelInputs, toCelInput } from './cel-env.js';
import { bindAssignments, createPolicyEngine, isJson, type Json } from './engine.js';
import { loadLibrary } from './load.js';
import { sampleInput } from './samples.js';

// The webhook's tail latency depends on the objects of a request dying young (bench/README.md,
// "Admission webhook"): what survives two young-generation GCs is copied to the old generation, and
// the mark-compacts that then collect it stop every request in flight.
setFlagsFromString('--expose-gc');
const gcValue: unknown = runInNewContext('gc');
if (typeof gcValue !== 'function') throw new Error('--expose-gc did not expose gc()');
const gc = (type: 'minor' | 'major'): void => {
  Reflect.apply(gcValue, undefined, [{ type }]);
};

const oldSpaceUsed = (): number => getHeapSpaceStatistics().find((s) => s.space_name === 'old_space')?.space_used_size ?? 0;

/** A compliant restricted pod with a label key of its own, so the memo cannot answer it and every policy is evaluated. */
function pod(i: number): Json {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `web-${i}`, namespace: 'shop', uid: `uid-${i}`, labels: { app: 'web', [`shard-${i}`]: 'a' } },
    spec: {
      securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [
        {
          name: 'web',
          image: 'registry.example.com/web:1.0',
          env: [{ name: 'MODE', value: 'x'.repeat(200) }],
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
        },
      ],
    },
  };
}

describe('JSON → CEL conversion scopes', () => {
  it('gives one CEL value per source object within a scope, and a new one in another scope', () => {
    const container = { name: 'web', image: 'nginx' };
    const object = { spec: { containers: [container] } };
    const scope = new CelInputs();
    expect(scope.toCel(object)).toBe(scope.toCel(object));
    expect(scope.toCel(container)).toBe(scope.toCel(container));
    expect(toCelInput(object)).not.toBe(scope.toCel(object));
    expect(scope.toCel('text')).toBe('text');
    expect(scope.toCel(undefined)).toBeNull();
  });
});

describe('memory of evaluations', () => {
  it('promotes less than 1.5 KB per evaluated request to the old generation', () => {
    const library = loadLibrary();
    const engine = createPolicyEngine(bindAssignments(library, [{ name: 'restricted', initiative: 'pod-security-restricted', effect: 'Deny', match: {}, parameters: {} }]));
    const review = (i: number): void => {
      // Parsed from JSON, as the webhook's requests are.
      const object: unknown = JSON.parse(JSON.stringify(pod(i)));
      if (!isJson(object)) throw new Error('not an object');
      const result = engine.evaluate(sampleInput({ name: `web-${i}`, object, operation: 'CREATE' }));
      if (result.violations.length > 0 || result.errors.length > 0) throw new Error(`pod ${i} is not compliant: ${JSON.stringify(result)}`);
    };
    for (let i = 0; i < 200; i++) review(i);
    gc('major');
    const before = oldSpaceUsed();
    const n = 3000;
    for (let i = 200; i < 200 + n; i++) review(i);
    // Two young-generation GCs: whatever is still referenced from the old generation is promoted.
    gc('minor');
    gc('minor');
    const perRequest = (oldSpaceUsed() - before) / n;
    // Kept on purpose: the memo's outcomes and its interned label fragments (≈ 300 B). Before the
    // conversions were scoped to the request (module-level WeakMaps), ≈ 3,100 B.
    expect(perRequest).toBeLessThan(1500);
  });
});

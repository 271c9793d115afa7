import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ObjectMetaSchema, PodSpecSchema, PodTemplateSchema } from '../kube/model.js';
import { evaluatePodSecurity } from '../kube/pss/evaluate.js';
import { isJson } from './engine.js';
import { loadLibrary } from './load.js';
import { hasPodLikeShape, projectPssPod, PSS_POD_FIELDS, pssPodOf } from './pss-pod.js';

const repoRoot = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const pssDir = resolve(repoRoot, '../shared/conformance/pss');
const pssPresent = existsSync(resolve(pssDir, 'manifest.json'));
if (!pssPresent) console.warn(`skipping the PSS fixtures in the podSecurity input test: ${pssDir} is absent`);

/** Pods of the library's samples (pods and pod templates of controllers) and variants the schema refuses or completes. */
function samplePods(): unknown[] {
  const out: unknown[] = [];
  for (const loaded of loadLibrary().policies.values()) {
    for (const sample of [...(loaded.samples?.pass ?? []), ...(loaded.samples?.fail ?? [])]) {
      const obj = sample.object;
      if (!obj) continue;
      if (obj.kind === 'Pod') out.push(obj);
      const spec = obj.spec;
      if (isJson(spec) && isJson(spec.template)) out.push(spec.template);
    }
  }
  return out;
}

const pod = (spec: Record<string, unknown>, metadata: unknown = { name: 'p', labels: { app: 'web' } }): unknown => ({ apiVersion: 'v1', kind: 'Pod', metadata, spec });
const VARIANTS: unknown[] = [
  pod({ containers: [{ name: 'a', image: 'a:1' }] }),
  pod({ containers: [{ image: 'a:1' }] }), // name defaulted by the schema
  pod({}), // containers defaulted
  { metadata: { name: 'p' } }, // spec defaulted
  pod({ containers: [{ name: 'a', securityContext: { runAsUser: '0' } }] }),
  pod({ containers: [{ name: 'a', securityContext: { privileged: 'true' } }] }),
  pod({ containers: [{ name: 'a', ports: [{ containerPort: 80, hostPort: '80' }] }] }),
  pod({ containers: [{ name: 'a', resources: { limits: { cpu: true } } }] }),
  pod({ containers: [{ name: 'a' }], volumes: [{ name: 'v', hostPath: null }] }),
  pod({ containers: [{ name: 'a' }], volumes: [{ hostPath: { path: '/' } }] }), // volume name defaulted
  pod({ containers: [{ name: 'a' }], volumes: [{ name: 'v', projected: [] }] }),
  pod({ containers: [{ name: 'a' }], securityContext: { sysctls: [{ value: '1' }] } }),
  pod({ containers: [{ name: 'a' }], hostPID: 'yes' }),
  pod({ containers: [{ name: 'a' }] }, { name: 5 }),
  pod({ containers: [{ name: 'a' }] }, { labels: { replicas: 3 } }),
  pod({ containers: [{ name: 'a' }] }, { creationTimestamp: null, ownerReferences: [{ kind: 'ReplicaSet', name: 'rs', uid: 'u' }] }),
  pod({ containers: [{ name: 'a' }] }, { ownerReferences: [{ kind: 'ReplicaSet' }] }),
  pod({ containers: [{ name: 'a' }] }, 'not metadata'),
  pod({ containers: 'none' }),
  'not a pod',
  null,
  [],
];

function fixturePods(): unknown[] {
  const manifest = z.object({ cases: z.array(z.object({ file: z.string() })) }).parse(JSON.parse(readFileSync(resolve(pssDir, 'manifest.json'), 'utf8')));
  return [...new Set(manifest.cases.map((c) => c.file))].map((file) => parseYaml(readFileSync(resolve(pssDir, file), 'utf8')));
}

describe('the pod podSecurity() evaluates', () => {
  it('names every field of the pod template schema, and reads by type only what the schema checks by type only', () => {
    const named = (prefix: string) => PSS_POD_FIELDS.filter((f) => f.path[0] === prefix).map((f) => f.path[1]).sort();
    expect(named('metadata')).toEqual(Object.keys(ObjectMetaSchema.shape).sort());
    expect(named('spec')).toEqual(Object.keys(PodSpecSchema.shape).sort());
    expect(Object.keys(PodTemplateSchema.shape).sort()).toEqual(['metadata', 'spec']);
    expect(PSS_POD_FIELDS.every((f) => f.path.length === 2)).toBe(true);
    // A type read: any two values of one type are accepted or refused alike.
    const samples = ['', 'a', 'zz', 0, 7, -1.5, true, false, null, {}, { a: 'b' }, [], ['x']];
    const typeOf = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
    for (const f of PSS_POD_FIELDS.filter((x) => x.mode === 'type')) {
      const field = Object.entries(ObjectMetaSchema.shape).find(([key]) => key === f.path[1])?.[1];
      if (field === undefined) throw new Error(`no metadata field ${f.path[1]}`);
      const verdicts = new Map<string, boolean>();
      for (const v of samples) {
        const ok = field.safeParse(v).success;
        expect(verdicts.get(typeOf(v)) ?? ok, `${f.path.join('.')} = ${JSON.stringify(v)}`).toBe(ok);
        verdicts.set(typeOf(v), ok);
      }
    }
  });

  function sameAsSchema(all: unknown[]): void {
    let direct = 0;
    for (const raw of all) {
      const label = JSON.stringify(raw)?.slice(0, 160) ?? String(raw);
      const parsed = PodTemplateSchema.safeParse(raw);
      const ours = pssPodOf(raw);
      expect(ours.ok, label).toBe(parsed.success);
      if (!ours.ok || !parsed.success) {
        expect(ours.ok ? '' : ours.error, label).toBe(parsed.success ? '' : parsed.error.issues[0]?.message);
        continue;
      }
      if (hasPodLikeShape(projectPssPod(raw))) direct += 1;
      for (const level of ['baseline', 'restricted'] as const) {
        for (const version of ['v1.0', 'v1.25', 'latest']) {
          expect(evaluatePodSecurity(ours.pod, level, version), `${label} ${level} ${version}`).toEqual(evaluatePodSecurity(parsed.data, level, version));
        }
      }
    }
    // Most real pods take the path without the schema.
    expect(direct).toBeGreaterThan(all.length / 2);
  }

  it('gives the evaluator what the schema gives it: library samples and variants', () => {
    sameAsSchema([...samplePods(), ...VARIANTS]);
  });

  it.skipIf(!pssPresent)('gives the evaluator what the schema gives it: the Kubernetes PSS fixtures', () => {
    sameAsSchema(fixturePods());
  });
});

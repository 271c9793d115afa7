import { createPolicyEngine, bindAssignments, isJson, staticObjectLookup, type AdmissionInput, type Evaluation, type Json } from './engine.js';
import type { LoadedPolicy, PolicyLibrary } from './load.js';
import type { Sample } from './schema.js';

/**
 * The generic samples runner (like `gator verify`): each policy folder carries samples that must pass
 * and samples that must fail; each sample is evaluated against that policy alone, with the sample's
 * parameters, as an admission request of the sample's operation.
 */

export interface SampleResult {
  policyId: string;
  kind: 'pass' | 'fail';
  name: string;
  passed: boolean;
  /** Why it did not pass, or the violations it produced (for a fail sample). */
  detail: string;
}

const GROUP_OF_API_VERSION = (apiVersion: string): { group: string; version: string } => {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
};

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function meta(obj: Json | undefined | null, key: string): string {
  const m = obj?.metadata;
  return isJson(m) ? str(m[key]) : '';
}

/** An admission input as the API server would send it for this sample. */
export function sampleInput(sample: Sample): AdmissionInput {
  const subject = sample.object ?? sample.oldObject ?? {};
  const { group, version } = GROUP_OF_API_VERSION(str(subject.apiVersion));
  const kind = str(subject.kind);
  const namespace = meta(subject, 'namespace') || (sample.namespaceObject ? meta(sample.namespaceObject, 'name') : '');
  const name = meta(subject, 'name');
  const userInfo = sample.userInfo ?? { username: 'alice@example.com', groups: ['system:authenticated'] };
  return {
    operation: sample.operation,
    group,
    version,
    kind,
    namespace,
    name,
    object: sample.operation === 'DELETE' ? null : sample.object,
    oldObject: sample.oldObject ?? null,
    request: {
      uid: 'sample',
      kind: { group, version, kind },
      resource: { group, version, resource: `${kind.toLowerCase()}s` },
      name,
      namespace,
      operation: sample.operation,
      userInfo,
      dryRun: false,
    },
    namespaceObject: sample.namespaceObject ?? null,
  };
}

export function evaluateSample(library: PolicyLibrary, loaded: LoadedPolicy, sample: Sample): Evaluation {
  const policy = loaded.policy;
  const effect = policy.effects.includes('Deny') ? 'Deny' : policy.effects.includes('Audit') ? 'Audit' : policy.defaultEffect;
  // Samples run unscoped: the default namespace exclusions would hide samples set in kube-system.
  const bound = bindAssignments({ ...library, defaultExcludedNamespaces: [] }, [
    { name: `sample:${policy.id}`, policy: policy.id, effect, match: {}, parameters: sample.params ?? {} },
  ]);
  return createPolicyEngine(bound, staticObjectLookup(sample.objects ?? [])).evaluate(sampleInput(sample));
}

export function runPolicySamples(library: PolicyLibrary, loaded: LoadedPolicy): SampleResult[] {
  const results: SampleResult[] = [];
  const samples = loaded.samples;
  if (!samples) return results;
  for (const kind of ['pass', 'fail'] as const) {
    for (const sample of samples[kind]) {
      let evaluation: Evaluation;
      try {
        evaluation = evaluateSample(library, loaded, sample);
      } catch (error) {
        results.push({ policyId: loaded.policy.id, kind, name: sample.name, passed: false, detail: error instanceof Error ? error.message : String(error) });
        continue;
      }
      const messages = evaluation.violations.map((v) => `${v.message}${v.field ? ` (${v.field})` : ''}`);
      if (evaluation.errors.length > 0) {
        results.push({ policyId: loaded.policy.id, kind, name: sample.name, passed: false, detail: `evaluation errors: ${evaluation.errors.map((e) => e.error).join('; ')}` });
      } else if (kind === 'pass') {
        results.push({ policyId: loaded.policy.id, kind, name: sample.name, passed: messages.length === 0, detail: messages.length === 0 ? '' : `violated: ${messages.join('; ')}` });
      } else {
        const fields = new Set(evaluation.violations.map((v) => v.field ?? ''));
        const missing = (sample.fields ?? []).filter((f) => !fields.has(f));
        const passed = messages.length > 0 && missing.length === 0;
        const detail = messages.length === 0 ? 'no violation' : missing.length > 0 ? `fields not named: ${missing.join(', ')}; got ${messages.join('; ')}` : messages.join('; ');
        results.push({ policyId: loaded.policy.id, kind, name: sample.name, passed, detail });
      }
    }
  }
  return results;
}

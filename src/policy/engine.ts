import type { CelInput } from '@bufbuild/cel';
import { AppError } from '../core/index.js';
import { compileCheck, compileValue, policyCelEnv, policyVariablesOf, toCelInput, type CheckProgram, type ValueProgram } from './cel-env.js';

export { toCelInput } from './cel-env.js';
import { applyDefaults, validate } from './json-schema.js';
import type { PolicyLibrary } from './load.js';
import type { Assignment, Effect, LabelSelectorSpec, Operation, Policy, PolicySeverity, Scope, Validation } from './schema.js';

/**
 * Compiles assignments (policy or initiative + scope + parameters + effect) into an evaluator, and
 * evaluates one admission input against it: match (kind, operation, namespaces, selectors), then
 * each validation in its scope (the object, each pod or pod template, each container), collecting
 * violations with the field at fault. Parameters are validated against the policy's schema at
 * compile time, so a bad parameter is a start-up error, never a request-time surprise.
 */

export type Json = Record<string, unknown>;

export interface AdmissionInput {
  operation: Operation;
  /** API group ('' for core), version and kind of the object. */
  group: string;
  version: string;
  kind: string;
  namespace: string;
  name: string;
  object: Json | null;
  oldObject: Json | null;
  /** The request as ValidatingAdmissionPolicy exposes it (uid, kind, operation, userInfo, dryRun …). */
  request: Json;
  namespaceObject: Json | null;
}

export interface Violation {
  policyId: string;
  title: string;
  severity: PolicySeverity;
  assignment: string;
  effect: Exclude<Effect, 'Disabled'>;
  message: string;
  /** The field at fault, from the object's root (`spec.template.spec.containers[0].securityContext.privileged`). */
  field?: string;
}

export interface EvaluationError {
  policyId: string;
  assignment: string;
  effect: Exclude<Effect, 'Disabled'>;
  failurePolicy: 'Ignore' | 'Fail';
  error: string;
}

export interface Evaluation {
  violations: Violation[];
  errors: EvaluationError[];
  /** Names of the assignments whose match block selected the object (the audit sweep's denominator). */
  applicable: string[];
}

interface CompiledValidation {
  validation: Validation;
  scope: 'object' | 'pod' | 'container';
  check: CheckProgram;
  message: ValueProgram | undefined;
  /**
   * A container-scope check that reads only `container` and `params`: its result is a function of
   * the container's content and the assignment, so the engine may reuse it for an identical container.
   */
  containerOnly: boolean;
}

export interface CompiledPolicy {
  policy: Policy;
  kinds: { any: boolean; bare: Set<string>; qualified: Set<string> };
  operations: Set<Operation>;
  variables: Array<{ name: string; program: ValueProgram }>;
  validations: CompiledValidation[];
}

export interface BoundAssignment {
  name: string;
  policy: CompiledPolicy;
  effect: Exclude<Effect, 'Disabled'>;
  scope: Scope;
  params: CelInput;
  excludedImages: RegExp[];
}

/** Other objects of the cluster, by kind and namespace (for policies with `lookups`). */
export interface ObjectLookup {
  list(kind: string, namespace: string): readonly Json[];
}

export const noObjects: ObjectLookup = { list: () => [] };

/** An ObjectLookup over a fixed set of objects (samples, the audit sweep's inventory). */
export function staticObjectLookup(objects: readonly Json[]): ObjectLookup {
  const byKey = new Map<string, Json[]>();
  for (const obj of objects) {
    const kind = typeof obj.kind === 'string' ? obj.kind : '';
    const meta = obj.metadata;
    const ns = isJson(meta) && typeof meta.namespace === 'string' ? meta.namespace : '';
    const key = `${kind}\u0000${ns}`;
    byKey.set(key, [...(byKey.get(key) ?? []), obj]);
  }
  return { list: (kind, namespace) => byKey.get(`${kind}\u0000${namespace}`) ?? [] };
}

export interface PolicyEngine {
  readonly assignments: readonly BoundAssignment[];
  evaluate(input: AdmissionInput): Evaluation;
}

/** Kinds whose pods pod policies judge, with the path of the pod template in each. */
export const POD_TEMPLATE_PATHS: Record<string, readonly string[]> = {
  Pod: [],
  Deployment: ['spec', 'template'],
  ReplicaSet: ['spec', 'template'],
  StatefulSet: ['spec', 'template'],
  DaemonSet: ['spec', 'template'],
  Job: ['spec', 'template'],
  ReplicationController: ['spec', 'template'],
  PodTemplate: ['template'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
};

const DEFAULT_OPERATIONS: readonly Operation[] = ['CREATE', 'UPDATE'];

function compileKinds(policy: Policy): CompiledPolicy['kinds'] {
  const given = policy.match.kinds ?? (policy.target === 'pod' ? Object.keys(POD_TEMPLATE_PATHS) : ['*']);
  const kinds = { any: false, bare: new Set<string>(), qualified: new Set<string>() };
  for (const k of given) {
    if (k === '*') kinds.any = true;
    else if (k.includes('/')) kinds.qualified.add(k);
    else kinds.bare.add(k);
  }
  return kinds;
}

export function compilePolicy(policy: Policy, where = `policy ${policy.id}`): CompiledPolicy {
  const env = policyCelEnv();
  const defaultScope = policy.target === 'pod' ? 'pod' : 'object';
  return {
    policy,
    kinds: compileKinds(policy),
    operations: new Set(policy.match.operations ?? DEFAULT_OPERATIONS),
    variables: policy.variables.map((v) => ({ name: v.name, program: compileValue(env, v.expression, `${where} variable ${v.name}`) })),
    validations: policy.validations.map((validation, i) => {
      const scope = validation.scope ?? defaultScope;
      if (scope !== 'object' && policy.target !== 'pod') {
        throw new AppError('BAD_INPUT', `${where} validation ${i + 1}: scope '${scope}' needs target: pod`);
      }
      return {
        validation,
        scope,
        check: compileCheck(env, validation.expression, `${where} validation ${i + 1}`),
        containerOnly: scope === 'container' && [...policyVariablesOf(validation.expression)].every((name) => name === 'container' || name === 'params'),
        message: validation.messageExpression === undefined ? undefined : compileValue(env, validation.messageExpression, `${where} validation ${i + 1} messageExpression`),
      };
    }),
  };
}

/** Glob (`*` any run of characters) to an anchored regular expression. */
export function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`);
}

/** Validates and completes the parameters of one policy; throws naming the assignment and the field. */
export function resolveParameters(policy: Policy, given: unknown, where: string): CelInput {
  const schema = policy.parameters ?? { type: 'object', properties: {}, additionalProperties: false };
  const filled = applyDefaults(schema, given ?? {});
  const problems = validate(schema, filled);
  if (problems.length > 0) {
    throw new AppError('BAD_INPUT', `${where}: parameters of policy ${policy.id} do not match its schema: ${problems.join('; ')}`);
  }
  return toCelInput(filled);
}

function mergeScope(base: Scope, over: Scope): Scope {
  return {
    namespaces: over.namespaces ?? base.namespaces,
    excludedNamespaces: over.excludedNamespaces ?? base.excludedNamespaces,
    labelSelector: over.labelSelector ?? base.labelSelector,
    namespaceSelector: over.namespaceSelector ?? base.namespaceSelector,
    excludedImages: over.excludedImages ?? base.excludedImages,
    excludedContainers: over.excludedContainers ?? base.excludedContainers,
  };
}

function checkEffect(policy: Policy, effect: Effect, where: string): void {
  if (effect !== 'Disabled' && !policy.effects.includes(effect)) {
    throw new AppError('BAD_INPUT', `${where}: policy ${policy.id} does not support effect ${effect} (allowed: ${policy.effects.join(', ')}, Disabled)`);
  }
}

/** Binds the assignments to the library; every problem (unknown id, bad parameter, effect) is thrown here. */
export function bindAssignments(library: PolicyLibrary, assignments: readonly Assignment[]): BoundAssignment[] {
  const compiled = new Map<string, CompiledPolicy>();
  const compiledOf = (id: string, where: string): CompiledPolicy => {
    let c = compiled.get(id);
    if (c === undefined) {
      const loaded = library.policies.get(id);
      if (loaded === undefined) throw new AppError('BAD_INPUT', `${where}: unknown policy ${id} (see palisade policy list or docs/policies.md)`);
      c = compilePolicy(loaded.policy, `${loaded.dir}/policy.yaml`);
      compiled.set(id, c);
    }
    return c;
  };
  const defaults: Scope = { excludedNamespaces: library.defaultExcludedNamespaces };
  const bound: BoundAssignment[] = [];
  const names = new Set<string>();
  for (const a of assignments) {
    const where = `assignment ${a.name}`;
    if (names.has(a.name)) throw new AppError('BAD_INPUT', `${where}: two assignments have this name; names must be unique`);
    names.add(a.name);
    const members: Array<{ id: string; params: unknown; effect: Effect | undefined; name: string }> = [];
    if (a.policy !== undefined) {
      members.push({ id: a.policy, params: a.parameters, effect: undefined, name: a.name });
    } else {
      const initiative = library.initiatives.get(a.initiative ?? '');
      if (initiative === undefined) {
        throw new AppError('BAD_INPUT', `${where}: unknown initiative ${a.initiative} (known: ${[...library.initiatives.keys()].sort().join(', ')})`);
      }
      const memberIds = new Set(initiative.members.map((m) => m.policy));
      for (const key of Object.keys(a.parameters)) {
        if (!memberIds.has(key)) throw new AppError('BAD_INPUT', `${where}: parameters for ${key}, which is not a member of initiative ${initiative.id}`);
      }
      for (const m of initiative.members) {
        const override = a.parameters[m.policy];
        const params = { ...(m.parameters ?? {}), ...(typeof override === 'object' && override !== null ? override : {}) };
        members.push({ id: m.policy, params, effect: m.effect, name: `${a.name}/${m.policy}` });
      }
    }
    for (const m of members) {
      const policy = compiledOf(m.id, where);
      const effect = a.effect ?? m.effect ?? policy.policy.defaultEffect;
      checkEffect(policy.policy, effect, where);
      if (effect === 'Disabled') continue;
      const scope = mergeScope(mergeScope(defaults, policy.policy.match), a.match);
      bound.push({
        name: m.name,
        policy,
        effect,
        scope,
        params: resolveParameters(policy.policy, m.params, where),
        excludedImages: (scope.excludedImages ?? []).map(globToRegExp),
      });
    }
  }
  return bound;
}

// ---------------------------------------------------------------------------------------------
// evaluation

export function isJson(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function getPath(value: unknown, path: readonly string[]): unknown {
  let cur = value;
  for (const key of path) {
    if (!isJson(cur)) return undefined;
    cur = cur[key];
  }
  return cur;
}

function labelsOf(obj: Json | null): Record<string, string> {
  const labels = getPath(obj, ['metadata', 'labels']);
  const out: Record<string, string> = {};
  if (isJson(labels)) for (const [k, v] of Object.entries(labels)) if (typeof v === 'string') out[k] = v;
  return out;
}

export function selectorMatches(selector: LabelSelectorSpec | undefined, labels: Record<string, string>): boolean {
  if (selector === undefined) return true;
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) if (labels[key] !== value) return false;
  for (const expr of selector.matchExpressions ?? []) {
    const value = labels[expr.key];
    const values = expr.values ?? [];
    if (expr.operator === 'In' && (value === undefined || !values.includes(value))) return false;
    if (expr.operator === 'NotIn' && value !== undefined && values.includes(value)) return false;
    if (expr.operator === 'Exists' && value === undefined) return false;
    if (expr.operator === 'DoesNotExist' && value !== undefined) return false;
  }
  return true;
}

function nameMatches(patterns: readonly string[], name: string): boolean {
  for (const p of patterns) {
    if (p === name) return true;
    if (p.endsWith('*') && name.startsWith(p.slice(0, -1))) return true;
  }
  return false;
}

function kindMatches(kinds: CompiledPolicy['kinds'], group: string, kind: string): boolean {
  return kinds.any || kinds.bare.has(kind) || kinds.qualified.has(`${group}/${kind}`);
}

function scopeMatches(a: BoundAssignment, input: AdmissionInput, subject: Json | null): boolean {
  const s = a.scope;
  if (input.namespace !== '') {
    if (s.namespaces && !nameMatches(s.namespaces, input.namespace)) return false;
    if (s.excludedNamespaces && nameMatches(s.excludedNamespaces, input.namespace)) return false;
  }
  if (s.labelSelector && !selectorMatches(s.labelSelector, labelsOf(subject))) return false;
  if (s.namespaceSelector && !selectorMatches(s.namespaceSelector, labelsOf(input.namespaceObject))) return false;
  return true;
}

interface PodTarget {
  pod: Json;
  /** Field path of the pod from the object root: '' for a Pod, 'spec.template.' for a Deployment. */
  prefix: string;
}

export function podTargetOf(kind: string, obj: Json | null): PodTarget | undefined {
  const path = POD_TEMPLATE_PATHS[kind];
  if (path === undefined || obj === null) return undefined;
  const pod = path.length === 0 ? obj : getPath(obj, path);
  if (!isJson(pod)) return undefined;
  return { pod, prefix: path.length === 0 ? '' : `${path.join('.')}.` };
}

const CONTAINER_FIELDS = ['initContainers', 'containers', 'ephemeralContainers'] as const;

interface ContainerRef {
  container: Json;
  cel: CelInput;
  path: string;
  name: string;
  field: (typeof CONTAINER_FIELDS)[number];
}

function containersOf(pod: Json, a: BoundAssignment | undefined): { refs: ContainerRef[]; excluded: boolean } {
  const spec = pod.spec;
  const refs: ContainerRef[] = [];
  let excluded = false;
  if (!isJson(spec)) return { refs, excluded };
  for (const field of CONTAINER_FIELDS) {
    const list = spec[field];
    if (!Array.isArray(list)) continue;
    list.forEach((c: unknown, i) => {
      if (!isJson(c)) return;
      const name = typeof c.name === 'string' ? c.name : '';
      const image = typeof c.image === 'string' ? c.image : '';
      if (a && ((a.scope.excludedContainers ?? []).includes(name) || a.excludedImages.some((re) => re.test(image)))) {
        excluded = true;
        return;
      }
      refs.push({ container: c, cel: toCelInput(c), path: `spec.${field}[${i}]`, name, field });
    });
  }
  return { refs, excluded };
}

/** The pod without its excluded containers, so pod-scope validations skip them too. */
function withoutExcluded(pod: Json, a: BoundAssignment): Json {
  const spec = pod.spec;
  if (!isJson(spec)) return pod;
  const keep = (c: unknown): boolean => {
    if (!isJson(c)) return true;
    const name = typeof c.name === 'string' ? c.name : '';
    const image = typeof c.image === 'string' ? c.image : '';
    return !(a.scope.excludedContainers ?? []).includes(name) && !a.excludedImages.some((re) => re.test(image));
  };
  const newSpec: Json = { ...spec };
  for (const field of CONTAINER_FIELDS) {
    const list = spec[field];
    if (Array.isArray(list)) newSpec[field] = list.filter(keep);
  }
  return { ...pod, spec: newSpec };
}

function messageOf(v: CompiledValidation, bindings: Record<string, CelInput>, policy: Policy): string {
  if (v.message) {
    const result = v.message(bindings);
    if (result.ok && typeof result.value === 'string') return result.value;
  }
  return v.validation.message ?? policy.title;
}

function joinField(prefix: string, field: string | undefined): string | undefined {
  if (field === undefined || field === '') return prefix === '' ? undefined : prefix.slice(0, -1);
  return `${prefix}${field}`;
}

export interface PolicyEngineOptions {
  /**
   * Distinct containers whose container-only check results are kept (default 512, 0 to keep none).
   * Pods of one ReplicaSet, Job or DaemonSet carry identical containers, so a webhook sees the same
   * container many times; checks that read only `container` and `params` are then not re-run.
   */
  containerCacheSize?: number;
}

type CheckResult = ReturnType<CheckProgram>;

/** Largest container JSON the result cache keeps (512 × 16 KiB bounds it at 8 MiB of keys). */
const MAX_CACHED_CONTAINER_CHARS = 16 * 1024;

export function createPolicyEngine(assignments: readonly BoundAssignment[], objects: ObjectLookup = noObjects, options: PolicyEngineOptions = {}): PolicyEngine {
  const cacheSize = options.containerCacheSize ?? 512;
  // One slot per (assignment, container-only validation): results differ by parameters.
  let slotCount = 0;
  const slots = assignments.map((a) => a.policy.validations.map((v) => (cacheSize > 0 && v.containerOnly ? slotCount++ : -1)));
  /** Check results by container content (its JSON text), oldest first. */
  const cache = new Map<string, Array<CheckResult | undefined>>();
  const resultsFor = (key: string): Array<CheckResult | undefined> => {
    // Bounded memory: a container larger than this (a 3 MB object is allowed) is not kept.
    if (key.length > MAX_CACHED_CONTAINER_CHARS) return new Array<CheckResult | undefined>(slotCount);
    let results = cache.get(key);
    if (results === undefined) {
      if (cache.size >= cacheSize) {
        const oldest = cache.keys().next();
        if (!oldest.done) cache.delete(oldest.value);
      }
      results = new Array<CheckResult | undefined>(slotCount);
      cache.set(key, results);
    }
    return results;
  };
  return {
    assignments,
    evaluate(input) {
      const containerResults = new Map<Json, Array<CheckResult | undefined>>();
      const cachedResults = (container: Json): Array<CheckResult | undefined> => {
        let results = containerResults.get(container);
        if (results === undefined) {
          results = resultsFor(JSON.stringify(container));
          containerResults.set(container, results);
        }
        return results;
      };
      const violations: Violation[] = [];
      const errors: EvaluationError[] = [];
      const applicable: string[] = [];
      const subject = input.object ?? input.oldObject;
      // One bindings object per request, its per-policy entries overwritten as policies are visited
      // (evaluation is synchronous, so nothing else sees it in between).
      const bindings: Record<string, CelInput> = {
        object: toCelInput(input.object),
        oldObject: toCelInput(input.oldObject),
        request: toCelInput(input.request),
        namespaceObject: toCelInput(input.namespaceObject),
      };
      let target: PodTarget | undefined | null = null;
      let allContainers: ContainerRef[] = [];
      for (let ai = 0; ai < assignments.length; ai++) {
        const a = assignments[ai];
        if (a === undefined) continue;
        const cp = a.policy;
        const policy = cp.policy;
        if (!cp.operations.has(input.operation)) continue;
        if (!kindMatches(cp.kinds, input.group, input.kind)) continue;
        if (!scopeMatches(a, input, subject)) continue;
        if (policy.target === 'pod') {
          if (target === null) {
            target = podTargetOf(input.kind, subject);
            allContainers = target ? containersOf(target.pod, undefined).refs : [];
          }
          if (target === undefined) continue;
        }
        applicable.push(a.name);
        let containers = allContainers;
        bindings.params = a.params;
        bindings.pod = null;
        bindings.podPath = '';
        bindings.variables = null;
        bindings.container = null;
        bindings.lookups = null;
        if (policy.lookups.length > 0) {
          const found: Record<string, CelInput> = {};
          for (const l of policy.lookups) found[l.name] = toCelInput(objects.list(l.kind, input.namespace));
          bindings.lookups = found;
        }
        if (policy.target === 'pod' && target) {
          const excluding = (a.scope.excludedContainers?.length ?? 0) > 0 || a.excludedImages.length > 0;
          const split = excluding ? containersOf(target.pod, a) : undefined;
          if (split) containers = split.refs;
          bindings.pod = toCelInput(split?.excluded ? withoutExcluded(target.pod, a) : target.pod);
          bindings.podPath = target.prefix;
        }
        if (cp.variables.length > 0) {
          const vars: Record<string, CelInput> = {};
          bindings.variables = vars;
          let broken: string | undefined;
          for (const v of cp.variables) {
            const r = v.program(bindings);
            if (!r.ok) {
              broken = `variable ${v.name}: ${r.error}`;
              break;
            }
            vars[v.name] = r.value;
          }
          if (broken !== undefined) {
            errors.push({ policyId: policy.id, assignment: a.name, effect: a.effect, failurePolicy: policy.failurePolicy, error: broken });
            continue;
          }
        }
        for (let vi = 0; vi < cp.validations.length; vi++) {
          const v = cp.validations[vi];
          if (v === undefined) continue;
          if (v.scope === 'container') {
            const lists = v.validation.containers;
            const slot = slots[ai]?.[vi] ?? -1;
            for (const ref of containers) {
              if (lists && !lists.includes(ref.field)) continue;
              bindings.container = ref.cel;
              let r: CheckResult;
              if (slot < 0) {
                r = v.check(bindings);
              } else {
                const results = cachedResults(ref.container);
                r = results[slot] ?? v.check(bindings);
                results[slot] = r;
              }
              if (!r.ok) {
                errors.push({ policyId: policy.id, assignment: a.name, effect: a.effect, failurePolicy: policy.failurePolicy, error: `container ${ref.name}: ${r.error}` });
              } else if (!r.value) {
                const field = joinField(`${target?.prefix ?? ''}${ref.path}.`, v.validation.field);
                violations.push(violationOf(a, `container "${ref.name}": ${messageOf(v, bindings, policy)}`, field));
              }
            }
            bindings.container = null;
            continue;
          }
          const r = v.check(bindings);
          if (!r.ok) {
            errors.push({ policyId: policy.id, assignment: a.name, effect: a.effect, failurePolicy: policy.failurePolicy, error: r.error });
          } else if (!r.value) {
            const field = v.validation.field === undefined ? undefined : joinField(v.scope === 'pod' ? (target?.prefix ?? '') : '', v.validation.field);
            violations.push(violationOf(a, messageOf(v, bindings, policy), field));
          }
        }
      }
      return { violations, errors, applicable };
    },
  };
}

function violationOf(a: BoundAssignment, message: string, field: string | undefined): Violation {
  const policy = a.policy.policy;
  return { policyId: policy.id, title: policy.title, severity: policy.severity, assignment: a.name, effect: a.effect, message, ...(field ? { field } : {}) };
}

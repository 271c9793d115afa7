import type { CelInput } from '@bufbuild/cel';
import { AppError } from '../core/index.js';
import { CelInputs, compileCheck, compileValue, policyCelEnv, policyVariablesOf, toCelInput, type CheckProgram, type ValueProgram } from './cel-env.js';

export { toCelInput } from './cel-env.js';
import { applyDefaults, validate } from './json-schema.js';
import type { PolicyLibrary } from './load.js';
import { createOutcomeMemo, RequestReads, type ReadRoots } from './memo.js';
import { expressionReads, normalizeReads, type ValueRead } from './reads.js';
import type { Assignment, Effect, LabelSelectorSpec, Operation, Policy, PolicySeverity, Scope, Validation } from './schema.js';

/**
 * Compiles assignments (policy or initiative + scope + parameters + effect) into an evaluator, and
 * evaluates one admission input against it: match (kind, operation, namespaces, selectors), then
 * each validation in its scope (the object, each pod or pod template, each container), collecting
 * violations with the field at fault. Parameters are validated against the policy's schema at
 * compile time, so a bad parameter is a start-up error, never a request-time surprise.
 *
 * An assignment's outcome is remembered by exactly what its expressions read (reads.ts, memo.ts),
 * so the pods of one template, which differ in name, uid and timestamps, are judged once.
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

/** What an assignment's outcome depends on besides its parameters (see memo.ts). */
export interface PolicyReads {
  /** Reads of object, oldObject, request, namespaceObject and (pod policies) pod; `id` names the read. */
  paths: Array<{ read: ValueRead; id: string }>;
  /** The outcome depends on the pod's containers (container-scope validations, or reads of `container`). */
  containers: boolean;
}

export interface CompiledPolicy {
  policy: Policy;
  kinds: { any: boolean; bare: Set<string>; qualified: Set<string> };
  operations: Set<Operation>;
  variables: Array<{ name: string; program: ValueProgram }>;
  validations: CompiledValidation[];
  /** Undefined when the outcome also depends on other objects of the cluster (lookups): never memoized. */
  reads: PolicyReads | undefined;
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

/** Variables whose values come from the request (params is fixed per assignment, variables derive from the rest). */
const REQUEST_ROOTS = new Set(['object', 'oldObject', 'request', 'namespaceObject']);

/** Reads of a compiled policy, from every expression it evaluates (variables, validations, messages). */
function policyReads(policy: Policy): PolicyReads | undefined {
  if (policy.lookups.length > 0) return undefined;
  const expressions = [...policy.variables.map((v) => v.expression), ...policy.validations.flatMap((v) => [v.expression, ...(v.messageExpression === undefined ? [] : [v.messageExpression])])];
  const all = normalizeReads(expressions.flatMap(expressionReads));
  let containers = policy.target === 'pod' && policy.validations.some((v) => v.scope === 'container');
  const paths: PolicyReads['paths'] = [];
  for (const read of all) {
    if (read.root === 'container') containers ||= policy.target === 'pod';
    // pod and container are bound only for pod policies (null otherwise, like the other roots left out: constants).
    const fromRequest = REQUEST_ROOTS.has(read.root) || (read.root === 'pod' && policy.target === 'pod');
    if (fromRequest) paths.push({ read, id: `${read.root}\u0000${read.mode}\u0000${read.path.join('\u0000')}` });
  }
  return { paths, containers };
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
    // Last: every expression has parsed by now, so a syntax error was reported above with its place.
    reads: policyReads(policy),
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
  /** The container as CEL sees it, made when a check first needs it. */
  cel?: CelInput;
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
      refs.push({ container: c, path: `spec.${field}[${i}]`, name, field });
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
  /**
   * Assignment outcomes kept by what the assignment's expressions read (default 4096, 0 to keep
   * none; see memo.ts). Pods of one template differ only in fields no policy reads (name, uid,
   * creationTimestamp), so each assignment is evaluated once per template, not once per pod.
   */
  outcomeCacheSize?: number;
}

type CheckResult = ReturnType<CheckProgram>;

/** Largest container JSON the result cache keeps (512 × 16 KiB bounds it at 8 MiB of keys). */
const MAX_CACHED_CONTAINER_CHARS = 16 * 1024;

/**
 * A read set whose last MEMO_WINDOW lookups all missed (every pod new: its containers never repeat)
 * goes cold: building its keys costs about a fifth of an evaluation for nothing, so only every
 * MEMO_PROBE_EVERY-th request builds and stores them, until one of those hits again.
 */
const MEMO_WINDOW = 64;
const MEMO_PROBE_EVERY = 16;

/** What one assignment produced for one request. */
interface Outcome {
  violations: readonly Violation[];
  errors: readonly EvaluationError[];
}

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
  const outcomeCacheSize = options.outcomeCacheSize ?? 4096;
  const memo = createOutcomeMemo<Outcome>(outcomeCacheSize);
  // The distinct reads of all assignments, numbered, so a request computes each once; and the
  // distinct read sets (a number of reads plus, maybe, the containers), so a request builds each key once.
  const readSlots = new Map<string, number>();
  const readList: ValueRead[] = [];
  const readSets = new Map<string, number>();
  const readSetOf = assignments.map((a) => {
    const r = a.policy.reads;
    if (r === undefined || outcomeCacheSize <= 0) return undefined;
    const slots = r.paths.map(({ read, id }) => {
      let slot = readSlots.get(id);
      if (slot === undefined) {
        slot = readList.length;
        readList.push(read);
        readSlots.set(id, slot);
      }
      return slot;
    });
    // Excluded containers change the pod the policy sees, as a function of the containers.
    const excluding = (a.scope.excludedContainers?.length ?? 0) > 0 || a.excludedImages.length > 0;
    const containers = a.policy.policy.target === 'pod' && (r.containers || excluding);
    const signature = `${slots.join(',')}${containers ? ';c' : ''}`;
    let set = readSets.get(signature);
    if (set === undefined) {
      set = readSets.size;
      readSets.set(signature, set);
    }
    return { set, slots, containers };
  });
  // The lists `lookups` bind are the object lookup's own long-lived arrays (a cluster cache's last
  // list): each is converted once, in a scope of its own, and kept as long as the list is.
  const lookupLists = new WeakMap<readonly Json[], CelInput>();
  const lookupList = (list: readonly Json[]): CelInput => {
    if (list.length === 0) return toCelInput(list);
    let value = lookupLists.get(list);
    if (value === undefined) {
      value = toCelInput(list);
      lookupLists.set(list, value);
    }
    return value;
  };
  /** Per read set: lookups and hits in the current window, and whether it is cold. */
  const setStats = Array.from({ length: readSets.size }, () => ({ lookups: 0, hits: 0, cold: false }));
  let requests = 0;

  /** Counts a memo lookup of a read set; a window without a hit makes it cold, a hit warm. */
  function looked(set: number, hit: boolean): void {
    const s = setStats[set];
    if (s === undefined) return;
    s.lookups += 1;
    if (hit) {
      s.hits += 1;
      s.cold = false;
    }
    if (s.lookups >= MEMO_WINDOW) {
      s.cold = s.hits === 0;
      s.lookups = 0;
      s.hits = 0;
    }
  }

  /** The memo key of an assignment for this request (undefined: not memoized), built once per read set. */
  function keyOf(ai: number, kind: string, reads: RequestReads, target: PodTarget | undefined, keys: Array<string | null | undefined>): string | undefined {
    const rs = readSetOf[ai];
    if (rs === undefined) return undefined;
    if (setStats[rs.set]?.cold && requests % MEMO_PROBE_EVERY !== 0) return undefined;
    const known = keys[rs.set];
    if (known !== undefined) return known ?? undefined;
    // Every read's value is met even when an earlier one has no number (met for the first time):
    // so the values of one pod are all known by the next, which is then memoized.
    let key: string | undefined = kind;
    for (const slot of rs.slots) {
      const n = reads.idOf(slot);
      key = n < 0 || key === undefined ? undefined : `${key},${n}`;
    }
    if (rs.containers && target) {
      const n = reads.containersId(target.pod);
      key = n < 0 || key === undefined ? undefined : `${key};${n}`;
    }
    keys[rs.set] = key ?? null;
    return key;
  }

  return {
    assignments,
    evaluate(input) {
      requests += 1;
      const violations: Violation[] = [];
      const errors: EvaluationError[] = [];
      const applicable: string[] = [];
      const subject = input.object ?? input.oldObject;
      // One bindings object per request, made when the first assignment is evaluated (a request the
      // memo answers whole needs none), its per-policy entries overwritten as policies are visited
      // (evaluation is synchronous, so nothing else sees it in between).
      let shared: Record<string, CelInput> | undefined;
      /** This request's JSON → CEL conversions, dropped with it (see CelInputs). */
      let cel: CelInputs | undefined;
      let target: PodTarget | undefined | null = null;
      let allContainers: ContainerRef[] | undefined;
      let reads: RequestReads | undefined;
      /** Keys by read set for this request: null when not memoized, undefined when not built yet. */
      const keys: Array<string | null | undefined> = [];
      const roots: ReadRoots = { object: input.object, oldObject: input.oldObject, request: input.request, namespaceObject: input.namespaceObject, pod: null };
      let containerResults: Map<Json, Array<CheckResult | undefined>> | undefined;
      const cachedResults = (container: Json): Array<CheckResult | undefined> => {
        containerResults ??= new Map();
        let results = containerResults.get(container);
        if (results === undefined) {
          results = resultsFor(JSON.stringify(container));
          containerResults.set(container, results);
        }
        return results;
      };

      /** Evaluates one assignment whose match block selected the object, pushing its violations and errors. */
      const run = (ai: number, a: BoundAssignment): void => {
        cel ??= new CelInputs();
        shared ??= {
          object: cel.toCel(input.object),
          oldObject: cel.toCel(input.oldObject),
          request: cel.toCel(input.request),
          namespaceObject: cel.toCel(input.namespaceObject),
        };
        const bindings = shared;
        const cp = a.policy;
        const policy = cp.policy;
        let containers: ContainerRef[] = [];
        const podTarget = target ?? undefined;
        bindings.params = a.params;
        bindings.pod = null;
        bindings.podPath = '';
        bindings.variables = null;
        bindings.container = null;
        bindings.lookups = null;
        if (policy.lookups.length > 0) {
          const found: Record<string, CelInput> = {};
          for (const l of policy.lookups) found[l.name] = lookupList(objects.list(l.kind, input.namespace));
          bindings.lookups = found;
        }
        if (policy.target === 'pod' && podTarget) {
          const excluding = (a.scope.excludedContainers?.length ?? 0) > 0 || a.excludedImages.length > 0;
          const split = excluding ? containersOf(podTarget.pod, a) : undefined;
          allContainers ??= containersOf(podTarget.pod, undefined).refs;
          containers = split ? split.refs : allContainers;
          bindings.pod = cel.toCel(split?.excluded ? withoutExcluded(podTarget.pod, a) : podTarget.pod);
          bindings.podPath = podTarget.prefix;
        }
        if (cp.variables.length > 0) {
          const vars: Record<string, CelInput> = {};
          bindings.variables = vars;
          for (const v of cp.variables) {
            const r = v.program(bindings);
            if (!r.ok) {
              errors.push({ policyId: policy.id, assignment: a.name, effect: a.effect, failurePolicy: policy.failurePolicy, error: `variable ${v.name}: ${r.error}` });
              return;
            }
            vars[v.name] = r.value;
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
              ref.cel ??= cel.toCel(ref.container);
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
                const field = joinField(`${podTarget?.prefix ?? ''}${ref.path}.`, v.validation.field);
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
            const field = v.validation.field === undefined ? undefined : joinField(v.scope === 'pod' ? (podTarget?.prefix ?? '') : '', v.validation.field);
            violations.push(violationOf(a, messageOf(v, bindings, policy), field));
          }
        }
      };

      for (let ai = 0; ai < assignments.length; ai++) {
        const a = assignments[ai];
        if (a === undefined) continue;
        const cp = a.policy;
        if (!cp.operations.has(input.operation)) continue;
        if (!kindMatches(cp.kinds, input.group, input.kind)) continue;
        if (!scopeMatches(a, input, subject)) continue;
        if (cp.policy.target === 'pod') {
          if (target === null) {
            target = podTargetOf(input.kind, subject);
            roots.pod = target?.pod ?? null;
          }
          if (target === undefined) continue;
        }
        applicable.push(a.name);
        let key: string | undefined;
        try {
          reads ??= new RequestReads(memo, roots, readList);
          key = keyOf(ai, input.kind, reads, cp.policy.target === 'pod' ? (target ?? undefined) : undefined, keys);
        } catch {
          // A value JSON cannot write (not from a JSON document): evaluate without the memo.
          key = undefined;
        }
        const known = key === undefined ? undefined : memo.get(ai, key);
        const set = readSetOf[ai]?.set ?? -1;
        if (key !== undefined) looked(set, known !== undefined);
        // Built but without a key (a value met for the first time, or too large): a miss too, so a
        // stream of all-new pods still goes cold and stops serializing what it never finds.
        else if (keys[set] === null) looked(set, false);
        if (known !== undefined) {
          for (const v of known.violations) violations.push({ ...v });
          for (const e of known.errors) errors.push({ ...e });
          continue;
        }
        const vStart = violations.length;
        const eStart = errors.length;
        run(ai, a);
        if (key !== undefined) memo.set(ai, key, { violations: violations.slice(vStart).map((v) => ({ ...v })), errors: errors.slice(eStart).map((e) => ({ ...e })) });
      }
      return { violations, errors, applicable };
    },
  };
}

function violationOf(a: BoundAssignment, message: string, field: string | undefined): Violation {
  const policy = a.policy.policy;
  return { policyId: policy.id, title: policy.title, severity: policy.severity, assignment: a.name, effect: a.effect, message, ...(field ? { field } : {}) };
}

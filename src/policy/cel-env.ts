import { celFunc, celList, celMap, CelScalar, isCelList, isCelMap, isCelUint, listType, parse, plan, isCelError, type CelEnv, type CelInput, type CelValue } from '@bufbuild/cel';
import { AppError, errorMessage } from '../core/index.js';
import type { PodLike } from '../kube/model.js';
import { evaluatePodSecurity, PSS_LEVELS, type PssLevel } from '../kube/pss/evaluate.js';
import { createCelEnv } from '../rules/index.js';
import { KUBERNETES_CEL_FUNCTIONS } from './k8s-cel.js';
import { pssPodOf } from './pss-pod.js';

/**
 * The CEL environment of admission policies: the shared rule environment (standard library, the
 * `strings` extension, Palisade's helpers) plus the Kubernetes libraries (k8s-cel.ts) and
 * `podSecurity(pod, level, version)`, which runs the Pod Security Standards evaluator of src/kube
 * and returns its violations as `[{check, message, paths}]`.
 */

/**
 * JSON → CEL values: objects become CEL maps and arrays CEL lists, so field accesses during
 * evaluation are map lookups (a plain object would be re-wrapped on every access). A `CelInputs` is
 * one scope of conversions — the engine makes one per request — that remembers each source object's
 * value, so the pod and containers of an object converted once cost nothing more, and is dropped
 * with the request.
 *
 * The scope is deliberately not a module-level WeakMap keyed by the request's objects: with one,
 * V8's young-generation GCs kept alive what the entries of that long-lived table reached (the
 * request's JSON, its CEL maps), so it was promoted to die in the old generation, ≈ 3 KB per
 * request (engine-gc.test.ts), and the webhook stopped for a mark-compact every few seconds under
 * load (bench/README.md, "Admission webhook").
 */
export class CelInputs {
  private readonly converted = new Map<object, CelInput>();

  /** The CEL value of a JSON value (the same value for the same source object within this scope). */
  toCel(value: unknown): CelInput {
    if (value === null || value === undefined) return null;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return value;
    if (typeof value !== 'object') return null;
    const known = this.converted.get(value);
    if (known !== undefined) return known;
    let out: CelInput;
    if (Array.isArray(value)) {
      out = celList(value.map((item) => this.toCel(item)));
    } else {
      const lazy = new LazyJsonMap(isRecord(value) ? value : {}, this);
      out = celMap(lazy);
      // The way back from the CEL map to its JSON (podSecurity reads the pod without converting it back).
      Object.defineProperty(out, LAZY_SOURCE, { value: lazy });
    }
    this.converted.set(value, out);
    return out;
  }
}

/** The property of a CEL map made by CelInputs that holds its LazyJsonMap. */
const LAZY_SOURCE = Symbol('palisade.lazyJsonMap');

/**
 * A JSON object seen by CEL as a map whose values are converted on first access and then kept, so
 * a policy that reads `spec.containers[0].securityContext` never pays for `env` or `volumes`.
 */
class LazyJsonMap implements ReadonlyMap<string, CelInput> {
  private readonly cache = new Map<string, CelInput>();
  /** The pod as the Pod Security evaluator takes it, once podSecurity() has read this object. */
  pssPod: PodLike | undefined;
  constructor(
    readonly source: Record<string, unknown>,
    private readonly inputs: CelInputs,
  ) {}
  get size(): number {
    return Object.keys(this.source).length;
  }
  has(key: string): boolean {
    return Object.hasOwn(this.source, key) && this.source[key] !== undefined;
  }
  get(key: string): CelInput | undefined {
    if (typeof key !== 'string' || !Object.hasOwn(this.source, key)) return undefined;
    const raw = this.source[key];
    // Scalars are their own CEL values: only objects and arrays are converted and kept.
    if (typeof raw !== 'object') return raw === undefined ? undefined : this.inputs.toCel(raw);
    let value = this.cache.get(key);
    if (value === undefined) {
      value = this.inputs.toCel(raw);
      this.cache.set(key, value);
    }
    return value;
  }
  *entries(): MapIterator<[string, CelInput]> {
    for (const key of Object.keys(this.source)) {
      const value = this.get(key);
      if (value !== undefined) yield [key, value];
    }
  }
  *keys(): MapIterator<string> {
    for (const [key] of this.entries()) yield key;
  }
  *values(): MapIterator<CelInput> {
    for (const [, value] of this.entries()) yield value;
  }
  forEach(fn: (value: CelInput, key: string, map: ReadonlyMap<string, CelInput>) => void): void {
    for (const [key, value] of this.entries()) fn(value, key, this);
  }
  [Symbol.iterator](): MapIterator<[string, CelInput]> {
    return this.entries();
  }
}

/** The LazyJsonMap behind a CEL map made by CelInputs (undefined for any other value). */
function lazyMapOf(value: unknown): LazyJsonMap | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const lazy: unknown = Reflect.get(value, LAZY_SOURCE);
  return lazy instanceof LazyJsonMap ? lazy : undefined;
}

/** A JSON value converted in a scope of its own (parameters, tests: values that live long or stand alone). */
export function toCelInput(value: unknown): CelInput {
  return new CelInputs().toCel(value);
}

function isRecord(value: object): value is Record<string, unknown> {
  return !Array.isArray(value);
}

/** Converts a CEL runtime value back to plain JSON-like JavaScript. */
export function celToJs(value: CelValue | undefined): unknown {
  if (value === undefined || value === null) return null;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  if (isCelUint(value)) return Number(value.value);
  if (isCelList(value)) {
    const out: unknown[] = [];
    for (const item of value) out.push(celToJs(item));
    return out;
  }
  if (isCelMap(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of value) out[String(k)] = celToJs(v);
    return out;
  }
  return null;
}

function isPssLevel(value: string): value is PssLevel {
  return (PSS_LEVELS as readonly string[]).includes(value);
}

/**
 * The typed pod for the PSS evaluator: from the source JSON when the value was built by CelInputs,
 * reduced to the fields the evaluation depends on (pss-pod.ts), once per pod value.
 */
function podOf(value: CelValue): PodLike {
  const lazy = lazyMapOf(value);
  if (lazy?.pssPod) return lazy.pssPod;
  const parsed = pssPodOf(lazy ? lazy.source : celToJs(value));
  if (!parsed.ok) throw new Error(`podSecurity: the pod does not have the shape of a pod (${parsed.error})`);
  if (lazy) lazy.pssPod = parsed.pod;
  return parsed.pod;
}

const podSecurityFunction = celFunc('podSecurity', [CelScalar.DYN, CelScalar.STRING, CelScalar.STRING], listType(CelScalar.DYN), (pod, level, version) => {
  if (!isPssLevel(level)) throw new Error(`podSecurity level '${level}' is not one of ${PSS_LEVELS.join(', ')}`);
  return evaluatePodSecurity(podOf(pod), level, version).map((v) =>
    celMap(new Map<string, CelInput>([
      ['check', v.check],
      ['level', v.level],
      ['message', v.message],
      ['paths', v.paths],
    ])),
  );
});

let shared: CelEnv | undefined;

export function policyCelEnv(): CelEnv {
  shared ??= createCelEnv([...KUBERNETES_CEL_FUNCTIONS, podSecurityFunction]);
  return shared;
}

export type ValueProgram = (bindings: Record<string, CelInput>) => { ok: true; value: CelValue } | { ok: false; error: string };
export type CheckProgram = (bindings: Record<string, CelInput>) => { ok: true; value: boolean } | { ok: false; error: string };

/** The variables every policy expression is evaluated with (engine.ts binds all of them, null when absent). */
export const POLICY_VARIABLES: readonly string[] = ['object', 'oldObject', 'request', 'params', 'namespaceObject', 'pod', 'podPath', 'variables', 'container', 'lookups'];

type ParsedCel = ReturnType<typeof parse>;
type CelExpr = NonNullable<ParsedCel['expr']>;

function visitExprs(expr: CelExpr | undefined, fn: (e: CelExpr) => void): void {
  if (expr === undefined) return;
  fn(expr);
  const k = expr.exprKind;
  switch (k.case) {
    case 'selectExpr':
      visitExprs(k.value.operand, fn);
      break;
    case 'callExpr':
      visitExprs(k.value.target, fn);
      for (const a of k.value.args) visitExprs(a, fn);
      break;
    case 'listExpr':
      for (const e of k.value.elements) visitExprs(e, fn);
      break;
    case 'structExpr':
      for (const e of k.value.entries) {
        if (e.keyKind.case === 'mapKey') visitExprs(e.keyKind.value, fn);
        visitExprs(e.value, fn);
      }
      break;
    case 'comprehensionExpr':
      for (const e of [k.value.iterRange, k.value.accuInit, k.value.loopCondition, k.value.loopStep, k.value.result]) visitExprs(e, fn);
      break;
    default:
      break;
  }
}

/**
 * Parses an expression and rewrites `v.field` and `v[key]`, where `v` is a policy variable or a
 * comprehension variable, into `dyn(v).field` / `dyn(v)[key]`. `dyn` is the identity, so the value
 * and every error are the same; what changes is the planner's work: an unchecked `a.b.c` first
 * looks for variables or types named `a.b.c` and `a.b` on every evaluation (none exist here), which
 * costs about as much as the rest of a simple check. Evaluating `dyn(a)` skips those lookups.
 */
export function parsePolicyExpression(expr: string): ParsedCel {
  const parsed = parse(expr);
  const names = new Set(POLICY_VARIABLES);
  let maxId = 0n;
  visitExprs(parsed.expr, (e) => {
    if (e.id > maxId) maxId = e.id;
    if (e.exprKind.case === 'comprehensionExpr') {
      const c = e.exprKind.value;
      for (const n of [c.iterVar, c.iterVar2, c.accuVar]) if (n !== '') names.add(n);
    }
  });
  const wrap = (e: CelExpr | undefined): void => {
    if (e === undefined || e.exprKind.case !== 'identExpr' || !names.has(e.exprKind.value.name)) return;
    maxId += 1n;
    const ident: CelExpr = { $typeName: 'cel.expr.Expr', id: maxId, exprKind: e.exprKind };
    e.exprKind = { case: 'callExpr', value: { $typeName: 'cel.expr.Expr.Call', function: 'dyn', args: [ident] } };
  };
  visitExprs(parsed.expr, (e) => {
    const k = e.exprKind;
    if (k.case === 'selectExpr') wrap(k.value.operand);
    else if (k.case === 'callExpr' && k.value.target === undefined && (k.value.function === '_[_]' || k.value.function === '_[?_]')) wrap(k.value.args[0]);
  });
  return parsed;
}

/** The policy variables an expression reads (comprehension variables and unknown names left out). */
export function policyVariablesOf(expr: string): Set<string> {
  const known = new Set(POLICY_VARIABLES);
  const used = new Set<string>();
  visitExprs(parse(expr).expr, (e) => {
    if (e.exprKind.case === 'identExpr' && known.has(e.exprKind.value.name)) used.add(e.exprKind.value.name);
  });
  return used;
}

function planPolicyExpression(env: CelEnv, expr: string, where: string, what: string): ReturnType<typeof plan> {
  try {
    return plan(env, parsePolicyExpression(expr));
  } catch (error) {
    throw new AppError('BAD_INPUT', `${where}: the CEL ${what} does not parse (${errorMessage(error)}): fix the expression`);
  }
}

/** Parses and plans an expression that may return any value (messages, variables). */
export function compileValue(env: CelEnv, expr: string, where: string): ValueProgram {
  const program = planPolicyExpression(env, expr, where, 'expression');
  return (bindings) => {
    try {
      const result = program(bindings);
      if (isCelError(result)) return { ok: false, error: result.message };
      return { ok: true, value: result };
    } catch (error) {
      return { ok: false, error: errorMessage(error) };
    }
  };
}

/** Parses and plans a validation, which must return a bool (same contract as the rules' compileCondition). */
export function compileCheck(env: CelEnv, expr: string, where: string): CheckProgram {
  const program = planPolicyExpression(env, expr, where, 'condition');
  return (bindings) => {
    let result: ReturnType<typeof program>;
    try {
      result = program(bindings);
    } catch (error) {
      return { ok: false, error: errorMessage(error) };
    }
    if (isCelError(result)) return { ok: false, error: result.message };
    if (typeof result !== 'boolean') return { ok: false, error: `condition returned a ${typeof result}, not a bool` };
    return { ok: true, value: result };
  };
}

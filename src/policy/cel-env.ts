import { celFunc, celList, celMap, CelScalar, isCelList, isCelMap, isCelUint, listType, parse, plan, isCelError, type CelEnv, type CelInput, type CelValue } from '@bufbuild/cel';
import { AppError, errorMessage } from '../core/index.js';
import { PodTemplateSchema, type PodLike } from '../kube/model.js';
import { evaluatePodSecurity, PSS_LEVELS, type PssLevel } from '../kube/pss/evaluate.js';
import { createCelEnv } from '../rules/index.js';
import { KUBERNETES_CEL_FUNCTIONS } from './k8s-cel.js';

/**
 * The CEL environment of admission policies: the shared rule environment (standard library, the
 * `strings` extension, Palisade's helpers) plus the Kubernetes libraries (k8s-cel.ts) and
 * `podSecurity(pod, level, version)`, which runs the Pod Security Standards evaluator of src/kube
 * and returns its violations as `[{check, message, paths}]`.
 */

/**
 * JSON → CEL values, built once per request: objects become CEL maps and arrays CEL lists, so field
 * accesses during evaluation are map lookups (a plain object would be re-wrapped on every access).
 * Conversions are remembered per source object, so the pod and containers of an object converted
 * once cost nothing more.
 */
const converted = new WeakMap<object, CelInput>();
/** The other way: the JSON object a CEL map was built from (so code functions skip a conversion). */
const sources = new WeakMap<object, object>();

/**
 * A JSON object seen by CEL as a map whose values are converted on first access and then kept, so
 * a policy that reads `spec.containers[0].securityContext` never pays for `env` or `volumes`.
 */
class LazyJsonMap implements ReadonlyMap<string, CelInput> {
  private readonly cache = new Map<string, CelInput>();
  constructor(private readonly source: Record<string, unknown>) {}
  get size(): number {
    return Object.keys(this.source).length;
  }
  has(key: string): boolean {
    return Object.hasOwn(this.source, key) && this.source[key] !== undefined;
  }
  get(key: string): CelInput | undefined {
    if (typeof key !== 'string' || !this.has(key)) return undefined;
    let value = this.cache.get(key);
    if (value === undefined) {
      value = toCelInput(this.source[key]);
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

export function toCelInput(value: unknown): CelInput {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return value;
  if (typeof value !== 'object') return null;
  const known = converted.get(value);
  if (known !== undefined) return known;
  let out: CelInput;
  if (Array.isArray(value)) out = celList(value.map(toCelInput));
  else out = celMap(new LazyJsonMap(isRecord(value) ? value : {}));
  converted.set(value, out);
  sources.set(out, value);
  return out;
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

const parsedPods = new WeakMap<object, PodLike>();

/** The typed pod for the PSS evaluator: from the source JSON when the value was built by toCelInput. */
function podOf(value: CelValue): PodLike {
  const source = typeof value === 'object' && value !== null ? sources.get(value) : undefined;
  const known = source ? parsedPods.get(source) : undefined;
  if (known) return known;
  const parsed = PodTemplateSchema.safeParse(source ?? celToJs(value));
  if (!parsed.success) throw new Error(`podSecurity: the pod does not have the shape of a pod (${parsed.error.issues[0]?.message ?? ''})`);
  if (source) parsedPods.set(source, parsed.data);
  return parsed.data;
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

/** Parses and plans an expression that may return any value (messages, variables). */
export function compileValue(env: CelEnv, expr: string, where: string): ValueProgram {
  let program: ReturnType<typeof plan>;
  try {
    program = plan(env, parse(expr));
  } catch (error) {
    throw new AppError('BAD_INPUT', `${where}: the CEL expression does not parse (${errorMessage(error)}): fix the expression`);
  }
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

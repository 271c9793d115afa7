import { parse } from '@bufbuild/cel';
import { POLICY_VARIABLES } from './cel-env.js';
import { PSS_POD_FIELDS, type FieldRead, type ReadMode } from './pss-pod.js';

/**
 * What a policy expression reads of its input, found from its CEL syntax tree: each maximal chain
 * of field selections and constant-key indexes starting at a policy variable (`pod.spec.hostPID`,
 * `has(container.securityContext)`, `object.metadata.annotations["a"]`) is one read of that
 * variable at that path; the value there, whole, may decide the result. A variable used any other
 * way (passed to a function, compared whole, indexed by a computed key) is read at the depth where
 * the chain stops, down to the whole variable. Code functions that look at only some fields of an
 * argument say which (FUNCTION_READS). The engine keys its result memo on these reads, so the
 * analysis only ever errs towards reading more.
 */

export interface ValueRead {
  /** A policy variable: object, oldObject, request, namespaceObject, pod, container, lookups … */
  root: string;
  path: readonly string[];
  /** `value`: the value decides; `shape`: its structure and scalar types; `type`: only its type (`has()`). */
  mode: ReadMode;
}

/** Code functions of the policy CEL environment that read only some fields of one argument. */
const FUNCTION_READS: Record<string, { arg: number; fields: readonly FieldRead[] }> = {
  podSecurity: { arg: 0, fields: PSS_POD_FIELDS },
};

type CelExpr = NonNullable<ReturnType<typeof parse>['expr']>;

const VARIABLES = new Set(POLICY_VARIABLES);

function chainOf(e: CelExpr | undefined): { root: string; path: string[] } | undefined {
  if (e === undefined) return undefined;
  const k = e.exprKind;
  if (k.case === 'identExpr') return VARIABLES.has(k.value.name) ? { root: k.value.name, path: [] } : undefined;
  if (k.case === 'selectExpr' && !k.value.testOnly) {
    const inner = chainOf(k.value.operand);
    return inner && { root: inner.root, path: [...inner.path, k.value.field] };
  }
  if (k.case === 'callExpr' && k.value.target === undefined && k.value.function === '_[_]' && k.value.args.length === 2) {
    const index = k.value.args[1]?.exprKind;
    if (index?.case !== 'constExpr' || index.value.constantKind.case !== 'stringValue') return undefined;
    const inner = chainOf(k.value.args[0]);
    return inner && { root: inner.root, path: [...inner.path, index.value.constantKind.value] };
  }
  return undefined;
}

function collect(e: CelExpr | undefined, out: ValueRead[]): void {
  if (e === undefined) return;
  if (e.exprKind.case === 'selectExpr' && e.exprKind.value.testOnly) {
    // has(x.f): whether f is there (and x a map), not what it holds.
    const inner = chainOf(e.exprKind.value.operand);
    if (inner) {
      out.push({ root: inner.root, path: [...inner.path, e.exprKind.value.field], mode: 'type' });
      return;
    }
  }
  const chain = chainOf(e);
  if (chain) {
    // Visited from the top, so the first chain met is the longest: its parent did not extend it.
    out.push({ ...chain, mode: 'value' });
    return;
  }
  const k = e.exprKind;
  switch (k.case) {
    case 'selectExpr':
      collect(k.value.operand, out);
      break;
    case 'callExpr': {
      const narrowed = k.value.target === undefined ? FUNCTION_READS[k.value.function] : undefined;
      const argChain = narrowed ? chainOf(k.value.args[narrowed.arg]) : undefined;
      collect(k.value.target, out);
      k.value.args.forEach((arg, i) => {
        if (narrowed && argChain && i === narrowed.arg) {
          for (const f of narrowed.fields) out.push({ root: argChain.root, path: [...argChain.path, ...f.path], mode: f.mode });
        } else {
          collect(arg, out);
        }
      });
      break;
    }
    case 'listExpr':
      for (const item of k.value.elements) collect(item, out);
      break;
    case 'structExpr':
      for (const entry of k.value.entries) {
        if (entry.keyKind.case === 'mapKey') collect(entry.keyKind.value, out);
        collect(entry.value, out);
      }
      break;
    case 'comprehensionExpr':
      for (const part of [k.value.iterRange, k.value.accuInit, k.value.loopCondition, k.value.loopStep, k.value.result]) collect(part, out);
      break;
    default:
      break;
  }
}

function isPrefix(prefix: readonly string[], path: readonly string[]): boolean {
  if (prefix.length > path.length) return false;
  for (let i = 0; i < prefix.length; i++) if (prefix[i] !== path[i]) return false;
  return true;
}

const STRENGTH: Record<ReadMode, number> = { value: 0, shape: 1, type: 2 };

/** Whether read `k` tells everything read `r` needs. */
function covers(k: ValueRead, r: ValueRead): boolean {
  if (k.root !== r.root || !isPrefix(k.path, r.path)) return false;
  if (k.mode === 'value') return true;
  // A shape holds the types of everything under it; a type only its own.
  if (k.mode === 'shape') return r.mode !== 'value';
  return r.mode === 'type' && k.path.length === r.path.length;
}

/** Drops reads that another covers: anything under a value read, types under a shape, a repeated read. */
export function normalizeReads(reads: readonly ValueRead[]): ValueRead[] {
  const sorted = [...reads].sort((a, b) => a.path.length - b.path.length || STRENGTH[a.mode] - STRENGTH[b.mode]);
  const kept: ValueRead[] = [];
  for (const r of sorted) {
    if (!kept.some((k) => covers(k, r))) kept.push(r);
  }
  return kept.sort((a, b) => (a.root + a.path.join('.')).localeCompare(b.root + b.path.join('.')) || a.mode.localeCompare(b.mode));
}

/** The reads of one expression, normalized. Throws as `parse` does on a syntax error (compile first). */
export function expressionReads(expr: string): ValueRead[] {
  const out: ValueRead[] = [];
  collect(parse(expr).expr, out);
  return normalizeReads(out);
}

import { celFunc, CelScalar, isCelError, isCelList, isCelMap, isCelUint, parse, plan, type CelInput } from '@bufbuild/cel';
import { AppError, errorMessage, isSeverity, severityRank } from '../core/index.js';
import { createCelEnv } from '../rules/cel.js';
import { celGraph, celListItems, type CelGraph } from './celview.js';
import type { KubeGraph } from './graph.js';

/**
 * The security explorer: CEL (the language of Kubernetes ValidatingAdmissionPolicy) over the typed
 * node kinds of the graph. Every node list is a variable (`pods`, `containers`, `images`,
 * `services`, `ingresses`, `serviceAccounts`, `bindings`, `roles`, `namespaces`, `workloads`,
 * `nodes`, `clusters`); traversal follows fields (`p.containers`, `p.images`, `i.findings`,
 * `p.serviceAccount`, `sa.pods`, `svc.pods`). Extra functions: `atLeast(severity, "high")`, the
 * strings extension, `inCidrs`. A query returns any CEL value, usually a filtered list.
 * Errors (syntax, unknown field or variable, type) point at the position in the query.
 */

export const QUERY_VARIABLES = ['clusters', 'namespaces', 'nodes', 'workloads', 'pods', 'containers', 'images', 'services', 'ingresses', 'serviceAccounts', 'bindings', 'roles'] as const;

const QUERY_FUNCTIONS = [
  celFunc('atLeast', [CelScalar.STRING, CelScalar.STRING], CelScalar.BOOL, (severity, floor) => {
    if (!isSeverity(severity) || !isSeverity(floor)) return false;
    return severityRank(severity) >= severityRank(floor);
  }),
];

export type QueryValue = null | boolean | number | string | QueryValue[] | { [key: string]: QueryValue };

export interface QueryPosition {
  line: number;
  column: number;
  offset: number;
}

function positionAt(text: string, offset: number): QueryPosition {
  const before = text.slice(0, Math.max(0, Math.min(offset, text.length)));
  const lines = before.split('\n');
  return { line: lines.length, column: (lines[lines.length - 1]?.length ?? 0) + 1, offset };
}

function caret(text: string, pos: QueryPosition): string {
  const line = text.split('\n')[pos.line - 1] ?? '';
  return `  ${line}\n  ${' '.repeat(Math.max(0, pos.column - 1))}^`;
}

export function queryError(text: string, offset: number, message: string): AppError {
  const pos = positionAt(text, offset);
  return new AppError('BAD_INPUT', `query error at ${pos.line}:${pos.column}: ${message}\n${caret(text, pos)}`, { details: { offset, line: pos.line, column: pos.column } });
}

/** Lexical checks with precise positions: unterminated strings, unbalanced brackets, stray characters. */
function lexicalCheck(text: string): void {
  const stack: { ch: string; at: number }[] = [];
  const pairs: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  let i = 0;
  while (i < text.length) {
    const ch = text.charAt(i);
    if (ch === '"' || ch === "'") {
      const triple = text.startsWith(ch.repeat(3), i);
      const quote = triple ? ch.repeat(3) : ch;
      let j = i + quote.length;
      let closed = false;
      while (j < text.length) {
        if (text.startsWith(quote, j)) {
          closed = true;
          break;
        }
        if (!triple && text.charAt(j) === '\n') break;
        j += text.charAt(j) === '\\' ? 2 : 1;
      }
      if (!closed) throw queryError(text, i, 'this string is never closed');
      i = j + quote.length;
      continue;
    }
    if (ch === '(' || ch === '[' || ch === '{') stack.push({ ch, at: i });
    else if (ch === ')' || ch === ']' || ch === '}') {
      const open = stack.pop();
      if (open === undefined || open.ch !== pairs[ch]) throw queryError(text, i, `unexpected "${ch}"${open ? ` (the "${open.ch}" at column ${positionAt(text, open.at).column} is not closed)` : ''}`);
    } else if (/[#$@`;\\]/.test(ch)) {
      throw queryError(text, i, `unexpected character "${ch}"`);
    } else if ((ch === '&' || ch === '|') && text.charAt(i + 1) === ch && text.charAt(i + 2) === ch) {
      throw queryError(text, i + 2, `"${ch.repeat(3)}" is not an operator (use "${ch.repeat(2)}")`);
    } else if ((ch === '&' || ch === '|') && text.charAt(i + 1) !== ch && text.charAt(i - 1) !== ch) {
      throw queryError(text, i, `"${ch}" is not an operator (use "${ch.repeat(2)}")`);
    }
    i += 1;
  }
  const open = stack.pop();
  if (open !== undefined) throw queryError(text, open.at, `this "${open.ch}" is never closed`);
  const stripped = text.replace(/"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'/g, (m) => 'x'.repeat(m.length));
  const dangling = /(&&|\|\||==|!=|<=|>=|[+\-*/%<>,!?:])\s*(?=[)\]}]|$)/.exec(stripped);
  if (dangling !== null) throw queryError(text, dangling.index, `"${dangling[1] ?? ''}" is missing what comes after it`);
}

/** Offset of `.name` (a field access) in the query, outside string literals; -1 when absent. */
function findField(text: string, name: string): number {
  const re = new RegExp(`\\.\\s*${name.replace(/[^A-Za-z0-9_]/g, '')}\\b`, 'g');
  for (const m of text.matchAll(re)) {
    const before = text.slice(0, m.index);
    const quotes = (before.match(/(?<!\\)"/g) ?? []).length;
    if (quotes % 2 === 0) return m.index + 1;
  }
  return -1;
}

export interface CompiledQuery {
  text: string;
  run(graph: KubeGraph): QueryValue;
}

/** Empty lists are the most common field value of a node (no findings, no host ports): one serves all. */
const EMPTY_LIST: QueryValue = [];
Object.freeze(EMPTY_LIST);

function isRecord(value: object): value is Readonly<Record<string, unknown>> {
  return !Array.isArray(value);
}

/** The fields of a copy whose every value went through `copy` or is a string, number or boolean. */
function plainFields(fields: Record<string, unknown>): Record<string, QueryValue> {
  return fields as Record<string, QueryValue>;
}

/**
 * A query's result as plain data. A CEL value that wraps a graph object (a node, or a list or
 * object inside one) becomes a plain copy of that object, the data that reading the CEL value
 * field by field would give (undefined fields read as null) without converting each field to
 * CEL first. The copies are frozen and made once per graph (`CelGraph.copies`): the next query
 * that returns the same containers reuses them, and an image that 2,500 containers run is one
 * object in the result.
 */
function createResultConverter(cel: CelGraph): (value: unknown) => QueryValue {
  const scalar = (value: unknown): QueryValue => {
    if (value === null || value === undefined) return null;
    if (typeof value === 'bigint') return Number(value);
    if (typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean') return value;
    return String(value);
  };
  // Graph data is a tree of bounded depth (views never point back up), so it needs no depth limit.
  const copy = (value: unknown): QueryValue => {
    if (typeof value !== 'object' || value === null) return scalar(value);
    const done = cel.copies.get(value);
    if (done !== undefined) return done;
    let out: QueryValue;
    if (Array.isArray(value)) {
      if (value.length === 0) return EMPTY_LIST;
      const items = value.map(copy);
      Object.freeze(items);
      out = items;
    } else if (value instanceof Uint8Array) {
      out = Buffer.from(value).toString('base64');
    } else if (isRecord(value)) {
      // A spread clones the object's layout in one step; then only fields that are not plain
      // scalars (nested objects, lists, undefined) are replaced.
      const fields: Record<string, unknown> = { ...value };
      for (const key of Object.keys(fields)) {
        const field = fields[key];
        if (typeof field !== 'string' && typeof field !== 'number' && typeof field !== 'boolean') fields[key] = copy(field);
      }
      Object.freeze(fields);
      out = plainFields(fields);
    } else {
      out = String(value);
    }
    cel.copies.set(value, out);
    return out;
  };
  const convert = (value: unknown, depth: number): QueryValue => {
    if (depth > 64) return null;
    if (typeof value !== 'object' || value === null) return scalar(value);
    const source = cel.sourceOf(value);
    if (source !== undefined) return copy(source);
    if (isCelUint(value)) return Number(value.value);
    if (isCelList(value)) return celListItems(value).map((v) => convert(v, depth + 1));
    if (isCelMap(value)) {
      const out: Record<string, QueryValue> = {};
      for (const [k, v] of value) out[String(k)] = convert(v, depth + 1);
      return out;
    }
    if (Array.isArray(value)) return value.map((v) => convert(v, depth + 1));
    if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
    const out: Record<string, QueryValue> = {};
    for (const [k, v] of Object.entries(value)) out[k] = convert(v, depth + 1);
    return out;
  };
  return (value) => convert(value, 0);
}

let queryEnv: ReturnType<typeof createCelEnv> | undefined;

export function compileQuery(text: string): CompiledQuery {
  if (text.trim() === '') throw new AppError('BAD_INPUT', 'the query is empty: try pods.filter(p, p.privileged)');
  if (text.length > 16_384) throw new AppError('BAD_INPUT', 'the query is longer than 16384 characters');
  lexicalCheck(text);
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(text);
  } catch (error) {
    const location: unknown = error instanceof Error && 'location' in error ? error.location : undefined;
    const offset = typeof location === 'object' && location !== null && 'start' in location && typeof location.start === 'object' && location.start !== null && 'offset' in location.start && typeof location.start.offset === 'number' ? location.start.offset : 0;
    const raw = error instanceof Error && 'rawMessage' in error && typeof error.rawMessage === 'string' ? error.rawMessage : errorMessage(error);
    throw queryError(text, offset, `syntax error: ${raw}`);
  }
  const positions = new Map<bigint, number>();
  for (const [id, offset] of Object.entries(parsed.sourceInfo?.positions ?? {})) positions.set(BigInt(id), offset);
  queryEnv ??= createCelEnv(QUERY_FUNCTIONS);
  const program = plan(queryEnv, parsed);
  return {
    text,
    run(graph) {
      const cel = celGraph(graph);
      const bindings: Record<string, CelInput> = cel.lists;
      let result: unknown;
      try {
        result = program(bindings);
      } catch (error) {
        if (error instanceof RangeError) {
          // @bufbuild/cel chains filter/map results one list per element and walks them recursively.
          throw new AppError(
            'TOO_LARGE',
            `the query builds a list too long for the CEL evaluator to walk (map or filter over a filtered list of several thousand nodes): filter on the node list directly (e.g. containers.filter(c, …).size() or one filter with all conditions), or narrow it by namespace`,
          );
        }
        throw queryError(text, 0, errorMessage(error));
      }
      if (isCelError(result)) {
        let offset = result.exprId !== undefined ? (positions.get(result.exprId) ?? 0) : 0;
        let message = result.message;
        const field = /^field not found: (\S+)/.exec(message);
        if (field?.[1]) {
          const at = findField(text, field[1]);
          if (at >= 0) offset = at;
          message = `no field "${field[1]}" here (see docs/explorer.md for the fields of each node kind)`;
        } else if (message === 'unresolved attribute') {
          message = `unknown name (the variables are: ${QUERY_VARIABLES.join(', ')})`;
        }
        throw queryError(text, offset, message);
      }
      try {
        return createResultConverter(cel)(result);
      } catch (error) {
        if (error instanceof RangeError) throw new AppError('TOO_LARGE', 'the query result is nested too deeply to print: select fewer fields');
        throw error;
      }
    },
  };
}

/** One line per result: node kind and id for graph nodes, JSON for anything else. */
export function renderQueryResult(value: QueryValue): string {
  const line = (v: QueryValue): string => {
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && typeof v.kind === 'string' && typeof v.id === 'string') return `${v.kind}  ${v.id}`;
    return JSON.stringify(v);
  };
  if (Array.isArray(value)) return `${value.map(line).join('\n')}${value.length > 0 ? '\n' : ''}${value.length} result${value.length === 1 ? '' : 's'}\n`;
  return `${line(value)}\n`;
}

import { celList, celMap, type CelFunc, type CelInput, type CelMap } from '@bufbuild/cel';
import { AppError } from '../core/index.js';
import { compileCondition, createCelEnv, expandMacros, type CelProgram } from './cel.js';
import type { RuleSet } from './load.js';
import { compileMatch, type MatchFields, type Predicate } from './match.js';
import type { Rule } from './schema.js';

/**
 * The shared rule engine. The caller (audit detection, admission policy, runtime sensor) supplies:
 * - `fields`: the match-block fields it understands and how to read them from its facts `F`
 *   (a small object it extracts once per event);
 * - `index`: one or two keyword fields to index rules by (audit: verbs × resources), so an event
 *   only meets the rules that name its verb and resource, plus those that leave them open;
 * - `placeholders`: the `{name}` values an output template may use;
 * - per event, a function building the CEL variables (called only when a candidate rule has a
 *   condition, so events that no rule wants cost a Map lookup and a few comparisons).
 * The list variable `lists` (every list by name) is always bound.
 */
export interface EngineSpec<F> {
  fields: MatchFields<F>;
  index: readonly string[];
  placeholders: Record<string, (facts: F) => string>;
  /** Extra CEL functions for this area, on top of the standard set (see cel.ts). */
  functions?: readonly CelFunc[];
}

export interface CompiledRule<F> {
  rule: Rule;
  /** Position in the rule set: candidates are always returned in this order. */
  order: number;
  match: Predicate<F>;
  condition: CelProgram | undefined;
  render: (facts: F) => string;
  /** From the rule's `groupBy` placeholders; undefined when the rule has none. */
  groupKey: ((facts: F) => string) | undefined;
}

export interface RuleHit<F> {
  rule: CompiledRule<F>;
  message: string;
  groupKey?: string;
}

export interface RuleStats {
  evaluated: number;
  hits: number;
  errors: number;
  lastError?: string;
}

export interface RuleEngine<F> {
  readonly rules: readonly CompiledRule<F>[];
  /** Rules whose match block accepts the facts, in rule order (no CEL run). */
  candidates(facts: F): CompiledRule<F>[];
  /** Candidates whose condition also holds. `variables` is called at most once. */
  evaluate(facts: F, variables: () => Record<string, CelInput>): RuleHit<F>[];
  stats(): Map<string, RuleStats>;
}

const TEMPLATE_PART = /\{([A-Za-z][A-Za-z0-9_]*)\}/g;

export function compileTemplate<F>(template: string, placeholders: Record<string, (facts: F) => string>, where: string): (facts: F) => string {
  const parts: Array<string | ((facts: F) => string)> = [];
  let last = 0;
  for (const m of template.matchAll(TEMPLATE_PART)) {
    const name = m[1] ?? '';
    const get = placeholders[name];
    if (get === undefined) {
      throw new AppError('BAD_INPUT', `${where}: unknown placeholder {${name}} in output (known: ${Object.keys(placeholders).sort().join(', ')})`);
    }
    parts.push(template.slice(last, m.index), get);
    last = m.index + m[0].length;
  }
  parts.push(template.slice(last));
  return (facts) => {
    let out = '';
    for (const part of parts) out += typeof part === 'string' ? part : part(facts);
    return out;
  };
}

const WILDCARD = '*';
const MAX_CANDIDATE_CACHE = 20_000;

export function createRuleEngine<F>(set: RuleSet, spec: EngineSpec<F>): RuleEngine<F> {
  if (spec.index.length < 1 || spec.index.length > 2) throw new AppError('BAD_INPUT', 'the rule index takes one or two keyword fields');
  for (const name of spec.index) {
    if (spec.fields[name]?.kind !== 'keyword') throw new AppError('BAD_INPUT', `index field ${name} must be a declared keyword field`);
  }
  const env = createCelEnv(spec.functions);
  // Bound as CEL values made once: a plain object would be converted to a new CEL map on every read
  // of `lists`, and each `lists.x` to a new CEL list, defeating the per-list caches of cel.ts (inCidrs).
  const listsBinding: CelMap = celMap(new Map([...set.lists].map(([name, items]) => [name, celList(items)])));
  const compiled: CompiledRule<F>[] = [];
  const buckets = new Map<string, CompiledRule<F>[]>();
  for (const rule of set.rules) {
    if (!rule.enabled) continue;
    const where = `rule ${rule.id}`;
    const match = compileMatch(rule.match, spec.fields, set.lists, where);
    const condition =
      rule.condition === undefined ? undefined : compileCondition(env, expandMacros(rule.condition, set.macros, 0, where), where);
    const render = compileTemplate(rule.output, spec.placeholders, where);
    const groupKey = rule.groupBy === undefined ? undefined : compileTemplate(rule.groupBy.map((name) => `{${name}}`).join('\u0000'), spec.placeholders, `${where} groupBy`);
    const entry: CompiledRule<F> = { rule, order: compiled.length, match: match.test, condition, render, groupKey };
    compiled.push(entry);
    const keys = spec.index.map((name) => {
      const ks = match.keywords.get(name);
      return ks === undefined || ks.any || ks.prefixes.length > 0 ? [WILDCARD] : [...ks.exact];
    });
    for (const a of keys[0] ?? [WILDCARD]) {
      for (const b of keys[1] ?? [WILDCARD]) {
        const key = `${a}\u0000${b}`;
        const bucket = buckets.get(key);
        if (bucket) bucket.push(entry);
        else buckets.set(key, [entry]);
      }
    }
  }
  const stats = new Map<string, RuleStats>(compiled.map((c) => [c.rule.id, { evaluated: 0, hits: 0, errors: 0 }]));
  const cache = new Map<string, CompiledRule<F>[]>();
  const getters = spec.index.map((name) => {
    const field = spec.fields[name];
    return field?.kind === 'keyword' ? field.get : () => WILDCARD;
  });
  const getA = getters[0] ?? (() => WILDCARD);
  const getB = getters[1] ?? (() => WILDCARD);

  function indexed(facts: F): CompiledRule<F>[] {
    const a = getA(facts);
    const b = getB(facts);
    const key = `${a}\u0000${b}`;
    let list = cache.get(key);
    if (list === undefined) {
      const seen = new Set<CompiledRule<F>>();
      for (const k of [key, `${a}\u0000${WILDCARD}`, `${WILDCARD}\u0000${b}`, `${WILDCARD}\u0000${WILDCARD}`]) {
        for (const rule of buckets.get(k) ?? []) seen.add(rule);
      }
      list = [...seen].sort((x, y) => x.order - y.order);
      if (cache.size >= MAX_CANDIDATE_CACHE) cache.clear();
      cache.set(key, list);
    }
    return list;
  }

  return {
    rules: compiled,
    candidates(facts) {
      return indexed(facts).filter((rule) => rule.match(facts));
    },
    evaluate(facts, variables) {
      const hits: RuleHit<F>[] = [];
      let bindings: Record<string, CelInput> | undefined;
      for (const rule of indexed(facts)) {
        if (!rule.match(facts)) continue;
        const stat = stats.get(rule.rule.id);
        if (rule.condition !== undefined) {
          bindings ??= { ...variables(), lists: listsBinding };
          const result = rule.condition(bindings);
          if (stat) stat.evaluated += 1;
          if (!result.ok) {
            if (stat) {
              stat.errors += 1;
              stat.lastError = result.error;
            }
            continue;
          }
          if (!result.value) continue;
        }
        if (stat) stat.hits += 1;
        const hit: RuleHit<F> = { rule, message: rule.render(facts) };
        if (rule.groupKey) hit.groupKey = rule.groupKey(facts);
        hits.push(hit);
      }
      return hits;
    },
    stats: () => stats,
  };
}

import { AppError } from '../core/index.js';
import { buildCidrSet, invalidCidrs } from './cel.js';
import type { MatchBlock } from './schema.js';

/**
 * The fields a `match` block may use are declared by the caller (audit: verbs, resources, users …;
 * admission: operations, kinds …), each with how to read it from the caller's pre-extracted facts
 * of one event. Matching is plain JavaScript, so most events are decided before any CEL runs.
 *
 * Value syntax in a match block: `"*"` any value, `"prefix*"` a prefix, `"$list_name"` the items of
 * a list (user-extendable), numbers or `"400-499"` ranges for int fields, CIDRs for cidr fields.
 * A field omitted from the block matches everything unless its declaration gives `omitted` values.
 * A `not:` block excludes the event when any one of its fields matches.
 */
export type MatchField<F> =
  | { kind: 'keyword'; get: (facts: F) => string; omitted?: readonly string[] }
  | { kind: 'keywords'; get: (facts: F) => readonly string[] }
  | { kind: 'int'; get: (facts: F) => number }
  | { kind: 'cidr'; get: (facts: F) => readonly string[] }
  /** Case-insensitive substring; `get` must return lower-case text. */
  | { kind: 'substring'; get: (facts: F) => string };

export type MatchFields<F> = Record<string, MatchField<F>>;

export type Predicate<F> = (facts: F) => boolean;

/** What one keyword field of one rule accepts: used both to filter and to build the index. */
export interface KeywordSet {
  any: boolean;
  exact: Set<string>;
  prefixes: string[];
}

export function expandValues(values: readonly (string | number)[], lists: ReadonlyMap<string, string[]>, where: string): (string | number)[] {
  const out: (string | number)[] = [];
  for (const value of values) {
    if (typeof value === 'string' && value.startsWith('$')) {
      const list = lists.get(value.slice(1));
      if (list === undefined) throw new AppError('BAD_INPUT', `${where}: unknown list ${value}: define it under 'lists'`);
      out.push(...list);
    } else {
      out.push(value);
    }
  }
  return out;
}

export function keywordSet(values: readonly (string | number)[]): KeywordSet {
  const set: KeywordSet = { any: false, exact: new Set(), prefixes: [] };
  for (const raw of values) {
    const value = String(raw);
    if (value === '*') set.any = true;
    else if (value.endsWith('*')) set.prefixes.push(value.slice(0, -1));
    else set.exact.add(value);
  }
  return set;
}

function keywordMatches(set: KeywordSet, value: string): boolean {
  if (set.any || set.exact.has(value)) return true;
  for (const prefix of set.prefixes) if (value.startsWith(prefix)) return true;
  return false;
}

function intRanges(values: readonly (string | number)[], where: string): Array<[number, number]> {
  return values.map((value) => {
    if (typeof value === 'number') return [value, value];
    const m = /^(\d+)(?:-(\d+))?$/.exec(value.trim());
    if (!m) throw new AppError('BAD_INPUT', `${where}: '${value}' is not a number or a range like 400-499`);
    const low = Number(m[1]);
    return [low, m[2] === undefined ? low : Number(m[2])];
  });
}

function fieldPredicate<F>(field: MatchField<F>, values: (string | number)[], where: string): Predicate<F> {
  switch (field.kind) {
    case 'keyword': {
      const set = keywordSet(values);
      const get = field.get;
      return (facts) => keywordMatches(set, get(facts));
    }
    case 'keywords': {
      const set = keywordSet(values);
      const get = field.get;
      return (facts) => {
        for (const value of get(facts)) if (keywordMatches(set, value)) return true;
        return false;
      };
    }
    case 'int': {
      const ranges = intRanges(values, where);
      const get = field.get;
      return (facts) => {
        const n = get(facts);
        for (const [low, high] of ranges) if (n >= low && n <= high) return true;
        return false;
      };
    }
    case 'cidr': {
      const strings = values.map(String);
      const bad = invalidCidrs(strings);
      if (bad.length > 0) throw new AppError('BAD_INPUT', `${where}: not IP addresses or CIDRs: ${bad.join(', ')}`);
      const set = buildCidrSet(strings);
      const get = field.get;
      if (strings.length === 0) return () => false;
      return (facts) => {
        for (const ip of get(facts)) if (set.has(ip)) return true;
        return false;
      };
    }
    case 'substring': {
      const needles = values.map((v) => String(v).toLowerCase()).filter((v) => v.length > 0);
      const get = field.get;
      return (facts) => {
        const text = get(facts);
        for (const needle of needles) if (text.includes(needle)) return true;
        return false;
      };
    }
  }
}

export interface CompiledMatch<F> {
  /** All positive fields and no `not` field match. */
  test: Predicate<F>;
  /** Per index field, the values that rule accepts (for the index); `any` puts it in the wildcard bucket. */
  keywords: Map<string, KeywordSet>;
}

export function compileMatch<F>(
  block: MatchBlock,
  fields: MatchFields<F>,
  lists: ReadonlyMap<string, string[]>,
  where: string,
): CompiledMatch<F> {
  const positive: Predicate<F>[] = [];
  const negative: Predicate<F>[] = [];
  const keywords = new Map<string, KeywordSet>();
  const known = Object.keys(fields).sort().join(', ');
  for (const [name, field] of Object.entries(fields)) {
    const given = block[name];
    if (given !== undefined && !Array.isArray(given)) continue;
    let values: (string | number)[] | undefined = given === undefined ? undefined : expandValues(given, lists, `${where} match.${name}`);
    if (values === undefined && field.kind === 'keyword' && field.omitted) values = [...field.omitted];
    if (values === undefined) {
      keywords.set(name, { any: true, exact: new Set(), prefixes: [] });
      continue;
    }
    if (field.kind === 'keyword') keywords.set(name, keywordSet(values));
    positive.push(fieldPredicate(field, values, `${where} match.${name}`));
  }
  for (const name of Object.keys(block)) {
    if (name !== 'not' && !(name in fields)) throw new AppError('BAD_INPUT', `${where}: unknown match field '${name}' (known: ${known})`);
  }
  for (const [name, given] of Object.entries(block.not ?? {})) {
    const field = fields[name];
    if (field === undefined) throw new AppError('BAD_INPUT', `${where}: unknown match field 'not.${name}' (known: ${known})`);
    const values = expandValues(given, lists, `${where} match.not.${name}`);
    if (values.length > 0) negative.push(fieldPredicate(field, values, `${where} match.not.${name}`));
  }
  const test: Predicate<F> = (facts) => {
    for (const p of positive) if (!p(facts)) return false;
    for (const n of negative) if (n(facts)) return false;
    return true;
  };
  return { test, keywords };
}

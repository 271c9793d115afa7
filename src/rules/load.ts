import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { AppError, errorMessage } from '../core/index.js';
import { ruleFileSchema, rulePatchSchema, ruleSchema, type Rule, type RuleFile, type Samples } from './schema.js';

/** Everything the rule files of one area say, after user files are merged over the built-ins. */
export interface RuleSet {
  rules: Rule[];
  lists: Map<string, string[]>;
  macros: Map<string, string>;
  /** Samples by rule id (built-in rules only; user rules may bring their own). */
  samples: Map<string, Samples>;
  /** Settings blocks for code detectors by detector id, merged key by key. */
  params: Map<string, Record<string, unknown>>;
  /** The files read, in order, for messages. */
  files: string[];
}

const MAX_RULE_FILE_BYTES = 1024 * 1024;

function yamlFiles(dir: string): string[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new AppError('NOT_FOUND', `rules directory ${dir} does not exist: pass a directory holding *.yaml rule files`);
  }
  return readdirSync(dir)
    .filter((name) => name.endsWith('.yaml') || name.endsWith('.yml'))
    .sort()
    .map((name) => join(dir, name));
}

function zodProblem(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ');
}

export function parseRuleFile(text: string, file: string): RuleFile {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    throw new AppError('BAD_INPUT', `rule file ${file} is not valid YAML (${errorMessage(error)}): fix the syntax`);
  }
  const parsed = ruleFileSchema.safeParse(raw ?? {});
  if (!parsed.success) throw new AppError('BAD_INPUT', `rule file ${file} is malformed: ${zodProblem(parsed.error)}`);
  if (parsed.data.samples && parsed.data.rule === undefined) {
    throw new AppError('BAD_INPUT', `rule file ${file} has samples but no 'rule': samples sit beside the one rule they test`);
  }
  return parsed.data;
}

function readRuleFile(file: string): RuleFile {
  const size = statSync(file).size;
  if (size > MAX_RULE_FILE_BYTES) throw new AppError('TOO_LARGE', `rule file ${file} is ${size} bytes, over the 1 MiB limit: split it`);
  return parseRuleFile(readFileSync(file, 'utf8'), file);
}

function parseRule(raw: unknown, file: string): Rule {
  const parsed = ruleSchema.safeParse(raw);
  if (!parsed.success) throw new AppError('BAD_INPUT', `rule in ${file} is malformed: ${zodProblem(parsed.error)}`);
  return parsed.data;
}

function rulesOf(doc: RuleFile): unknown[] {
  return [...(doc.rules ?? []), ...(doc.rule === undefined ? [] : [doc.rule])];
}

/** Applies one file to the set. Built-in files may only add; user files may also patch and extend. */
function apply(set: RuleSet, doc: RuleFile, file: string, mode: 'builtin' | 'user'): void {
  for (const [name, value] of Object.entries(doc.lists ?? {})) {
    if (Array.isArray(value)) {
      if (mode === 'builtin' && set.lists.has(name)) throw new AppError('CONFLICT', `list ${name} is defined twice (second time in ${file})`);
      set.lists.set(name, [...value]);
    } else {
      const base = set.lists.get(name);
      if (base === undefined) throw new AppError('BAD_INPUT', `${file} appends to list ${name}, which no earlier file defines`);
      set.lists.set(name, [...base, ...value.append]);
    }
  }
  for (const [name, expr] of Object.entries(doc.macros ?? {})) {
    if (mode === 'builtin' && set.macros.has(name)) throw new AppError('CONFLICT', `macro ${name} is defined twice (second time in ${file})`);
    set.macros.set(name, expr);
  }
  for (const [id, block] of Object.entries(doc.params ?? {})) {
    set.params.set(id, { ...(set.params.get(id) ?? {}), ...block });
  }
  for (const raw of rulesOf(doc)) {
    const idProbe = z.object({ id: z.string() }).safeParse(raw);
    const existing = idProbe.success ? set.rules.findIndex((r) => r.id === idProbe.data.id) : -1;
    if (existing >= 0) {
      if (mode === 'builtin') throw new AppError('CONFLICT', `rule ${idProbe.data?.id} is defined twice (second time in ${file})`);
      const patch = rulePatchSchema.safeParse(raw);
      if (!patch.success) throw new AppError('BAD_INPUT', `rule patch in ${file} is malformed: ${zodProblem(patch.error)}`);
      const base = set.rules[existing];
      if (base === undefined) continue;
      const { appendCondition, ...fields } = patch.data;
      // Only the keys the user wrote: the schema's defaults must not overwrite the built-in values.
      const written = new Set(typeof raw === 'object' && raw !== null ? Object.keys(raw) : []);
      const picked = Object.fromEntries(Object.entries(fields).filter(([key]) => written.has(key)));
      const merged: Rule = parseRule({ ...base, ...picked }, file);
      if (appendCondition !== undefined) {
        merged.condition = merged.condition === undefined ? appendCondition : `(${merged.condition}) && (${appendCondition})`;
      }
      set.rules[existing] = merged;
    } else {
      set.rules.push(parseRule(raw, file));
    }
  }
  if (doc.samples && doc.rule !== undefined) {
    const rule = parseRule(doc.rule, file);
    set.samples.set(rule.id, doc.samples);
  }
}

/** Reads the built-in rule directory, then each user directory over it, in the order given. */
export function loadRuleSet(builtinDir: string, userDirs: readonly string[] = []): RuleSet {
  const set: RuleSet = { rules: [], lists: new Map(), macros: new Map(), samples: new Map(), params: new Map(), files: [] };
  for (const file of yamlFiles(builtinDir)) {
    apply(set, readRuleFile(file), file, 'builtin');
    set.files.push(file);
  }
  for (const dir of userDirs) {
    for (const file of yamlFiles(dir)) {
      apply(set, readRuleFile(file), file, 'user');
      set.files.push(file);
    }
  }
  return set;
}

/** Builds a set from documents already in memory (tests, policies stored in a database). */
export function ruleSetFromDocuments(builtin: readonly RuleFile[], user: readonly RuleFile[] = []): RuleSet {
  const set: RuleSet = { rules: [], lists: new Map(), macros: new Map(), samples: new Map(), params: new Map(), files: [] };
  builtin.forEach((doc, i) => apply(set, doc, `<builtin document ${i + 1}>`, 'builtin'));
  user.forEach((doc, i) => apply(set, doc, `<user document ${i + 1}>`, 'user'));
  return set;
}

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMap, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { AppError } from '../core/index.js';
import {
  assignmentsFileSchema,
  initiativesFileSchema,
  policySchema,
  samplesFileSchema,
  type AssignmentsFile,
  type Initiative,
  type Policy,
  type SamplesFile,
} from './schema.js';

/**
 * Reads policy folders (`<dir>/<policy-id>/policy.yaml` + `samples.yaml`), initiatives and
 * assignments files. Every error names the file and the line: a YAML syntax error where the parser
 * stopped, a schema error at the node it concerns.
 */

export const LIBRARY_DIR = resolve(dirname(fileURLToPath(import.meta.url)), 'library');
const MAX_POLICY_FILE_BYTES = 1024 * 1024;

export interface LoadedPolicy {
  policy: Policy;
  samples: SamplesFile | undefined;
  dir: string;
  builtin: boolean;
}

export interface PolicyLibrary {
  policies: Map<string, LoadedPolicy>;
  initiatives: Map<string, Initiative>;
  /** Namespaces excluded by default when neither policy nor assignment says otherwise. */
  defaultExcludedNamespaces: string[];
}

interface ParsedYaml {
  doc: Document;
  lines: LineCounter;
  value: unknown;
}

function parseYamlFile(file: string, text: string): ParsedYaml {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const first = doc.errors[0];
  if (first) {
    const pos = lines.linePos(first.pos[0]);
    throw new AppError('BAD_INPUT', `${file}:${pos.line}:${pos.col}: YAML syntax error: ${first.message.split('\n')[0] ?? ''}: fix the file`, {
      details: { file, line: pos.line },
    });
  }
  return { doc, lines, value: doc.toJS({ maxAliasCount: 100 }) };
}

/** The line of the YAML node at `path` (or of its nearest existing parent). */
function lineOf(parsed: ParsedYaml, path: readonly PropertyKey[]): number {
  let node: unknown = parsed.doc.contents;
  let line = 1;
  const rangeLine = (n: unknown): number | undefined => {
    if (typeof n === 'object' && n !== null && 'range' in n && Array.isArray(n.range) && typeof n.range[0] === 'number') {
      return parsed.lines.linePos(n.range[0]).line;
    }
    return undefined;
  };
  line = rangeLine(node) ?? line;
  for (const key of path) {
    if (isMap(node)) node = node.get(String(key), true);
    else if (isSeq(node)) node = node.get(Number(key), true);
    else break;
    if (node === undefined) break;
    line = rangeLine(node) ?? line;
  }
  return line;
}

export function parseWithSchema<S extends z.ZodType>(schema: S, file: string, text: string): z.output<S> {
  const parsed = parseYamlFile(file, text);
  const result = schema.safeParse(parsed.value ?? {});
  if (!result.success) {
    const issue = result.error.issues[0];
    const path = issue?.path ?? [];
    const line = lineOf(parsed, path);
    const where = path.length > 0 ? path.join('.') : '(top)';
    const more = result.error.issues.length > 1 ? ` (and ${result.error.issues.length - 1} more problems)` : '';
    throw new AppError('BAD_INPUT', `${file}:${line}: ${where}: ${issue?.message ?? 'invalid'}${more}`, { details: { file, line } });
  }
  return result.data;
}

function readText(file: string): string {
  const size = statSync(file).size;
  if (size > MAX_POLICY_FILE_BYTES) throw new AppError('TOO_LARGE', `${file} is ${size} bytes, over the 1 MiB limit for policy files`);
  return readFileSync(file, 'utf8');
}

/** One policy folder: `policy.yaml` and, optionally, `samples.yaml`. */
export function loadPolicyDir(dir: string, builtin = false): LoadedPolicy {
  const policyFile = join(dir, 'policy.yaml');
  if (!existsSync(policyFile)) throw new AppError('NOT_FOUND', `${dir} has no policy.yaml: a policy folder holds policy.yaml and samples.yaml`);
  const policy = parseWithSchema(policySchema, policyFile, readText(policyFile));
  const samplesFile = join(dir, 'samples.yaml');
  const samples = existsSync(samplesFile) ? parseWithSchema(samplesFileSchema, samplesFile, readText(samplesFile)) : undefined;
  return { policy, samples, dir, builtin };
}

/** A directory holding policy folders, or one policy folder itself. */
export function loadPolicyDirs(dir: string, builtin = false): LoadedPolicy[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new AppError('NOT_FOUND', `policy directory ${dir} does not exist`);
  if (existsSync(join(dir, 'policy.yaml'))) return [loadPolicyDir(dir, builtin)];
  return readdirSync(dir)
    .sort()
    .map((name) => join(dir, name))
    .filter((path) => statSync(path).isDirectory() && existsSync(join(path, 'policy.yaml')))
    .map((path) => loadPolicyDir(path, builtin));
}

export function loadInitiatives(file: string): Initiative[] {
  return parseWithSchema(initiativesFileSchema, file, readText(file)).initiatives;
}

/** The built-in library plus user policy directories; a user policy may not reuse a built-in id. */
export function loadLibrary(userDirs: readonly string[] = [], libraryDir: string = LIBRARY_DIR): PolicyLibrary {
  const policies = new Map<string, LoadedPolicy>();
  const add = (loaded: LoadedPolicy): void => {
    const existing = policies.get(loaded.policy.id);
    if (existing) throw new AppError('CONFLICT', `policy id ${loaded.policy.id} is defined twice: ${existing.dir} and ${loaded.dir}; rename one`);
    policies.set(loaded.policy.id, loaded);
  };
  for (const p of loadPolicyDirs(libraryDir, true)) add(p);
  for (const dir of userDirs) for (const p of loadPolicyDirs(dir)) add(p);
  const initiatives = new Map<string, Initiative>();
  const initiativesFile = join(libraryDir, 'initiatives.yaml');
  if (existsSync(initiativesFile)) {
    for (const initiative of loadInitiatives(initiativesFile)) {
      for (const member of initiative.members) {
        if (!policies.has(member.policy)) throw new AppError('BAD_INPUT', `${initiativesFile}: initiative ${initiative.id} names unknown policy ${member.policy}`);
      }
      initiatives.set(initiative.id, initiative);
    }
  }
  return { policies, initiatives, defaultExcludedNamespaces: loadDefaultExclusions(libraryDir) };
}

function loadDefaultExclusions(libraryDir: string): string[] {
  const file = join(libraryDir, 'defaults.yaml');
  if (!existsSync(file)) return [];
  const parsed = parseYamlFile(file, readText(file)).value;
  if (typeof parsed === 'object' && parsed !== null && 'excludedNamespaces' in parsed && Array.isArray(parsed.excludedNamespaces)) {
    return parsed.excludedNamespaces.filter((n: unknown): n is string => typeof n === 'string');
  }
  throw new AppError('BAD_INPUT', `${file}: expected excludedNamespaces: [list of namespaces]`);
}

export function loadAssignmentsFile(file: string): AssignmentsFile {
  if (!existsSync(file)) throw new AppError('NOT_FOUND', `assignments file ${file} does not exist`);
  const parsed = parseWithSchema(assignmentsFileSchema, file, readText(file));
  return { ...parsed, policyDirs: parsed.policyDirs.map((d) => resolve(dirname(file), d)) };
}

import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { isNode, LineCounter, parseDocument, type Document } from 'yaml';
import { z } from 'zod';
import { AppError, errorMessage } from '../core/errors.js';
import { DATE, type IgnoreFile } from './ignore-match.js';

export { expiryInstant, ignoreMatches, isExpired, purlPrefixMatches, type IgnoreEntry, type IgnoreFile } from './ignore-match.js';

/**
 * The ignore file (`.palisadeignore`, YAML or JSON, YAML being a superset):
 *
 *   ignores:
 *     - id: CVE-2023-45853          # a finding id or any of its aliases
 *       reason: minizip is not built into zlib1g
 *       expires: 2026-12-31          # optional; after that day the entry no longer hides anything
 *       purl: pkg:deb/debian/zlib1g  # optional; the package purl, or a prefix of it
 *
 * Entries are checked strictly (an unknown key is a typo, not an ignore); errors name the file and line.
 */

const MAX_IGNORE_FILE_BYTES = 1024 * 1024;

const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

const entrySchema = z.strictObject({
  id: z.string().trim().min(1, 'id must name a vulnerability, e.g. CVE-2024-3094 or GHSA-35jh-r3h4-6jhm'),
  reason: z.string().trim().min(1, 'reason must say why the finding is ignored'),
  expires: z
    .string()
    .refine((v) => (DATE.test(v) || DATE_TIME.test(v)) && !Number.isNaN(Date.parse(v)), 'expires must be a date like 2026-12-31 (or an ISO 8601 time)')
    .optional(),
  purl: z.string().startsWith('pkg:', 'purl must be a package URL such as pkg:npm/lodash').optional(),
});

const fileSchema = z.strictObject({ ignores: z.array(entrySchema) });

function lineOf(doc: Document, lines: LineCounter, path: readonly PropertyKey[]): number | undefined {
  for (let depth = path.length; depth >= 0; depth -= 1) {
    const keys = path.slice(0, depth).filter((k): k is string | number => typeof k !== 'symbol');
    const node: unknown = depth === 0 ? doc.contents : doc.getIn(keys, true);
    if (isNode(node) && node.range) return lines.linePos(node.range[0]).line;
  }
  return undefined;
}

function pathText(path: readonly PropertyKey[]): string {
  return path.map((k, i) => (typeof k === 'number' ? `[${k}]` : `${i > 0 ? '.' : ''}${String(k)}`)).join('');
}

/** Parses the text of an ignore file; `file` names it in errors. */
export function parseIgnoreFile(text: string, file: string): IgnoreFile {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  const syntax = doc.errors[0];
  if (syntax) {
    const line = syntax.linePos?.[0].line;
    throw new AppError('BAD_INPUT', `ignore file ${file}${line ? ` line ${line}` : ''}: not valid YAML/JSON (${(syntax.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '')}); fix the syntax`, {
      details: { file },
    });
  }
  const value: unknown = doc.toJS() ?? { ignores: [] };
  const parsed = fileSchema.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues.slice(0, 5).map((issue) => {
      const line = lineOf(doc, lines, issue.path);
      const where = issue.path.length > 0 ? `${pathText(issue.path)}: ` : '';
      return `${line ? `line ${line}: ` : ''}${where}${issue.message}`;
    });
    const more = parsed.error.issues.length > 5 ? ` (and ${parsed.error.issues.length - 5} more)` : '';
    throw new AppError('BAD_INPUT', `ignore file ${file} is invalid: ${problems.join('; ')}${more}. Expected { ignores: [{ id, reason, expires?, purl? }] }`, {
      details: { file },
    });
  }
  return {
    file,
    entries: parsed.data.ignores.map((entry, i) => ({
      id: entry.id,
      reason: entry.reason,
      ...(entry.expires ? { expires: entry.expires } : {}),
      ...(entry.purl ? { purl: entry.purl } : {}),
      line: lineOf(doc, lines, ['ignores', i]) ?? 0,
    })),
  };
}

/** Reads and validates an ignore file (at most 1 MiB). */
export async function loadIgnoreFile(path: string): Promise<IgnoreFile> {
  let text: string;
  try {
    const info = await stat(path);
    if (info.size > MAX_IGNORE_FILE_BYTES) {
      throw new AppError('TOO_LARGE', `ignore file ${path} is ${info.size} bytes; the limit is ${MAX_IGNORE_FILE_BYTES}`, { details: { file: path } });
    }
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (error instanceof AppError) throw error;
    throw new AppError('BAD_INPUT', `cannot read ignore file ${path} (${basename(path)}): ${errorMessage(error)}; check the --ignore-file path`, {
      cause: error,
      details: { file: path },
    });
  }
  return parseIgnoreFile(text, path);
}

import { readFile, stat } from 'node:fs/promises';
import { z } from 'zod';
import { AppError, errorMessage } from '../core/errors.js';
import type { VexSet, VexStatus } from './vex-match.js';

export { productIsTarget, productPurlMatches, vexDecision, type VexProduct, type VexSet, type VexStatement, type VexStatus } from './vex-match.js';

/**
 * OpenVEX (https://github.com/openvex/spec, v0.2.0; the string forms of v0.0.x are accepted too).
 * A statement applies to a finding when its vulnerability (name, @id or an alias) is the finding's id
 * or one of its aliases, and one of its products is the finding's package (by purl, OpenVEX rules: a
 * product purl without version matches every version, qualifiers only constrain when given) or the
 * scanned image (then it covers every package of the image, or only its listed subcomponents).
 * Of several statements, the most recent (statement timestamp, else document timestamp) wins.
 */

const MAX_VEX_FILE_BYTES = 32 * 1024 * 1024;

const STATUSES = ['not_affected', 'affected', 'fixed', 'under_investigation'] as const satisfies readonly VexStatus[];

const identifiable = z.union([
  z.string().min(1).transform((id) => ({ '@id': id })),
  z.object({ '@id': z.string().optional(), identifiers: z.object({ purl: z.string().optional() }).optional() }),
]);

const productSchema = z.union([
  z.string().min(1).transform((id) => ({ '@id': id, subcomponents: undefined })),
  z.object({
    '@id': z.string().optional(),
    identifiers: z.object({ purl: z.string().optional() }).optional(),
    subcomponents: z.array(identifiable).optional(),
  }),
]);

const statementSchema = z
  .object({
    vulnerability: z.union([
      z.string().min(1).transform((name) => ({ name, '@id': undefined, aliases: undefined })),
      z.object({ name: z.string().min(1).optional(), '@id': z.string().optional(), aliases: z.array(z.string()).optional() }),
    ]),
    products: z.array(productSchema).min(1),
    status: z.enum(STATUSES),
    justification: z.string().optional(),
    impact_statement: z.string().optional(),
    action_statement: z.string().optional(),
    timestamp: z.string().optional(),
    last_updated: z.string().optional(),
  })
  .refine((s) => s.vulnerability.name !== undefined || s.vulnerability['@id'] !== undefined, 'vulnerability needs a name or @id')
  .refine((s) => s.status !== 'not_affected' || Boolean(s.justification || s.impact_statement), 'not_affected needs a justification or impact_statement');

const documentSchema = z.object({
  '@context': z.string().regex(/^https:\/\/openvex\.dev\/ns/, 'not an OpenVEX document (@context must be https://openvex.dev/ns/…)'),
  '@id': z.string().optional(),
  timestamp: z.string().optional(),
  last_updated: z.string().optional(),
  statements: z.array(z.unknown()),
});

function idsOf(item: { '@id'?: string | undefined; identifiers?: { purl?: string | undefined } | undefined }): string[] {
  return [item['@id'], item.identifiers?.purl].filter((v): v is string => typeof v === 'string' && v.length > 0);
}

function timeOf(...candidates: (string | undefined)[]): number {
  for (const c of candidates) {
    const t = c ? Date.parse(c) : NaN;
    if (!Number.isNaN(t)) return t;
  }
  return 0;
}

/** Validates one parsed OpenVEX document; bad statements are skipped and counted in `into`. */
export function parseVexDocument(value: unknown, file: string, into: VexSet = { statements: [], skipped: 0, problems: [] }): VexSet {
  const doc = documentSchema.safeParse(value);
  if (!doc.success) {
    const issue = doc.error.issues[0];
    throw new AppError('BAD_INPUT', `VEX file ${file} is not an OpenVEX document: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid'}`, {
      details: { file },
    });
  }
  const document = doc.data['@id'] ?? file;
  doc.data.statements.forEach((raw, index) => {
    const parsed = statementSchema.safeParse(raw);
    if (!parsed.success) {
      into.skipped += 1;
      into.problems.push({ document, index, problem: parsed.error.issues.map((i) => `${i.path.join('.') || '(statement)'}: ${i.message}`).join('; ') });
      return;
    }
    const s = parsed.data;
    const vulnerabilityIds = [s.vulnerability.name, s.vulnerability['@id'], ...(s.vulnerability.aliases ?? [])]
      .filter((v): v is string => typeof v === 'string' && v.length > 0)
      .map((v) => v.toUpperCase());
    into.statements.push({
      document,
      vulnerabilityIds: [...new Set(vulnerabilityIds)],
      products: s.products.map((p) => ({
        ids: idsOf(p),
        ...(p.subcomponents ? { subcomponents: p.subcomponents.map(idsOf) } : {}),
      })),
      status: s.status,
      ...(s.justification ? { justification: s.justification } : {}),
      ...(s.impact_statement ? { impactStatement: s.impact_statement } : {}),
      ...(s.action_statement ? { actionStatement: s.action_statement } : {}),
      time: timeOf(s.last_updated, s.timestamp, doc.data.last_updated, doc.data.timestamp),
      order: into.statements.length,
    });
  });
  return into;
}

/** Reads OpenVEX JSON documents (each at most 32 MiB). A file that is not OpenVEX is an error; a bad statement is skipped. */
export async function loadVex(paths: readonly string[]): Promise<VexSet> {
  const set: VexSet = { statements: [], skipped: 0, problems: [] };
  for (const path of paths) {
    let text: string;
    try {
      const info = await stat(path);
      if (info.size > MAX_VEX_FILE_BYTES) {
        throw new AppError('TOO_LARGE', `VEX file ${path} is ${info.size} bytes; the limit is ${MAX_VEX_FILE_BYTES}`, { details: { file: path } });
      }
      text = await readFile(path, 'utf8');
    } catch (error) {
      if (error instanceof AppError) throw error;
      throw new AppError('BAD_INPUT', `cannot read VEX file ${path}: ${errorMessage(error)}; check the --vex path`, { cause: error, details: { file: path } });
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      const why = errorMessage(error).replace(/\s+/g, ' ').slice(0, 160);
      throw new AppError('BAD_INPUT', `VEX file ${path} is not valid JSON (${why}); pass an OpenVEX JSON document`, { cause: error, details: { file: path } });
    }
    parseVexDocument(value, path, set);
  }
  return set;
}

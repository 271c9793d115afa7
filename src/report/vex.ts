import { readFile, stat } from 'node:fs/promises';
import { PackageURL } from 'packageurl-js';
import { z } from 'zod';
import { AppError, errorMessage, type Finding } from '../core/index.js';
import type { ScanTarget, VexDecision } from './types.js';
import { parseImageName } from './order.js';

/**
 * OpenVEX (https://github.com/openvex/spec, v0.2.0; the string forms of v0.0.x are accepted too).
 * A statement applies to a finding when its vulnerability (name, @id or an alias) is the finding's id
 * or one of its aliases, and one of its products is the finding's package (by purl, OpenVEX rules: a
 * product purl without version matches every version, qualifiers only constrain when given) or the
 * scanned image (then it covers every package of the image, or only its listed subcomponents).
 * Of several statements, the most recent (statement timestamp, else document timestamp) wins.
 */

const MAX_VEX_FILE_BYTES = 32 * 1024 * 1024;

const STATUSES = ['not_affected', 'affected', 'fixed', 'under_investigation'] as const;
export type VexStatus = (typeof STATUSES)[number];

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

export interface VexProduct {
  /** purls (or other ids) naming the product. */
  ids: string[];
  /** When set, the statement covers only these parts of the product. */
  subcomponents?: string[][];
}

export interface VexStatement {
  /** The document's @id, else the file it was read from. */
  document: string;
  /** Upper-cased vulnerability name, @id and aliases. */
  vulnerabilityIds: string[];
  products: VexProduct[];
  status: VexStatus;
  justification?: string;
  impactStatement?: string;
  actionStatement?: string;
  /** Milliseconds since epoch of the statement (or its document); 0 when undated. */
  time: number;
  /** Load order, to break ties: later wins. */
  order: number;
}

export interface VexSet {
  statements: VexStatement[];
  /** Statements that failed validation and were skipped. */
  skipped: number;
  /** Each skip, with the document and the problem, for the log. */
  problems: { document: string; index: number; problem: string }[];
}

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

function parsePurl(text: string): PackageURL | undefined {
  if (!text.startsWith('pkg:')) return undefined;
  try {
    return PackageURL.fromString(text);
  } catch {
    return undefined;
  }
}

/**
 * OpenVEX purl matching: type, namespace and name must be equal; a product without version matches
 * any version; every qualifier the product gives must be present with the same value; a subpath too.
 */
export function productPurlMatches(product: string, purl: string): boolean {
  const p = parsePurl(product);
  const c = parsePurl(purl);
  if (!p || !c) return false;
  if (p.type !== c.type || (p.namespace ?? '') !== (c.namespace ?? '') || p.name !== c.name) return false;
  if (p.version && p.version !== c.version) return false;
  for (const [key, value] of Object.entries(p.qualifiers ?? {})) {
    if (c.qualifiers?.[key] !== value) return false;
  }
  return !p.subpath || p.subpath === c.subpath;
}

/** Whether a product id names the scanned image: a pkg:oci purl (by digest, else by name and repository_url) or the reference itself. */
export function productIsTarget(product: string, target: ScanTarget): boolean {
  if (target.kind !== 'image') return product === target.reference;
  const image = parseImageName(target.reference, target.digest);
  if (product === target.reference || (image.digest && product === `${image.repository}@${image.digest}`)) return true;
  const p = parsePurl(product);
  if (!p || p.type !== 'oci') return false;
  if (p.version) return p.version === image.digest;
  const name = (image.repository.split('/').pop() ?? '').toLowerCase();
  const repositoryUrl = p.qualifiers?.repository_url;
  return p.name === name && (repositoryUrl === undefined || repositoryUrl === image.repository);
}

function statementCovers(s: VexStatement, finding: Finding, target: ScanTarget): boolean {
  const ids = [finding.advisoryId, ...finding.aliases].map((id) => id.toUpperCase());
  if (!ids.some((id) => s.vulnerabilityIds.includes(id))) return false;
  const isPackage = (ids: string[]): boolean => ids.some((id) => productPurlMatches(id, finding.package.purl));
  return s.products.some((product) => {
    const isImage = product.ids.some((id) => productIsTarget(id, target));
    if (product.subcomponents) return isImage && product.subcomponents.some(isPackage);
    return isImage || isPackage(product.ids);
  });
}

/** Statements by vulnerability id, built once per set (and rebuilt if statements were added). */
const indexCache = new WeakMap<VexSet, { size: number; byId: Map<string, VexStatement[]> }>();

function statementsFor(set: VexSet, ids: string[]): VexStatement[] {
  let index = indexCache.get(set);
  if (!index || index.size !== set.statements.length) {
    const byId = new Map<string, VexStatement[]>();
    for (const s of set.statements) for (const id of s.vulnerabilityIds) byId.set(id, [...(byId.get(id) ?? []), s]);
    index = { size: set.statements.length, byId };
    indexCache.set(set, index);
  }
  const found = new Set<VexStatement>();
  for (const id of ids) for (const s of index.byId.get(id) ?? []) found.add(s);
  return [...found];
}

/** The VEX decision for a finding: the latest applicable statement, when it says not_affected or fixed. */
export function vexDecision(set: VexSet, finding: Finding, target: ScanTarget): VexDecision | undefined {
  let chosen: VexStatement | undefined;
  const ids = [finding.advisoryId, ...finding.aliases].map((id) => id.toUpperCase());
  for (const s of statementsFor(set, ids)) {
    if (!statementCovers(s, finding, target)) continue;
    if (!chosen || s.time > chosen.time || (s.time === chosen.time && s.order > chosen.order)) chosen = s;
  }
  if (!chosen || (chosen.status !== 'not_affected' && chosen.status !== 'fixed')) return undefined;
  return {
    status: chosen.status,
    ...(chosen.justification ? { justification: chosen.justification } : {}),
    ...(chosen.impactStatement ? { impactStatement: chosen.impactStatement } : {}),
    document: chosen.document,
  };
}

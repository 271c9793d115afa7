import { createRequire } from 'node:module';
import type { PackageURL } from 'packageurl-js';
import type { Finding } from '../core/types.js';
import { parseImageName } from './order.js';
import type { ScanTarget, VexDecision } from './types.js';

/**
 * Which OpenVEX statement applies to a finding (the rules are in vex.ts, which reads the documents).
 * Apart from vex.ts so that the report filters can use it without loading zod.
 */

export type VexStatus = 'not_affected' | 'affected' | 'fixed' | 'under_investigation';

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

/**
 * packageurl-js (CommonJS) is required on first use: only a scan given VEX statements about its
 * findings parses purls here, and loading the library costs more than a cached re-scan's report.
 */
const requireCjs = createRequire(import.meta.url);
let purlClass: typeof PackageURL | undefined;

function parsePurl(text: string): PackageURL | undefined {
  if (!text.startsWith('pkg:')) return undefined;
  purlClass ??= (requireCjs('packageurl-js') as typeof import('packageurl-js')).PackageURL;
  try {
    return purlClass.fromString(text);
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

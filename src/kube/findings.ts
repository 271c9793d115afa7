import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { AppError, errorMessage, isSeverity, type Severity } from '../core/index.js';

/**
 * Vulnerability findings per running image, as the graph and the explorer see them. The server
 * plugs its findings store in through `FindingsLookup`; offline, `findingsFromScanReports` reads
 * `palisade scan --format json` reports and looks images up by manifest digest, then by reference.
 */

export type ImageFinding = {
  id: string;
  severity: Severity;
  /** A fixed version exists. */
  fixed: boolean;
  fixedVersion: string;
  package: string;
  installed: string;
  /** CVSS base score, 0 when unknown. */
  cvss: number;
  vector: string;
  /** The CVSS vector says AV:N (exploitable over the network). */
  network: boolean;
  kev: boolean;
};

export interface ImageKey {
  /** Manifest digest (`sha256:…`) from the pod status or the reference; '' when unknown. */
  digest: string;
  /** Normalised reference, e.g. docker.io/library/nginx:1.25. */
  ref: string;
}

export type FindingsLookup = (image: ImageKey) => readonly ImageFinding[];

export const noFindings: FindingsLookup = () => [];

const ReportSchema = z.looseObject({
  target: z.looseObject({ reference: z.string().default(''), digest: z.string().optional() }),
  findings: z
    .array(
      z.looseObject({
        advisoryId: z.string(),
        severity: z.string().default('unknown'),
        fixState: z.string().optional(),
        fixedVersions: z.array(z.string()).default([]),
        installedVersion: z.string().default(''),
        package: z.looseObject({ name: z.string().default('') }).default({ name: '' }),
        cvss: z.looseObject({ vector: z.string().default(''), baseScore: z.number().default(0) }).optional(),
        kev: z.unknown().optional(),
      }),
    )
    .default([]),
});

/** True when a CVSS vector (v2, v3.x or v4) says the attack vector is the network. */
export function isNetworkVector(vector: string): boolean {
  return /(^|\/)AV:N(\/|$)/.test(vector);
}

/** What a finding needs to become an ImageFinding: a finding of src/core as the server stores it, or one of a JSON scan report. */
export interface FindingSource {
  advisoryId: string;
  severity: string;
  fixState?: string;
  fixedVersions: readonly string[];
  installedVersion: string;
  package: { name: string };
  cvss?: { vector: string; baseScore: number };
  kev?: unknown;
}

export function toImageFinding(f: FindingSource): ImageFinding {
  const vector = f.cvss?.vector ?? '';
  return {
    id: f.advisoryId,
    severity: isSeverity(f.severity) ? f.severity : 'unknown',
    fixed: f.fixedVersions.length > 0 || f.fixState === 'fixed',
    fixedVersion: f.fixedVersions[0] ?? '',
    package: f.package.name,
    installed: f.installedVersion,
    cvss: f.cvss?.baseScore ?? 0,
    vector,
    network: isNetworkVector(vector),
    kev: f.kev !== undefined && f.kev !== null,
  };
}

/** Builds a lookup from parsed scan reports (JSON values). Reports that do not fit are refused with the file named. */
export function findingsFromReports(reports: readonly { source: string; json: unknown }[]): FindingsLookup {
  const byDigest = new Map<string, ImageFinding[]>();
  const byRef = new Map<string, ImageFinding[]>();
  for (const { source, json } of reports) {
    const parsed = ReportSchema.safeParse(json);
    if (!parsed.success) {
      throw new AppError('BAD_INPUT', `${source} is not a palisade scan JSON report (${parsed.error.issues[0]?.message ?? 'invalid'}): produce it with 'palisade scan IMAGE --format json'`);
    }
    const findings = parsed.data.findings.map(toImageFinding);
    if (parsed.data.target.digest) byDigest.set(parsed.data.target.digest, findings);
    if (parsed.data.target.reference) byRef.set(parsed.data.target.reference, findings);
  }
  return (image) => byDigest.get(image.digest) ?? byRef.get(image.ref) ?? [];
}

export async function findingsFromScanReports(files: readonly string[]): Promise<FindingsLookup> {
  const reports: { source: string; json: unknown }[] = [];
  for (const file of files) {
    let json: unknown;
    try {
      json = JSON.parse(await readFile(file, 'utf8'));
    } catch (error) {
      throw new AppError('BAD_INPUT', `cannot read scan report ${file}: ${errorMessage(error)}`);
    }
    reports.push({ source: file, json });
  }
  return findingsFromReports(reports);
}

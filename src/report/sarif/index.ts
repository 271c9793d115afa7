import { severityRank, type Finding, type Severity } from '../../core/types.js';
import type { Formatter, ScanReport, Suppression } from '../types.js';
import { sha256Hex } from '../ids.js';
import { advisoryUrl, compareBy, fixedVersionsText, isOsPackage, locationPaths, sortedBy } from '../order.js';

/**
 * SARIF 2.1.0 for code-scanning dashboards (GitHub, GitLab, Azure DevOps): one rule per advisory id,
 * one result per finding located at the file the package was recorded in. Suppressed findings are
 * included with a SARIF `suppressions` entry, so a dashboard shows them as dismissed, not missing.
 */

type SarifLevel = 'error' | 'warning' | 'note' | 'none';

export function sarifLevel(severity: Severity): SarifLevel {
  switch (severity) {
    case 'critical':
    case 'high':
      return 'error';
    case 'medium':
      return 'warning';
    case 'low':
    case 'negligible':
    case 'unknown':
      return 'note';
  }
}

/** GitHub's `security-severity` bands: critical ≥ 9.0, high ≥ 7.0, medium ≥ 4.0, low > 0. */
const BAND: Record<Severity, { min: number; max: number; typical: string }> = {
  critical: { min: 9.0, max: 10.0, typical: '9.5' },
  high: { min: 7.0, max: 8.9, typical: '8.0' },
  medium: { min: 4.0, max: 6.9, typical: '5.5' },
  low: { min: 0.1, max: 3.9, typical: '2.0' },
  negligible: { min: 0.1, max: 3.9, typical: '1.0' },
  unknown: { min: 0, max: 0, typical: '0.0' },
};

/** The CVSS base score when it agrees with the chosen severity, else the middle of that severity's band. */
export function securitySeverity(severity: Severity, cvssScore: number | undefined): string {
  const band = BAND[severity];
  if (cvssScore !== undefined && severity !== 'unknown' && cvssScore >= band.min && cvssScore <= band.max) return cvssScore.toFixed(1);
  return band.typical;
}

interface Entry {
  finding: Finding;
  suppression?: Suppression;
}

const worseFirst = compareBy<Finding>((f) => -severityRank(f.severity), (f) => -(f.cvss?.baseScore ?? 0));

/** The rule of an advisory describes its worst finding (severity, then CVSS score). */
function worst(first: Finding, entries: Entry[]): Finding {
  return entries.reduce((acc, e) => (worseFirst(e.finding, acc) < 0 ? e.finding : acc), first);
}

function helpMarkdown(id: string, f: Finding): string {
  const lines = [`**${id}**${f.summary ? `: ${f.summary}` : ''}`, '', `| severity | CVSS | vector |`, '| --- | --- | --- |'];
  lines.push(`| ${f.severity} | ${f.cvss ? `${f.cvss.baseScore} (${f.cvss.version}, ${f.cvss.source})` : '-'} | ${f.cvss ? `\`${f.cvss.vector}\`` : '-'} |`);
  if (f.aliases.length > 0) lines.push('', `Aliases: ${[...f.aliases].sort().join(', ')}`);
  if (f.kev) lines.push('', `Listed in CISA KEV since ${f.kev.dateAdded}${f.kev.dueDate ? ` (due ${f.kev.dueDate})` : ''}.`);
  lines.push('', `More: ${advisoryUrl(id)}`);
  return lines.join('\n');
}

function messageText(f: Finding): string {
  const fix = f.fixState === 'fixed' && f.fixedVersions.length > 0 ? `fixed in ${fixedVersionsText(f)}` : `no fix (${f.fixState})`;
  return `${f.advisoryId} (${f.severity}) in ${f.package.name} ${f.installedVersion}: ${fix}.${f.summary ? ` ${f.summary}` : ''}`;
}

function locationUri(f: Finding, report: ScanReport): string {
  const path = locationPaths(f.package)[0];
  // A relative URI reference under ROOTPATH: each segment percent-encoded, slashes kept.
  return path ? path.replace(/^\/+/, '').split('/').map(encodeURIComponent).join('/') : encodeURIComponent(report.target.reference);
}

export function buildSarif(report: ScanReport): SarifLog {
  const entries: Entry[] = sortedBy(
    [...report.findings.map((finding): Entry => ({ finding })), ...report.suppressed.map((suppression): Entry => ({ finding: suppression.finding, suppression }))],
    (e) => [e.finding.advisoryId, e.finding.package.purl, locationUri(e.finding, report), e.suppression?.by ?? '', e.finding.installedVersion],
  );

  const byRule = new Map<string, { first: Finding; entries: Entry[] }>();
  for (const e of entries) {
    const group = byRule.get(e.finding.advisoryId) ?? { first: e.finding, entries: [] };
    group.entries.push(e);
    byRule.set(e.finding.advisoryId, group);
  }
  const ruleIds = [...byRule.keys()].sort();
  const rules: SarifRule[] = [...byRule.entries()].sort(compareBy(([id]) => id)).map(([id, group]) => {
    const f = worst(group.first, group.entries);
    return {
      id,
      name: isOsPackage(f.package) ? 'OsPackageVulnerability' : 'LanguagePackageVulnerability',
      shortDescription: { text: f.summary ? `${id}: ${f.summary}` : id },
      fullDescription: { text: f.summary ?? id },
      helpUri: advisoryUrl(id),
      help: { text: `${id}${f.summary ? `: ${f.summary}` : ''}. More: ${advisoryUrl(id)}`, markdown: helpMarkdown(id, f) },
      defaultConfiguration: { level: sarifLevel(f.severity) },
      properties: {
        tags: ['security', 'vulnerability', f.severity],
        precision: 'very-high',
        'security-severity': securitySeverity(f.severity, f.cvss?.baseScore),
      },
    };
  });
  const ruleIndex = new Map(ruleIds.map((id, i) => [id, i]));

  const results: SarifResult[] = entries.map(({ finding: f, suppression }) => {
    const uri = locationUri(f, report);
    return {
      ruleId: f.advisoryId,
      ruleIndex: ruleIndex.get(f.advisoryId) ?? 0,
      level: sarifLevel(f.severity),
      message: { text: messageText(f) },
      locations: [
        {
          physicalLocation: { artifactLocation: { uri, uriBaseId: 'ROOTPATH' }, region: { startLine: 1 } },
          message: { text: `${report.target.reference}: ${uri}` },
        },
      ],
      partialFingerprints: { 'palisadeFinding/v1': sha256Hex([f.advisoryId, f.package.purl, uri].join('\u0000')) },
      ...(suppression
        ? { suppressions: [{ kind: 'external', status: 'accepted', justification: `${suppression.by}: ${suppression.reason}` }] }
        : {}),
      properties: {
        purl: f.package.purl,
        installedVersion: f.installedVersion,
        fixedVersions: f.fixedVersions,
        fixState: f.fixState,
        severity: f.severity,
        ...(f.aliases.length > 0 ? { aliases: [...f.aliases].sort() } : {}),
        ...(f.cvss ? { cvss: { version: f.cvss.version, vector: f.cvss.vector, baseScore: f.cvss.baseScore, source: f.cvss.source } } : {}),
        ...(f.kev ? { kev: true, kevDateAdded: f.kev.dateAdded } : {}),
        ...(f.epss ? { epssScore: f.epss.score, epssPercentile: f.epss.percentile } : {}),
      },
    };
  });

  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'palisade',
            version: report.tool.version,
            semanticVersion: report.tool.version,
            rules,
          },
        },
        originalUriBaseIds: { ROOTPATH: { uri: 'file:///' } },
        results,
        properties: {
          target: report.target.reference,
          ...(report.target.digest ? { digest: report.target.digest } : {}),
          createdAt: report.createdAt,
        },
      },
    ],
  };
}

export interface SarifRule {
  id: string;
  name: string;
  shortDescription: { text: string };
  fullDescription: { text: string };
  helpUri: string;
  help: { text: string; markdown: string };
  defaultConfiguration: { level: SarifLevel };
  properties: { tags: string[]; precision: string; 'security-severity': string };
}

export interface SarifResult {
  ruleId: string;
  ruleIndex: number;
  level: SarifLevel;
  message: { text: string };
  locations: {
    physicalLocation: { artifactLocation: { uri: string; uriBaseId: string }; region: { startLine: number } };
    message: { text: string };
  }[];
  partialFingerprints: Record<string, string>;
  suppressions?: { kind: 'external' | 'inSource'; status: 'accepted' | 'underReview' | 'rejected'; justification: string }[];
  properties: Record<string, unknown>;
}

export interface SarifLog {
  $schema: string;
  version: '2.1.0';
  runs: {
    tool: { driver: { name: string; version: string; semanticVersion: string; rules: SarifRule[] } };
    originalUriBaseIds: Record<string, { uri: string }>;
    results: SarifResult[];
    properties: Record<string, unknown>;
  }[];
}

export const sarifFormatter = {
  id: 'sarif',
  description: 'SARIF 2.1.0 for code-scanning dashboards',
  render(report) {
    return `${JSON.stringify(buildSarif(report), null, 2)}\n`;
  },
} satisfies Formatter;

import type { CvssScore, Finding, Package, Severity } from '../../core/types.js';
import type { Formatter, ScanReport, Suppression, VexDecision } from '../types.js';
import {
  advisoryUrl,
  allPackages,
  compareBy,
  locationPaths,
  packageKey,
  packageRefs,
  parseImageName,
  sortedFindings,
} from '../order.js';
import { sha256Hex, stableUuid } from '../ids.js';
import { imagePurl } from '../image-purl.js';

/**
 * CycloneDX 1.6 JSON: the image as metadata.component, every package as a component (bom-ref = purl),
 * and the findings as `vulnerabilities` with ratings, affects and fix recommendation. Findings that
 * VEX marked not_affected / fixed are kept with their `analysis`; findings hidden by the ignore file
 * are left out (CycloneDX has no state for an accepted risk).
 */

type CdxSeverity = 'critical' | 'high' | 'medium' | 'low' | 'info' | 'none' | 'unknown';

function cdxSeverity(severity: Severity): CdxSeverity {
  return severity === 'negligible' ? 'info' : severity;
}

const CVSS_METHOD: Record<CvssScore['version'], string> = { '2.0': 'CVSSv2', '3.0': 'CVSSv3', '3.1': 'CVSSv31', '4.0': 'CVSSv4' };

/** OpenVEX justification → CycloneDX impact-analysis justification. */
const JUSTIFICATION: Record<string, string> = {
  component_not_present: 'code_not_present',
  vulnerable_code_not_present: 'code_not_present',
  vulnerable_code_not_in_execute_path: 'code_not_reachable',
  vulnerable_code_cannot_be_controlled_by_adversary: 'protected_by_mitigating_control',
  inline_mitigations_already_exist: 'protected_by_mitigating_control',
};

export interface CdxRating {
  source?: { name: string; url?: string };
  score?: number;
  severity: CdxSeverity;
  method: string;
  vector?: string;
}

export interface CdxVulnerability {
  'bom-ref': string;
  id: string;
  source: { name: string; url: string };
  references?: { id: string; source: { name: string; url: string } }[];
  ratings: CdxRating[];
  description?: string;
  recommendation?: string;
  affects: { ref: string; versions: { version: string; status: 'affected' | 'unaffected' | 'unknown' }[] }[];
  analysis?: { state: string; justification?: string; detail?: string };
  properties?: { name: string; value: string }[];
}

export interface CdxComponent {
  type: string;
  'bom-ref': string;
  name: string;
  version?: string;
  purl?: string;
  group?: string;
  licenses?: { license: { name: string } }[];
  hashes?: { alg: string; content: string }[];
  properties?: { name: string; value: string }[];
}

export interface CdxBom {
  $schema: string;
  bomFormat: 'CycloneDX';
  specVersion: '1.6';
  serialNumber: string;
  version: number;
  metadata: {
    timestamp: string;
    tools: { components: { type: 'application'; name: string; version: string }[] };
    component: CdxComponent;
  };
  components: CdxComponent[];
  dependencies: { ref: string; dependsOn: string[] }[];
  vulnerabilities: CdxVulnerability[];
}

function sourceOf(id: string): { name: string; url: string } {
  if (id.startsWith('CVE-')) return { name: 'NVD', url: advisoryUrl(id) };
  if (id.startsWith('GHSA-')) return { name: 'GitHub', url: advisoryUrl(id) };
  return { name: 'OSV', url: advisoryUrl(id) };
}

/** CVSS qualitative rating of a base score (the same bands for v3 and v4). */
export function cvssSeverity(score: number): CdxSeverity {
  if (score >= 9.0) return 'critical';
  if (score >= 7.0) return 'high';
  if (score >= 4.0) return 'medium';
  if (score > 0) return 'low';
  return 'none';
}

/**
 * A CVSS rating (severity from its score) and, when the chosen severity came from elsewhere (the
 * distro's or the advisory's own rating), a second rating with that severity and its source.
 */
function ratings(findings: Finding[]): CdxRating[] {
  const seen = new Map<string, CdxRating>();
  const add = (rating: CdxRating): void => void seen.set(JSON.stringify(rating), rating);
  for (const f of findings) {
    if (f.cvss) {
      add({ source: { name: f.cvss.source }, score: f.cvss.baseScore, severity: cvssSeverity(f.cvss.baseScore), method: CVSS_METHOD[f.cvss.version], vector: f.cvss.vector });
    }
    if (!f.cvss || f.severitySource !== 'cvss') add({ source: { name: f.dataSource }, severity: cdxSeverity(f.severity), method: 'other' });
  }
  return [...seen.entries()].sort(compareBy(([k]) => k)).map(([, r]) => r);
}

function analysisOf(vex: VexDecision): NonNullable<CdxVulnerability['analysis']> {
  const justification = vex.justification ? JUSTIFICATION[vex.justification] : undefined;
  const detail = [vex.justification, vex.impactStatement, `VEX: ${vex.document}`].filter(Boolean).join('; ');
  return { state: vex.status === 'fixed' ? 'resolved' : 'not_affected', ...(justification ? { justification } : {}), detail };
}

function packageComponent(pkg: Package, ref: string): CdxComponent {
  const slash = pkg.name.lastIndexOf('/');
  const scoped = pkg.type === 'npm' && pkg.name.startsWith('@') && slash > 0;
  const properties = [
    { name: 'palisade:package:type', value: pkg.type },
    ...locationPaths(pkg).map((path) => ({ name: 'palisade:package:location', value: path })),
    ...(pkg.source ? [{ name: 'palisade:package:source', value: pkg.source.version ? `${pkg.source.name}@${pkg.source.version}` : pkg.source.name }] : []),
    ...[...new Set(pkg.locations.map((l) => l.layer).filter((l): l is string => Boolean(l)))].sort().map((layer) => ({ name: 'palisade:package:layer', value: layer })),
  ];
  return {
    type: 'library',
    'bom-ref': ref,
    ...(scoped ? { group: pkg.name.slice(0, slash), name: pkg.name.slice(slash + 1) } : { name: pkg.name }),
    version: pkg.version,
    purl: pkg.purl,
    ...(pkg.licenses && pkg.licenses.length > 0 ? { licenses: [...pkg.licenses].sort().map((name) => ({ license: { name } })) } : {}),
    properties,
  };
}

function targetComponent(report: ScanReport): CdxComponent {
  const purl = imagePurl(report);
  if (report.target.kind === 'image') {
    const image = parseImageName(report.target.reference, report.target.digest);
    const hex = image.digest?.startsWith('sha256:') ? image.digest.slice('sha256:'.length) : undefined;
    return {
      type: 'container',
      'bom-ref': purl ?? `target:${report.target.reference}`,
      name: image.repository,
      ...(image.tag ?? image.digest ? { version: image.tag ?? image.digest } : {}),
      ...(purl ? { purl } : {}),
      ...(hex ? { hashes: [{ alg: 'SHA-256', content: hex }] } : {}),
      properties: [
        { name: 'palisade:target:reference', value: report.target.reference },
        ...(report.target.platform ? [{ name: 'palisade:target:platform', value: report.target.platform }] : []),
        ...(report.target.layers ?? []).map((l) => ({ name: 'palisade:target:layer', value: l.digest })),
      ],
    };
  }
  return { type: report.target.kind === 'rootfs' ? 'file' : 'application', 'bom-ref': `target:${report.target.reference}`, name: report.target.reference };
}

export function buildCycloneDx(report: ScanReport): CdxBom {
  const packages = allPackages(report);
  const refs = packageRefs(packages);
  const refOf = (pkg: Package): string => refs.get(packageKey(pkg)) ?? pkg.purl;
  const root = targetComponent(report);
  const components = packages.map((p) => packageComponent(p, refOf(p)));
  if (report.distro) {
    components.unshift({
      type: 'operating-system',
      'bom-ref': `os:${report.distro.id}@${report.distro.versionId}`,
      name: report.distro.id,
      version: report.distro.versionId,
      ...(report.distro.prettyName ? { properties: [{ name: 'palisade:os:prettyName', value: report.distro.prettyName }] } : {}),
    });
  }

  // Findings shown, and VEX-suppressed findings with their analysis; one vulnerability per advisory
  // id and analysis, affecting every package it was found in.
  const vexOf = (s: Suppression): VexDecision | undefined => (s.by === 'vex' ? s.vex : undefined);
  const items: { finding: Finding; vex?: VexDecision }[] = [
    ...sortedFindings(report.findings).map((finding) => ({ finding })),
    ...report.suppressed.flatMap((s) => {
      const vex = vexOf(s);
      return vex ? [{ finding: s.finding, vex }] : [];
    }),
  ];
  const groups = new Map<string, { id: string; vex?: VexDecision; findings: Finding[] }>();
  for (const item of items) {
    const key = `${item.finding.advisoryId}\u0000${item.vex ? JSON.stringify(analysisOf(item.vex)) : ''}`;
    const group = groups.get(key) ?? { id: item.finding.advisoryId, ...(item.vex ? { vex: item.vex } : {}), findings: [] };
    group.findings.push(item.finding);
    groups.set(key, group);
  }
  const vulnerabilities: CdxVulnerability[] = [...groups.entries()]
    .sort(compareBy(([key]) => key))
    .map(([key, g]) => {
      const findings = sortedFindings(g.findings);
      const aliases = [...new Set(findings.flatMap((f) => f.aliases))].sort();
      const first = findings[0];
      const fixes = findings
        .filter((f) => f.fixedVersions.length > 0)
        .map((f) => `Upgrade ${f.package.name} from ${f.installedVersion} to ${f.fixedVersions.join(' or ')}.`);
      const affects = [...new Map(findings.map((f) => [refOf(f.package), f])).entries()]
        .sort(compareBy(([ref]) => ref))
        .map(([ref, f]) => ({ ref, versions: [{ version: f.installedVersion, status: g.vex ? ('unaffected' as const) : ('affected' as const) }] }));
      const kev = findings.find((f) => f.kev)?.kev;
      const epss = findings.find((f) => f.epss)?.epss;
      const properties = [
        ...(kev ? [{ name: 'palisade:kev:dateAdded', value: kev.dateAdded }] : []),
        ...(kev?.dueDate ? [{ name: 'palisade:kev:dueDate', value: kev.dueDate }] : []),
        ...(epss ? [{ name: 'palisade:epss:score', value: String(epss.score) }, { name: 'palisade:epss:percentile', value: String(epss.percentile) }] : []),
      ];
      return {
        'bom-ref': `vuln:${g.id}:${sha256Hex(key).slice(0, 12)}`,
        id: g.id,
        source: sourceOf(g.id),
        ...(aliases.length > 0 ? { references: aliases.map((id) => ({ id, source: sourceOf(id) })) } : {}),
        ratings: ratings(findings),
        ...(first?.summary ? { description: first.summary } : {}),
        ...(fixes.length > 0 ? { recommendation: [...new Set(fixes)].join(' ') } : {}),
        affects,
        ...(g.vex ? { analysis: analysisOf(g.vex) } : {}),
        ...(properties.length > 0 ? { properties } : {}),
      };
    });

  return {
    $schema: 'http://cyclonedx.org/schema/bom-1.6.schema.json',
    bomFormat: 'CycloneDX',
    specVersion: '1.6',
    serialNumber: `urn:uuid:${stableUuid(`${report.target.reference}\u0000${report.target.digest ?? ''}\u0000${report.createdAt}`)}`,
    version: 1,
    metadata: {
      timestamp: report.createdAt,
      tools: { components: [{ type: 'application', name: report.tool.name, version: report.tool.version }] },
      component: root,
    },
    components,
    // Only what the scan knows: the target contains every component. Package-to-package edges are
    // not recorded by the catalogers, and an empty dependsOn would claim "no dependencies".
    dependencies: [{ ref: root['bom-ref'], dependsOn: components.map((c) => c['bom-ref']).sort() }],
    vulnerabilities,
  };
}

export const cyclonedxFormatter = {
  id: 'cyclonedx',
  description: 'CycloneDX 1.6 JSON SBOM with vulnerabilities (and VEX analysis)',
  render(report) {
    return `${JSON.stringify(buildCycloneDx(report), null, 2)}\n`;
  },
} satisfies Formatter;

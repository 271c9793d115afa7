import { SEVERITIES } from '../core/index.js';
import type { Inventory } from './inventory.js';
import { inventoryCounts } from './inventory.js';
import type { AttackPath } from './paths.js';
import type { PostureReport, Recommendation } from './posture/posture.js';
import { loadRecommendationSpecs } from './posture/posture.js';

/** Text, JSON and SARIF renderings of inventory, posture and attack paths (the CLI prints them). */

export function renderInventoryTable(inventories: readonly Inventory[]): string {
  const lines: string[] = [];
  for (const inv of inventories) {
    lines.push(`cluster ${inv.cluster}`);
    const counts = inventoryCounts(inv);
    const width = Math.max(4, ...Object.keys(counts).map((k) => k.length));
    for (const [kind, n] of Object.entries(counts)) lines.push(`  ${kind.padEnd(width)}  ${n}`);
    const unknown = Object.entries(inv.unknownCounts).sort(([a], [b]) => (a < b ? -1 : 1));
    if (unknown.length > 0) {
      lines.push(`  unknown objects kept: ${inv.unknown.length}`);
      for (const [kind, n] of unknown) lines.push(`    ${kind}  ${n}`);
    }
    for (const p of inv.problems) lines.push(`  ! ${p}`);
  }
  return `${lines.join('\n')}\n`;
}

export function inventoryJson(inventories: readonly Inventory[]) {
  return {
    schemaVersion: 1,
    clusters: inventories.map((inv) => ({ cluster: inv.cluster, counts: inventoryCounts(inv), unknown: inv.unknown, unknownCounts: inv.unknownCounts, problems: inv.problems })),
  };
}

function resourceText(r: Recommendation['resources'][number], multiCluster: boolean): string {
  const where = r.namespace ? `${r.namespace}/${r.name}` : r.name;
  const base = `${multiCluster ? `[${r.cluster}] ` : ''}${r.kind} ${where}${r.container ? ` (container ${r.container})` : ''}`;
  return r.detail ? `${base}: ${r.detail}` : base;
}

export function renderPostureTable(report: PostureReport): string {
  const multiCluster = new Set(report.recommendations.flatMap((r) => r.resources.map((x) => x.cluster))).size > 1;
  const lines: string[] = [];
  for (const severity of SEVERITIES) {
    const recs = report.recommendations.filter((r) => r.severity === severity);
    if (recs.length === 0) continue;
    lines.push(`${severity.toUpperCase()} (${recs.length})`);
    for (const rec of recs) {
      lines.push(`  ${rec.id} ${rec.title} — ${rec.resources.length} resource${rec.resources.length === 1 ? '' : 's'}`);
      for (const r of rec.resources) lines.push(`    - ${resourceText(r, multiCluster)}`);
      lines.push(`    fix: ${rec.remediation}`);
    }
    lines.push('');
  }
  const total = report.recommendations.length;
  lines.push(`${total} recommendation${total === 1 ? '' : 's'}, ${report.recommendations.reduce((n, r) => n + r.resources.length, 0)} affected resources`);
  for (const [id, error] of Object.entries(report.errors)) lines.push(`! ${id}: condition failed: ${error}`);
  return `${lines.join('\n')}\n`;
}

const SARIF_LEVEL: Record<string, 'error' | 'warning' | 'note'> = { critical: 'error', high: 'error', medium: 'warning', low: 'note', negligible: 'note', unknown: 'note' };

/** SARIF 2.1.0: one rule per recommendation, one result per affected resource (logical locations). */
export function postureSarif(report: PostureReport, toolVersion: string): unknown {
  const specs = loadRecommendationSpecs();
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'palisade',
            version: toolVersion,
            rules: specs.map((s) => ({
              id: s.id,
              name: s.title.replace(/[^A-Za-z0-9]+/g, ''),
              shortDescription: { text: s.title },
              help: { text: s.remediation },
              defaultConfiguration: { level: SARIF_LEVEL[s.severity] ?? 'warning' },
              properties: { category: s.category, severity: s.severity, tags: ['kubernetes', s.category] },
            })),
          },
        },
        results: report.recommendations.flatMap((rec) =>
          rec.resources.map((r) => ({
            ruleId: rec.id,
            level: SARIF_LEVEL[rec.severity] ?? 'warning',
            message: { text: `${rec.title}: ${resourceText(r, true)}` },
            locations: [
              {
                logicalLocations: [
                  {
                    fullyQualifiedName: [r.cluster, r.kind, r.namespace, r.name, r.container].filter((x) => x !== '').join('/'),
                    kind: 'resource',
                  },
                ],
              },
            ],
            partialFingerprints: { resource: [r.cluster, r.kind, r.namespace, r.name, r.container].join('/') },
          })),
        ),
      },
    ],
  };
}

export function renderPathsTable(paths: readonly AttackPath[]): string {
  const lines: string[] = [];
  for (const p of paths) {
    lines.push(`${p.severity.toUpperCase()} ${p.title}`);
    lines.push(`  ${p.cluster}: ${p.resource} — ${p.evidence}`);
    lines.push(`  ${p.nodes.map((n) => n.label).join(' → ')}`);
    lines.push(`  fix: ${p.remediation}`);
    lines.push('');
  }
  lines.push(`${paths.length} attack path${paths.length === 1 ? '' : 's'}`);
  return `${lines.join('\n')}\n`;
}

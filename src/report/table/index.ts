import { SEVERITIES, type Finding, type Package, type Severity } from '../../core/types.js';
import type { Formatter, RenderOptions, ScanReport } from '../types.js';
import { compareBy, comparePackages, fixedVersionsText, isOsPackage, locationPaths, sortedFindings } from '../order.js';

/**
 * For people: a header with the target and totals by severity, then one table per target group
 * (the OS packages, then each language ecosystem's file location), then the suppressed findings.
 */

const ANSI: Record<Severity, string> = {
  critical: '\u001b[1;31m',
  high: '\u001b[31m',
  medium: '\u001b[33m',
  low: '\u001b[34m',
  negligible: '\u001b[2m',
  unknown: '\u001b[2m',
};
const RESET = '\u001b[0m';
const TITLE_WIDTH = 60;

interface Cell {
  text: string;
  severity?: Severity;
}

/**
 * Text from the image or a feed (package names, titles, paths) may hold control characters; an ESC
 * would let a crafted package rewrite the terminal. Whitespace runs become one space, the rest go.
 */
export function printable(text: string): string {
  return text.replace(/\s+/g, ' ').replace(/\p{Cc}/gu, '');
}

function truncate(text: string, width: number): string {
  const oneLine = printable(text).trim();
  return oneLine.length <= width ? oneLine : `${oneLine.slice(0, width - 1)}…`;
}

/** A plain box-less table: padded columns, a rule under the header, colour applied after padding. */
function renderTable(header: string[], rows: Cell[][], options: RenderOptions): string {
  rows = rows.map((row) => row.map((cell) => ({ ...cell, text: printable(cell.text) })));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.text.length ?? 0)));
  const line = (cells: Cell[]): string =>
    cells
      .map((cell, i) => {
        const padded = i === cells.length - 1 ? cell.text : cell.text.padEnd(widths[i] ?? 0);
        return options.color && cell.severity ? `${ANSI[cell.severity]}${cell.text}${RESET}${padded.slice(cell.text.length)}` : padded;
      })
      .join('  ')
      .trimEnd();
  const out = [line(header.map((text) => ({ text }))), widths.map((w) => '─'.repeat(w)).join('  ')];
  for (const row of rows) out.push(line(row));
  return `${out.join('\n')}\n`;
}

export function severityCounts(findings: readonly Finding[]): Record<Severity, number> {
  const counts: Record<Severity, number> = { critical: 0, high: 0, medium: 0, low: 0, negligible: 0, unknown: 0 };
  for (const f of findings) counts[f.severity] += 1;
  return counts;
}

function totalsLine(findings: readonly Finding[], options: RenderOptions): string {
  const counts = severityCounts(findings);
  const parts = SEVERITIES.map((s) => {
    const text = `${s}: ${counts[s]}`;
    return options.color && counts[s] > 0 ? `${ANSI[s]}${text}${RESET}` : text;
  });
  return `Total: ${findings.length} (${parts.join(', ')})`;
}

/** The group a package is listed under: the OS for OS packages, `<type>: <first location>` otherwise. */
function groupOf(pkg: Package, report: ScanReport): { order: number; label: string } {
  if (isOsPackage(pkg)) {
    const distro = pkg.distro ?? report.distro;
    const name = distro ? `${distro.id} ${distro.versionId}`.trim() : 'os';
    return { order: 0, label: `${report.target.reference} (${name}, ${pkg.type})` };
  }
  return { order: 1, label: `${pkg.type}: ${locationPaths(pkg)[0] ?? '(no location)'}` };
}

function groupBy<T>(items: readonly T[], key: (item: T) => { order: number; label: string }): [string, T[]][] {
  const groups = new Map<string, { order: number; items: T[] }>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k.label) ?? { order: k.order, items: [] };
    group.items.push(item);
    groups.set(k.label, group);
  }
  return [...groups.entries()]
    .sort(compareBy(([, g]) => g.order, ([label]) => label))
    .map(([label, g]) => [label, g.items]);
}

function findingRow(f: Finding): Cell[] {
  const notes = [f.kev ? '[KEV]' : '', f.epss && f.epss.percentile >= 0.9 ? `[EPSS ${(f.epss.score * 100).toFixed(1)}%]` : ''].filter(Boolean);
  return [
    { text: f.package.name },
    { text: f.installedVersion },
    { text: f.advisoryId },
    { text: f.severity, severity: f.severity },
    { text: f.fixState },
    { text: fixedVersionsText(f) },
    { text: truncate([...notes, f.summary ?? ''].join(' '), TITLE_WIDTH) },
  ];
}

const FINDING_HEADER = ['PACKAGE', 'INSTALLED', 'VULNERABILITY', 'SEVERITY', 'FIX STATE', 'FIXED VERSION', 'TITLE'];

function header(report: ScanReport): string[] {
  const lines = [`Target: ${report.target.reference}${report.target.digest ? ` (${report.target.digest})` : ''}`];
  if (report.target.platform) lines.push(`Platform: ${report.target.platform}`);
  if (report.distro) {
    const name = report.distro.prettyName ?? `${report.distro.id} ${report.distro.versionId}`;
    const eol = report.distro.eol;
    lines.push(`OS: ${name}${eol ? (eol.endOfLife ? ` — END OF LIFE since ${eol.date}, no more security fixes` : ` (supported until ${eol.date})`) : ''}`);
  }
  if (report.db) {
    const sources = report.db.sources.map((s) => (s.snapshot ? `${s.id}@${s.snapshot}` : s.id)).sort();
    lines.push(`Advisory DB: ${report.db.builtAt ? `built ${report.db.builtAt}` : 'build time unknown'}${sources.length ? `; ${sources.join(', ')}` : ''}`);
  }
  return lines;
}

export const tableFormatter = {
  id: 'table',
  description: 'human-readable tables grouped by OS and language package location',
  render(report, options) {
    const parts: string[] = [];
    parts.push(`${header(report).map(printable).join('\n')}\n`);
    parts.push(`${totalsLine(report.findings, options)}\n`);
    if (report.suppressed.length > 0 || report.filtered?.some((f) => f.count > 0)) {
      const bits = [
        ...(['ignore-file', 'vex'] as const).map((by) => ({ by, n: report.suppressed.filter((s) => s.by === by).length })),
        ...(report.filtered ?? []).map((f) => ({ by: f.filter, n: f.count })),
      ]
        .filter((b) => b.n > 0)
        .map((b) => `${b.by}: ${b.n}`);
      parts.push(`Hidden: ${bits.join(', ')}\n`);
    }
    const groups = groupBy(sortedFindings(report.findings), (f) => groupOf(f.package, report));
    if (groups.length === 0) parts.push('No vulnerabilities found.\n');
    for (const [label, findings] of groups) {
      parts.push(`${printable(label)}\n${totalsLine(findings, options)}\n\n${renderTable(FINDING_HEADER, findings.map(findingRow), options)}`);
    }
    if (report.suppressed.length > 0) {
      const rows = report.suppressed
        .map((s) => ({ s, row: [{ text: s.finding.package.name }, { text: s.finding.installedVersion }, { text: s.finding.advisoryId }, { text: s.by }, { text: truncate(s.reason, TITLE_WIDTH) }] }))
        .sort(compareBy((x) => x.s.finding.package.name, (x) => x.s.finding.advisoryId, (x) => x.s.by, (x) => x.s.reason));
      parts.push(`Suppressed\n\n${renderTable(['PACKAGE', 'INSTALLED', 'VULNERABILITY', 'BY', 'REASON'], rows.map((x) => x.row), options)}`);
    }
    if (options.listAllPackages) {
      const packages = [...report.packages].sort(comparePackages);
      const rows = packages.map((p) => [{ text: p.name }, { text: p.version }, { text: p.type }, { text: locationPaths(p).join(', ') }, { text: p.purl }]);
      parts.push(`Packages (${packages.length})\n\n${renderTable(['NAME', 'VERSION', 'TYPE', 'LOCATION', 'PURL'], rows, options)}`);
    }
    return parts.join('\n');
  },
} satisfies Formatter;

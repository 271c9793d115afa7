import { existsSync, writeFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { z } from 'zod';
import { AppError, type Finding } from '../core/index.js';
import { createMatcher, type MatchResult } from '../match/index.js';
import { readPackageFile, type PackageDocument } from '../sbom/index.js';
import { openAdvisoryDb } from '../vulndb/db.js';
import type { CliContext } from './context.js';

const MATCH_FORMATS = ['table', 'json'] as const;

const MatchOptionsSchema = z.object({
  packages: z.string().min(1),
  db: z.string().min(1).optional(),
  format: z.enum(MATCH_FORMATS),
  output: z.string().min(1).optional(),
});

/** One line per finding: package, installed, advisory, severity, fix state, fixed version. */
export function renderMatchTable(findings: readonly Finding[]): string {
  const header = ['PACKAGE', 'INSTALLED', 'ADVISORY', 'SEVERITY', 'FIX STATE', 'FIXED VERSION'];
  const rows = findings.map((f) => [
    f.package.name,
    f.installedVersion,
    f.advisoryId,
    f.severity,
    f.fixState,
    f.fixedVersions.join(', '),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  const lines = [line(header), ...rows.map(line)];
  lines.push('', `${findings.length} finding${findings.length === 1 ? '' : 's'}`);
  return `${lines.join('\n')}\n`;
}

export function renderMatchJson(result: MatchResult): string {
  return `${JSON.stringify({ schemaVersion: 1, findings: result.findings }, null, 2)}\n`;
}

/** Notes on stderr about what could not be used: skipped SBOM entries and unmatched packages, counted by reason. */
function notes(file: string, doc: PackageDocument, result: MatchResult): string[] {
  const out: string[] = [];
  const count = (reasons: string[]): string => {
    const counts = new Map<string, number>();
    for (const r of reasons) counts.set(r, (counts.get(r) ?? 0) + 1);
    return [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([r, n]) => `${r}: ${n}`).join(', ');
  };
  if (doc.skipped.length > 0) out.push(`skipped ${doc.skipped.length} entries of ${file} (${count(doc.skipped.map((s) => s.reason))})`);
  if (result.unmatched.length > 0) {
    out.push(`could not match ${result.unmatched.length} packages (${count(result.unmatched.map((u) => u.reason))})`);
  }
  return out;
}

export function registerMatch(program: Command, ctx: CliContext): void {
  program
    .command('match')
    .description('Match a package list or SBOM (Palisade JSON, CycloneDX JSON, SPDX 2.3 JSON) against the local advisory DB')
    .requiredOption('--packages <file>', 'package list or SBOM to match')
    .option('--db <path>', `advisory DB (default: ${ctx.defaultDbPath})`)
    .addOption(new Option('--format <format>', 'output format').choices(MATCH_FORMATS).default('table'))
    .option('--output <file>', 'write the output to this file instead of stdout')
    .action(async (raw: unknown) => {
      const options = MatchOptionsSchema.parse(raw);
      const dbPath = options.db ?? ctx.defaultDbPath;
      if (!existsSync(dbPath)) {
        throw new AppError(
          'NOT_FOUND',
          `no advisory DB at ${dbPath}: run 'palisade db import PATH…' (local feed copies) or 'palisade db update' first, or pass --db`,
        );
      }
      const doc = await readPackageFile(options.packages);
      const db = openAdvisoryDb(dbPath);
      let result: MatchResult;
      try {
        result = createMatcher({ index: db }).match(doc.packages);
      } finally {
        db.close();
      }
      for (const note of notes(options.packages, doc, result)) ctx.err(`palisade: ${note}\n`);
      const text = options.format === 'json' ? renderMatchJson(result) : renderMatchTable(result.findings);
      if (options.output) writeFileSync(options.output, text);
      else ctx.out(text);
    });
}

import { Command } from 'commander';
import { z } from 'zod';
import { systemClock } from '../core/index.js';
import type { FeedStats } from '../vulndb/builder.js';
import { importFeeds, type ImportProgress, type ImportResult } from '../vulndb/import.js';
import { readDbStatus, type DbStatus } from '../vulndb/status.js';
import { updateFeeds, type UpdateProgress } from '../vulndb/update.js';
import type { CliContext } from './context.js';

const DbOptions = z.object({ db: z.string().min(1).optional() });
const StatusOptions = DbOptions.extend({ json: z.boolean().optional() });
const UpdateOptions = DbOptions.extend({
  mirror: z.string().url().optional(),
  sources: z.string().min(1).optional(),
});

function mib(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

function feedLine(f: FeedStats): string {
  const records = f.advisories + f.kev + f.epss;
  const parts = [`${f.feed}: ${records} records from ${f.files} files`];
  if (f.duplicates > 0) parts.push(`${f.duplicates} older duplicates dropped`);
  if (f.merged > 0) parts.push(`${f.merged} record parts merged`);
  if (f.withdrawn > 0) parts.push(`${f.withdrawn} withdrawn`);
  if (f.skipped > 0) {
    const top = f.reasons
      .slice(0, 3)
      .map((r) => `${r.reason}: ${r.count}`)
      .join('; ');
    parts.push(`skipped ${f.skipped} (${top}${f.reasons.length > 3 ? '; …' : ''})`);
  }
  return parts.join(', ');
}

/** The summary printed after an import or update. */
export function renderImportSummary(result: ImportResult): string {
  const lines = [`built ${result.dbPath} (${mib(result.dbBytes)}) in ${(result.elapsedMs / 1000).toFixed(1)} s from ${result.files} files`];
  for (const f of result.feeds) lines.push(`  ${feedLine(f)}`);
  lines.push('sources:');
  for (const s of result.sources) lines.push(`  ${s.source.padEnd(24)} ${String(s.records).padStart(8)}  ${s.snapshot ?? '-'}`);
  if (result.unrecognised > 0) lines.push(`${result.unrecognised} files were not a known feed format and were ignored`);
  return `${lines.join('\n')}\n`;
}

export function renderStatus(status: DbStatus): string {
  const lines = [
    `advisory DB ${status.path}`,
    `  schema version ${status.schemaVersion ?? 'unknown'}, built ${status.builtAt ?? 'unknown'}, ${mib(status.bytes)}`,
    '  SOURCE                     RECORDS  SNAPSHOT',
  ];
  for (const s of status.sources) lines.push(`  ${s.source.padEnd(24)} ${String(s.records).padStart(10)}  ${s.snapshot ?? '-'}`);
  return `${lines.join('\n')}\n`;
}

/** A progress line on stderr, only on a terminal, redrawn in place. */
function progressPrinter(ctx: CliContext): ((text: string) => void) | undefined {
  if (!ctx.stderrIsTty) return undefined;
  let last = 0;
  return (text) => {
    const now = performance.now();
    if (now - last < 200) return;
    last = now;
    ctx.err(`\r\x1b[K${text}`);
  };
}

function importProgressText(p: ImportProgress): string {
  return `importing ${p.inputIndex + 1}/${p.inputCount} ${p.input}: ${p.files} files, ${mib(p.bytes)}`;
}

function updateProgressText(p: UpdateProgress): string {
  if (p.phase === 'import') return importProgressText(p);
  const size = p.total ? `${mib(p.bytes)} of ${mib(p.total)}` : mib(p.bytes);
  return `${p.status} ${p.feed} ${p.status === 'fetching' ? size : ''}`;
}

export function registerDb(program: Command, ctx: CliContext): void {
  const db = program.command('db').description('Build, update and inspect the local advisory DB');

  db.command('import')
    .description('Build the advisory DB from local feed copies: directories, .zip (osv.dev all.zip), .tar.gz, .gz or single files. Replaces the DB atomically.')
    .argument('<paths...>', 'feed directories or archives')
    .option('--db <path>', `advisory DB to write (default: ${ctx.defaultDbPath})`)
    .action(async (paths: string[], raw: unknown) => {
      const options = DbOptions.parse(raw);
      const print = progressPrinter(ctx);
      const result = await importFeeds({
        inputs: paths,
        dbPath: options.db ?? ctx.defaultDbPath,
        clock: systemClock,
        log: ctx.log,
        onProgress: print ? (p) => print(importProgressText(p)) : undefined,
      });
      if (print) ctx.err('\r\x1b[K');
      ctx.out(renderImportSummary(result));
    });

  db.command('update')
    .description('Download the live feeds (osv.dev, Alpine secdb, CISA KEV, FIRST EPSS) and rebuild the advisory DB atomically')
    .option('--db <path>', `advisory DB to write (default: ${ctx.defaultDbPath})`)
    .option('--mirror <url>', 'fetch every feed from <url>/<group>/<path> instead (e.g. <url>/osv/Debian/all.zip, <url>/kev/known_exploited_vulnerabilities.json)')
    .option('--sources <list>', 'comma-separated feed groups or ids to download (osv, alpine-secdb, kev, epss, osv:Debian …)')
    .action(async (raw: unknown) => {
      const options = UpdateOptions.parse(raw);
      const print = progressPrinter(ctx);
      const result = await updateFeeds({
        dbPath: options.db ?? ctx.defaultDbPath,
        clock: systemClock,
        log: ctx.log,
        mirror: options.mirror,
        sources: options.sources?.split(',').map((s) => s.trim()).filter((s) => s.length > 0),
        onProgress: print ? (p) => print(updateProgressText(p)) : undefined,
      });
      if (print) ctx.err('\r\x1b[K');
      ctx.out(`downloaded ${result.downloaded.length} feeds, ${result.notModified.length} not modified\n`);
      ctx.out(renderImportSummary(result));
    });

  db.command('status')
    .description('Show the advisory DB: schema version, each source with its snapshot date and record count, size')
    .option('--db <path>', `advisory DB (default: ${ctx.defaultDbPath})`)
    .option('--json', 'print JSON')
    .action((raw: unknown) => {
      const options = StatusOptions.parse(raw);
      const status = readDbStatus(options.db ?? ctx.defaultDbPath);
      ctx.out(options.json ? `${JSON.stringify(status, null, 2)}\n` : renderStatus(status));
    });
}

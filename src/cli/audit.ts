import { existsSync, readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { AppError, errorMessage, systemClock } from '../core/index.js';
import {
  alertToJsonLine,
  compareAlerts,
  createAlertGrouper,
  createWebhookSender,
  suppressionFileSchema,
  type Alert,
  type Suppression,
  type WebhookSender,
} from '../threat/alert.js';
import {
  createAuditAnalyzer,
  DEFAULT_MAX_LINE_BYTES,
  expandAuditPaths,
  followFileChunks,
  loadAuditRuleSet,
  openDetectorState,
  parseDuration,
  readFileChunks,
  splitLines,
  type AuditCounters,
} from '../threat/audit/index.js';
import type { CliContext } from './context.js';

const AUDIT_FORMATS = ['table', 'jsonl'] as const;
/** The table is sorted at the end, so it holds its alerts in memory: bounded, jsonl streams instead. */
const MAX_TABLE_ALERTS = 100_000;

const AnalyzeOptionsSchema = z.object({
  format: z.enum(AUDIT_FORMATS),
  rules: z.array(z.string().min(1)).default([]),
  state: z.string().min(1).optional(),
  follow: z.boolean().default(false),
  cluster: z.string().default(''),
  suppressions: z.string().min(1).optional(),
  window: z.string().default('5m'),
  maxLineBytes: z.coerce.number().int().min(1024).default(DEFAULT_MAX_LINE_BYTES),
  webhook: z.url({ protocol: /^https?$/ }).optional(),
});

/** Alerts waiting for the webhook are capped; beyond that the oldest are dropped and counted. */
const MAX_PENDING_WEBHOOK_ALERTS = 10_000;

/** One line per alert: first seen, severity, rule, repeats, message. */
export function renderAlertTable(alerts: readonly Alert[]): string {
  const header = ['TIME', 'SEVERITY', 'RULE', 'COUNT', 'CLUSTER', 'MESSAGE'];
  const rows = alerts.map((a) => [a.time, a.severity, a.rule, String(a.count), a.cluster ?? '-', a.message]);
  const widths = header.map((h, i) => (i === header.length - 1 ? 0 : Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0))));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  const lines = [line(header), ...rows.map(line)];
  lines.push('', `${alerts.length} alert${alerts.length === 1 ? '' : 's'}`);
  return `${lines.join('\n')}\n`;
}

export function summarize(counters: AuditCounters, seconds: number, alerts: number, suppressed: number): string {
  const rate = seconds > 0 ? Math.round(counters.analysed / seconds) : counters.analysed;
  const parts = [`analysed ${counters.analysed} events (${counters.records} records, ${counters.ignoredStages} other stages) in ${seconds.toFixed(1)} s, ${rate} events/s`];
  const skipped = [...counters.skipped].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const total = skipped.reduce((n, [, c]) => n + c, 0);
  if (total > 0) parts.push(`skipped ${total} (${skipped.map(([r, n]) => `${r}: ${n}`).join(', ')})`);
  parts.push(`${alerts} alert${alerts === 1 ? '' : 's'}${suppressed > 0 ? `, ${suppressed} suppressed` : ''}`);
  return parts.join('; ');
}

function loadSuppressions(path: string | undefined): Suppression[] {
  if (path === undefined) return [];
  if (!existsSync(path)) throw new AppError('NOT_FOUND', `suppressions file ${path} does not exist`);
  const parsed = suppressionFileSchema.safeParse(parseYaml(readFileSync(path, 'utf8')));
  if (!parsed.success) {
    throw new AppError('BAD_INPUT', `suppressions file ${path} is malformed: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  return parsed.data.suppressions;
}

export function registerAudit(program: Command, ctx: CliContext): void {
  const audit = program.command('audit').description('Control-plane threat detection from Kubernetes audit logs');
  audit
    .command('analyze')
    .description('Run the audit rules and detectors over audit log files (JSON lines, gzip, rotated directories; EKS, AKS and GKE exports)')
    .argument('<file...>', 'audit log files or directories of rotated logs')
    .addOption(new Option('--format <format>', 'output format').choices(AUDIT_FORMATS).default('table'))
    .option('--rules <dir>', 'user rules directory merged over the built-in rules (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--state <file>', 'SQLite file keeping detector baselines between runs (default: in memory)')
    .option('--follow', 'keep reading the last file as it grows, across rotation (Ctrl-C to stop)')
    .option('--cluster <name>', 'cluster name for alerts when the records do not carry one')
    .option('--suppressions <file>', 'YAML file of suppression rules')
    .option('--window <duration>', 'group repeats of an alert within this window', '5m')
    .option('--max-line-bytes <n>', 'skip lines longer than this', String(DEFAULT_MAX_LINE_BYTES))
    .option('--webhook <url>', 'also POST alerts to this URL, signed with HMAC-SHA256 (secret in $PALISADE_WEBHOOK_SECRET)')
    .action(async (files: string[], raw: unknown) => {
      const options = AnalyzeOptionsSchema.parse(raw);
      let webhook: WebhookSender | undefined;
      if (options.webhook !== undefined) {
        const secret = process.env.PALISADE_WEBHOOK_SECRET;
        if (!secret) throw new AppError('BAD_INPUT', '--webhook needs the shared secret in $PALISADE_WEBHOOK_SECRET (16 characters or more)');
        webhook = createWebhookSender({ url: options.webhook, secret, clock: systemClock, log: ctx.log });
      }
      let pending: Alert[] = [];
      let webhookDropped = 0;
      /** Sends what is pending, one delivery at a time; on failure keeps it for the next attempt (the final one throws). */
      let inflight: Promise<void> = Promise.resolve();
      const deliver = (final: boolean): Promise<void> => {
        const run = inflight.then(async () => {
          if (webhook === undefined || pending.length === 0) return;
          const batch = pending;
          pending = [];
          try {
            await webhook.send(batch);
          } catch (error) {
            if (final) throw error;
            pending = [...batch, ...pending].slice(-MAX_PENDING_WEBHOOK_ALERTS);
            ctx.log.warn({ alerts: pending.length, problem: errorMessage(error) }, 'alert webhook unavailable, keeping alerts for the next attempt');
          }
        });
        inflight = run.catch(() => undefined);
        return run;
      };
      const paths = expandAuditPaths(files);
      const last = paths[paths.length - 1];
      if (options.follow && last !== undefined && last.endsWith('.gz')) {
        throw new AppError('BAD_INPUT', `cannot --follow ${last}: it is gzip; follow the live (plain) log file`);
      }
      const ruleSet = loadAuditRuleSet(options.rules);
      const state = openDetectorState(options.state ?? ':memory:');
      const analyzer = createAuditAnalyzer({ ruleSet, state });
      const collected: Alert[] = [];
      let dropped = 0;
      const grouper = createAlertGrouper({
        windowMs: parseDuration(options.window),
        suppressions: loadSuppressions(options.suppressions),
        emit: (alert) => {
          if (webhook !== undefined) {
            pending.push(alert);
            if (pending.length > MAX_PENDING_WEBHOOK_ALERTS) {
              pending.shift();
              webhookDropped += 1;
            }
          }
          if (options.format === 'jsonl') ctx.out(alertToJsonLine(alert));
          else if (collected.length < MAX_TABLE_ALERTS) collected.push(alert);
          else dropped += 1;
        },
      });
      const started = performance.now();
      const abort = new AbortController();
      const stop = (): void => abort.abort();
      let ticker: NodeJS.Timeout | undefined;
      let lastTimeMs = 0;

      const consume = async (chunks: AsyncIterable<Buffer>, path: string): Promise<void> => {
        let n = 0;
        for await (const item of splitLines(chunks, options.maxLineBytes)) {
          if (item.kind === 'oversize') {
            analyzer.skip(`line over ${options.maxLineBytes} bytes`);
            continue;
          }
          for (const candidate of analyzer.analyzeLine(item.text, options.cluster)) {
            grouper.add(candidate);
            const at = Date.parse(candidate.time);
            if (at > lastTimeMs) lastTimeMs = at;
          }
          if (++n % 50_000 === 0) {
            grouper.closeUntil(lastTimeMs);
            analyzer.persist();
            await deliver(false);
            if (ctx.stderrIsTty) ctx.err(`\rpalisade: ${n} lines of ${path}…`);
          }
        }
        if (ctx.stderrIsTty && n >= 50_000) ctx.err('\r\x1b[K');
      };

      try {
        for (const [i, path] of paths.entries()) {
          if (options.follow && i === paths.length - 1) {
            process.once('SIGINT', stop);
            process.once('SIGTERM', stop);
            ticker = setInterval(() => {
              grouper.closeUntil(Date.now());
              analyzer.persist();
              void deliver(false);
            }, 5_000);
            await consume(followFileChunks(path, { signal: abort.signal }), path);
          } else {
            await consume(readFileChunks(path), path);
          }
        }
      } catch (error) {
        if (!(error instanceof AppError)) throw new AppError('BAD_INPUT', `reading audit logs failed: ${errorMessage(error)}`);
        throw error;
      } finally {
        if (ticker) clearInterval(ticker);
        process.removeListener('SIGINT', stop);
        process.removeListener('SIGTERM', stop);
        grouper.flush();
        analyzer.persist();
        state.close();
      }
      if (options.format === 'table') ctx.out(renderAlertTable(collected.sort(compareAlerts)));
      if (dropped > 0) ctx.err(`palisade: the table shows the first ${MAX_TABLE_ALERTS} alerts, ${dropped} more were left out: use --format jsonl\n`);
      if (webhookDropped > 0) ctx.err(`palisade: the webhook was unavailable too long, ${webhookDropped} alerts were not sent\n`);
      await deliver(true);
      const stats = grouper.stats();
      ctx.err(`palisade: ${summarize(analyzer.counters(), (performance.now() - started) / 1000, stats.emitted, stats.suppressed)}\n`);
      for (const [id, s] of analyzer.engine.stats()) {
        if (s.errors > 0) ctx.err(`palisade: rule ${id} failed on ${s.errors} events (last: ${s.lastError ?? '?'})\n`);
      }
    });
}

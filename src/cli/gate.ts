import type { Command } from 'commander';
import { AppError } from '../core/index.js';
import { parseSeverity } from '../report/index.js';
import { fetchUsage, runGate } from '../server/client.js';
import type { CliContext } from './context.js';

/** `palisade gate IMAGE` (CI: wait for the server's verdict) and `palisade usage` (usage and cost table). */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new AppError('BAD_INPUT', `invalid duration "${text}": use e.g. 90s, 10m, 1h`);
  const value = Number(m[1]);
  const unit = m[2] ?? 's';
  const factor = unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : 3_600_000;
  return value * factor;
}

function tokenFrom(option: string | undefined): string {
  const token = option ?? process.env.PALISADE_TOKEN;
  if (!token) throw new AppError('BAD_INPUT', 'no token: pass --token or set PALISADE_TOKEN');
  return token;
}

export function registerGate(program: Command, ctx: CliContext): void {
  program
    .command('gate')
    .argument('<image>', 'image reference as pushed (registry/repository:tag or …@sha256:…)')
    .description('Wait for the Palisade server to scan an image and fail (exit 1) when findings reach --fail-on')
    .requiredOption('--server <url>', 'Palisade server URL')
    .option('--token <token>', 'API token (reader role is enough); default $PALISADE_TOKEN')
    .option('--fail-on <severity>', 'fail when a finding is at least this severe', 'high')
    .option('--timeout <duration>', 'how long to wait for the scan (e.g. 10m)', '10m')
    .option('--poll <duration>', 'how often to ask', '2s')
    .action(async (image: string, options: { server: string; token?: string; failOn: string; timeout: string; poll: string }) => {
      const outcome = await runGate({
        server: options.server,
        token: tokenFrom(options.token),
        image,
        failOn: parseSeverity(options.failOn),
        timeoutMs: parseDuration(options.timeout),
        pollMs: parseDuration(options.poll),
      });
      if (outcome.result === 'pass') {
        ctx.out(`PASS ${image} (${outcome.digest}): ${outcome.findings} finding(s) below ${options.failOn}${outcome.disabled > 0 ? `, ${outcome.disabled} disabled by rules` : ''}\n`);
        return;
      }
      if (outcome.result === 'fail') {
        ctx.out(`FAIL ${image} (${outcome.digest}): ${outcome.reasons.length} finding(s) at or above ${options.failOn}\n${outcome.reasons.map((r) => `  ${r}`).join('\n')}\n`);
        process.exitCode = 1;
        return;
      }
      ctx.err(`palisade gate: ${outcome.message}\n`);
      process.exitCode = 2;
    });

  program
    .command('usage')
    .description('Usage and cost report of a Palisade server (distinct digests scanned, covered cores, price)')
    .requiredOption('--server <url>', 'Palisade server URL')
    .option('--token <token>', 'API token; default $PALISADE_TOKEN')
    .option('--month <YYYY-MM>', 'calendar month (default: this month)')
    .option('--json', 'print the JSON report')
    .action(async (options: { server: string; token?: string; month?: string; json?: boolean }) => {
      const usage = await fetchUsage({ server: options.server, token: tokenFrom(options.token) }, options.month);
      if (options.json) {
        ctx.out(`${JSON.stringify(usage, null, 2)}\n`);
        return;
      }
      const money = (n: number): string => `${usage.cost.currency === 'USD' ? '$' : `${usage.cost.currency} `}${n.toFixed(2)}`;
      const rows: [string, string][] = [
        ['Month', usage.month],
        ['Distinct image digests scanned', String(usage.digestsScanned)],
        [`Covered vCPU cores (${usage.coresSource})`, String(usage.cores)],
        ["Previous month's cores", String(usage.previousMonthCores)],
        ['Free digests (20 per core)', String(usage.freeDigests)],
        ['Extra digests', String(usage.extraDigests)],
        ['Cost of cores', money(usage.cost.cores)],
        ['Cost of extra digests', money(usage.cost.extraDigests)],
        ['Total', money(usage.cost.total)],
      ];
      const width = Math.max(...rows.map(([k]) => k.length));
      ctx.out(rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n') + '\n');
    });
}

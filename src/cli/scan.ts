import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { systemClock } from '../core/clock.js';
import { AppError } from '../core/errors.js';
import type { Distro, Finding, Package, Severity } from '../core/types.js';
import { platformOfNodeArch, parsePlatform } from '../image/platform.js';
import { parseImageSource, formatImageReference } from '../image/reference.js';
import { openImageSource } from '../image/sources/index.js';
import type { WalkProgress } from '../image/walker.js';
import { applyFilters, gateFails, parseSeverity, parseSeverityList } from '../report/filter.js';
import { renderReportLazily } from '../report/formats.js';
import { FORMAT_IDS, isFormatId, type ScanReport, type ScanTarget } from '../report/types.js';
import { openAdvisoryDbLazily } from '../scan/advisory-db.js';
import { openSbomCache } from '../scan/cache.js';
import { SCAN_CATALOGER_VERSIONS } from '../scan/cataloger-versions.js';
import { buildScanReport } from '../scan/report.js';
import { scanImage } from '../scan/scan.js';
import type { AdvisoryDb, AdvisoryDbInfo } from '../vulndb/db.js';
import type { CliContext } from './context.js';

/*
 * Only what every scan needs is imported up front. A re-scan answered by the scan cache loads no
 * manifest schemas, walker, catalogers, matcher or advisory DB code, and renders with the one writer
 * asked for; the rest is imported where it is needed (see the scan section of bench/README.md).
 */

interface OutputOptions {
  db?: string;
  format: string;
  output?: string;
  severity?: string;
  ignoreUnfixed?: boolean;
  failOn?: string;
  ignoreFile?: string;
  vex?: string[];
  listAllPkgs?: boolean;
  quiet?: boolean;
}

interface ImageOptions extends OutputOptions {
  platform?: string;
  username?: string;
  passwordStdin?: boolean;
  insecure?: boolean;
  cache: boolean;
}

function addOutputOptions(command: Command, ctx: CliContext): Command {
  return command
    .option('--db <path>', 'advisory DB file', ctx.defaultDbPath)
    .addOption(new Option('-f, --format <format>', 'report format').choices([...FORMAT_IDS]).default('table'))
    .option('-o, --output <file>', 'write the report to a file instead of stdout')
    .option('--severity <list>', 'show only these severities (comma-separated: critical,high,medium,low,negligible,unknown)')
    .option('--ignore-unfixed', 'hide findings that have no fix yet (unfixed, will not fix)')
    .option('--fail-on <severity>', 'exit with code 1 when a shown finding is at least this severe')
    .option('--ignore-file <file>', 'ids to ignore, with reason and optional expiry (YAML or JSON); default .palisadeignore when present')
    .option('--vex <file...>', 'OpenVEX documents whose not_affected/fixed statements hide findings')
    .option('--list-all-pkgs', 'list every package found, not only vulnerable ones (table)')
    .option('-q, --quiet', 'no progress output');
}

export function registerScan(program: Command, ctx: CliContext): void {
  const scan = program.command('scan').description('Scan an image or an SBOM for vulnerable packages');

  addOutputOptions(
    scan
      .command('image')
      .argument('<image>', 'registry reference (nginx:1.25, host:5000/repo@sha256:…) or oci-archive:FILE, oci-layout:DIR[:tag], docker-archive:FILE, dir:ROOTFS')
      .description('Pull or open an image, catalog its OS and language packages and match them against the advisory DB')
      .option('--platform <os/arch[/variant]>', 'platform to pick from a multi-platform image (default: this host)')
      .option('--username <name>', 'registry user name (password from --password-stdin)')
      .option('--password-stdin', 'read the registry password from standard input')
      .option('--insecure', 'talk plain HTTP to the registry')
      .option('--no-cache', 'read every layer again even when this image digest was scanned before'),
    ctx,
  ).action(async (image: string, options: ImageOptions) => {
    await runImageScan(image, options, ctx);
  });

  addOutputOptions(
    scan
      .command('sbom')
      .argument('<file>', 'CycloneDX or SPDX JSON SBOM, or a Palisade package list')
      .description('Match the packages of an SBOM against the advisory DB'),
    ctx,
  ).action(async (file: string, options: OutputOptions) => {
    await runSbomScan(file, options, ctx);
  });
}

async function openDb(path: string | undefined, ctx: CliContext): Promise<AdvisoryDb> {
  const { openAdvisoryDb } = await import('../vulndb/db.js');
  return openAdvisoryDb(resolve(path ?? ctx.defaultDbPath));
}

function progressPrinter(ctx: CliContext, quiet: boolean | undefined): ((p: WalkProgress) => void) | undefined {
  if (quiet || !ctx.stderrIsTty) return undefined;
  return (p) => {
    const mb = (p.bytes / 1024 / 1024).toFixed(1);
    ctx.err(`\r\x1b[Klayer ${p.layer + 1}/${p.layers} ${p.digest.slice(7, 19)} ${mb} MB${p.done && p.layer + 1 === p.layers ? '\n' : ''}`);
  };
}

async function runImageScan(image: string, options: ImageOptions, ctx: CliContext): Promise<void> {
  const spec = parseImageSource(image);
  let credentials: { username: string; password: string } | undefined;
  if (options.username) {
    if (!options.passwordStdin) throw new AppError('BAD_INPUT', '--username needs --password-stdin (the password is never taken on the command line)');
    const password = readFileSync(0, 'utf8').replace(/\r?\n$/, '');
    credentials = { username: options.username, password };
  }
  const platform = options.platform ? parsePlatform(options.platform) : platformOfNodeArch(process.arch);
  const dbPath = resolve(options.db ?? ctx.defaultDbPath);
  // With a cache the advisory DB is opened only when findings must be computed. A missing DB fails in
  // openAdvisoryDbLazily, before the cache is created (as when the DB was always opened first).
  const cache = options.cache && existsSync(dbPath) ? openSbomCache(join(ctx.cacheDir, 'scan-cache.sqlite'), SCAN_CATALOGER_VERSIONS) : undefined;
  const advisories = await openAdvisoryDbLazily(dbPath, cache);
  const source = await openImageSource(spec, {
    platform,
    registry: {
      ...(credentials ? { credentials } : {}),
      dockerConfigPath: join(process.env.DOCKER_CONFIG ?? join(homedir(), '.docker'), 'config.json'),
      insecure: Boolean(options.insecure),
      log: ctx.log,
    },
    ...(cache ? { describeMemo: cache } : {}),
  });
  try {
    const dbInfo = advisories.info;
    const outcome = await scanImage(source, { openIndex: () => advisories.open(), indexKey: dbInfo.builtAt, cache, clock: systemClock, log: ctx.log }, {
      onProgress: progressPrinter(ctx, options.quiet),
    });
    const target: ScanTarget = {
      kind: spec.kind === 'dir' ? 'rootfs' : 'image',
      reference: spec.kind === 'registry' ? formatImageReference(spec.ref) : image,
      ...(outcome.info.digest ? { digest: outcome.info.digest } : {}),
      platform: outcome.platform,
      layers: outcome.info.layers.map((l) => ({ digest: l.digest, size: l.size })),
    };
    await finish(target, outcome.distro, outcome.packages, outcome.findings, dbInfo, options, ctx);
  } finally {
    await source.close();
    cache?.close();
    advisories.close();
  }
}

async function runSbomScan(file: string, options: OutputOptions, ctx: CliContext): Promise<void> {
  const [{ readPackageFile }, { matchPackages }] = await Promise.all([import('../sbom/index.js'), import('../scan/match.js')]);
  const document = await readPackageFile(file);
  for (const skipped of document.skipped.slice(0, 20)) ctx.log.warn({ ref: skipped.ref, reason: skipped.reason }, 'SBOM entry skipped');
  const db = await openDb(options.db, ctx);
  try {
    const matched = matchPackages(document.packages, { index: db, clock: systemClock });
    await finish({ kind: 'sbom', reference: file }, document.distro, document.packages, matched.findings, db.info(), options, ctx);
  } finally {
    db.close();
  }
}

async function finish(
  target: ScanTarget,
  distro: Distro | undefined,
  packages: Package[],
  findings: Finding[],
  dbInfo: AdvisoryDbInfo,
  options: OutputOptions,
  ctx: CliContext,
): Promise<void> {
  if (!isFormatId(options.format)) throw new AppError('BAD_INPUT', `unknown format "${options.format}": use ${FORMAT_IDS.join(', ')}`);
  const failOn: Severity | undefined = options.failOn ? parseSeverity(options.failOn) : undefined;
  const severities = options.severity ? parseSeverityList(options.severity) : undefined;
  const ignoreFile = options.ignoreFile ?? (existsSync('.palisadeignore') ? '.palisadeignore' : undefined);
  const ignore = ignoreFile ? await (await import('../report/ignore.js')).loadIgnoreFile(ignoreFile) : undefined;
  const vex = options.vex && options.vex.length > 0 ? await (await import('../report/vex.js')).loadVex(options.vex) : undefined;

  const report: ScanReport = buildScanReport({ target, distro, packages, findings, db: dbInfo, clock: systemClock });
  const { report: shown, expiredIgnores } = applyFilters(report, { severities, ignoreUnfixed: options.ignoreUnfixed, ignore, vex }, systemClock);
  for (const expired of expiredIgnores) {
    ctx.err(`palisade: ignore entry ${expired.entry.id} in ${expired.file} expired on ${expired.entry.expires ?? '?'}; it no longer hides findings\n`);
  }
  const color = options.format === 'table' && !options.output && ctx.stdoutIsTty && process.env.NO_COLOR === undefined;
  const text = await renderReportLazily(shown, options.format, { color, listAllPackages: Boolean(options.listAllPkgs) });
  if (options.output) writeFileSync(options.output, text);
  else ctx.out(text.endsWith('\n') ? text : `${text}\n`);

  if (failOn) {
    const gate = gateFails(shown, failOn);
    if (gate.fails) {
      ctx.err(`palisade: ${gate.reasons.length} finding(s) at or above ${failOn}:\n${gate.reasons.map((r) => `  ${r}`).join('\n')}\n`);
      process.exitCode = 1;
    }
  }
}

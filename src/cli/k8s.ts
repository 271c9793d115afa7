import { readFile, writeFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { AppError, errorMessage } from '../core/index.js';
import { runExplorerQuery } from '../server/client.js';
import {
  buildGraph,
  compileQuery,
  computeAttackPaths,
  connectionFromKubeconfig,
  createLiveCollector,
  createTransport,
  findingsFromScanReports,
  inClusterConnectionFromEnv,
  inventoryFromFiles,
  inventoryJson,
  loadDefaultSettings,
  mergeSettings,
  postureSarif,
  renderInventoryTable,
  renderPathsTable,
  renderPostureTable,
  renderQueryResult,
  runningImages,
  runPosture,
  type FindingsLookup,
  type Inventory,
} from '../kube/cli-api.js';
import type { CliContext } from './context.js';

const VERSION = '0.1.0';

const SourceOptionsSchema = z.object({
  from: z.array(z.string()).optional(),
  kubeconfig: z.string().optional(),
  context: z.array(z.string()).optional(),
  inCluster: z.boolean().optional(),
  cluster: z.string().optional(),
  scanReport: z.array(z.string()).optional(),
  output: z.string().optional(),
});
type SourceOptions = z.infer<typeof SourceOptionsSchema>;

function addSourceOptions(cmd: Command): Command {
  return cmd
    .option('--from <paths...>', 'offline input: kubectl get -A -o json output, YAML manifests, helm template output, or directories of them')
    .option('--kubeconfig <path>', 'read live clusters through this kubeconfig (default: $KUBECONFIG or ~/.kube/config when --context is given)')
    .option('--context <names...>', 'kubeconfig contexts to read (several clusters at once)')
    .option('--in-cluster', 'read the cluster this runs in, with its service account')
    .option('--cluster <name>', 'cluster name for offline input', 'offline')
    .option('--scan-report <files...>', 'palisade scan --format json reports: findings of running images')
    .option('--output <file>', 'write to this file instead of stdout');
}

async function loadInventories(options: SourceOptions, ctx: CliContext): Promise<Inventory[]> {
  const inventories: Inventory[] = [];
  if (options.from && options.from.length > 0) inventories.push(await inventoryFromFiles(options.from, options.cluster ?? 'offline'));
  const env = process.env;
  const wantLive = options.kubeconfig !== undefined || (options.context ?? []).length > 0;
  if (wantLive) {
    const path = options.kubeconfig ?? env.KUBECONFIG?.split(':')[0] ?? `${env.HOME ?? ''}/.kube/config`;
    const contexts = options.context && options.context.length > 0 ? options.context : [undefined];
    const live = await Promise.all(
      contexts.map(async (name) => {
        const conn = await connectionFromKubeconfig(path, name);
        const collector = createLiveCollector(createTransport(conn, env), conn, { log: ctx.log });
        await collector.list();
        return collector.inventory();
      }),
    );
    inventories.push(...live);
  }
  if (options.inCluster) {
    const conn = await inClusterConnectionFromEnv(env, '--in-cluster: KUBERNETES_SERVICE_HOST is not set; this is not running in a pod');
    const collector = createLiveCollector(createTransport(conn, env), conn, { log: ctx.log, cluster: options.cluster === 'offline' ? 'in-cluster' : options.cluster });
    await collector.list();
    inventories.push(collector.inventory());
  }
  if (inventories.length === 0) {
    throw new AppError('BAD_INPUT', 'nothing to read: pass --from FILE|DIR (manifests or kubectl get -A -o json output), --context NAME (live cluster via kubeconfig) or --in-cluster');
  }
  return inventories;
}

async function loadFindings(options: SourceOptions): Promise<FindingsLookup | undefined> {
  return options.scanReport && options.scanReport.length > 0 ? findingsFromScanReports(options.scanReport) : undefined;
}

async function emit(ctx: CliContext, options: SourceOptions, text: string): Promise<void> {
  if (options.output) await writeFile(options.output, text);
  else ctx.out(text);
}

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

export function registerK8s(program: Command, ctx: CliContext): void {
  const k8s = program.command('k8s').description('Kubernetes discovery: inventory, posture recommendations, security explorer and attack paths');

  addSourceOptions(k8s.command('inventory').description('List what a cluster (or a set of manifests) holds, what could not be read, and the running images'))
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json']).default('table'))
    .action(async (raw: unknown) => {
      const options = SourceOptionsSchema.extend({ format: z.enum(['table', 'json']) }).parse(raw);
      const inventories = await loadInventories(options, ctx);
      if (options.format === 'json') {
        const graph = buildGraph(inventories);
        await emit(ctx, options, json({ ...inventoryJson(inventories), runningImages: runningImages(graph) }));
      } else {
        await emit(ctx, options, renderInventoryTable(inventories));
      }
    });

  addSourceOptions(k8s.command('posture').description('Evaluate the posture recommendations and print them grouped by severity with the affected resources'))
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json', 'sarif']).default('table'))
    .option('--settings <file>', 'YAML overriding posture settings (trustedRegistries, excludedNamespaces, …)')
    .action(async (raw: unknown) => {
      const options = SourceOptionsSchema.extend({ format: z.enum(['table', 'json', 'sarif']), settings: z.string().optional() }).parse(raw);
      let settings = loadDefaultSettings();
      if (options.settings) {
        let text: string;
        try {
          text = await readFile(options.settings, 'utf8');
        } catch (error) {
          throw new AppError('NOT_FOUND', `cannot read --settings ${options.settings}: ${errorMessage(error)}`);
        }
        settings = mergeSettings(settings, parseYaml(text), options.settings);
      }
      const inventories = await loadInventories(options, ctx);
      const findings = await loadFindings(options);
      const graph = buildGraph(inventories, findings ? { findings } : {});
      const report = runPosture(graph, { settings });
      for (const inv of inventories) for (const p of inv.problems) ctx.err(`palisade: ${inv.cluster}: ${p}\n`);
      if (options.format === 'json') await emit(ctx, options, json({ schemaVersion: 1, clusters: inventories.map((i) => i.cluster), ...report }));
      else if (options.format === 'sarif') await emit(ctx, options, json(postureSarif(report, VERSION)));
      else await emit(ctx, options, renderPostureTable(report));
    });

  addSourceOptions(
    k8s
      .command('query')
      .description('Ask the inventory graph a question in CEL, e.g. pods.filter(p, p.internetExposed && p.privileged); see docs/explorer.md')
      .argument('<expression>', 'CEL expression over pods, containers, images, services, serviceAccounts, …'),
  )
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json']).default('table'))
    .option('--server <url>', "ask a Palisade server instead: its configured clusters' latest inventory, with its scan results")
    .option('--token <token>', 'with --server: API token (the reader role is enough); default $PALISADE_TOKEN')
    .option('--clusters <names...>', "with --server: the server's clusters to query (default: all)")
    .option('--limit <n>', 'with --server: elements of a list result returned at most (default 1000)')
    .action(async (expression: string, raw: unknown) => {
      const options = SourceOptionsSchema.extend({
        format: z.enum(['table', 'json']),
        server: z.string().optional(),
        token: z.string().optional(),
        clusters: z.array(z.string()).optional(),
        limit: z.coerce.number().int().min(1).max(10_000).optional(),
      }).parse(raw);
      if (options.server !== undefined) {
        if (options.from || options.context || options.kubeconfig || options.inCluster || options.scanReport) {
          throw new AppError('BAD_INPUT', "--server queries the server's clusters with the server's scan results: drop --from, --kubeconfig, --context, --in-cluster and --scan-report");
        }
        const token = options.token ?? process.env.PALISADE_TOKEN;
        if (!token) throw new AppError('BAD_INPUT', 'no token: pass --token or set PALISADE_TOKEN');
        const answer = await runExplorerQuery({ server: options.server, token }, { query: expression, ...(options.clusters ? { clusters: options.clusters } : {}), ...(options.limit !== undefined ? { limit: options.limit } : {}) });
        for (const [cluster, problems] of Object.entries(answer.problems)) for (const p of problems) ctx.err(`palisade: ${cluster}: ${p}\n`);
        if (answer.truncated) ctx.err(`palisade: showing ${Array.isArray(answer.result) ? answer.result.length : 1} of ${answer.count} results; raise --limit\n`);
        await emit(ctx, options, options.format === 'json' ? json(answer) : renderQueryResult(answer.result));
        return;
      }
      const query = compileQuery(expression);
      const inventories = await loadInventories(options, ctx);
      const findings = await loadFindings(options);
      const result = query.run(buildGraph(inventories, findings ? { findings } : {}));
      await emit(ctx, options, options.format === 'json' ? json(result) : renderQueryResult(result));
    });

  addSourceOptions(k8s.command('paths').description('Attack paths: exposure → vulnerable image, risky service account, or node takeover'))
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json']).default('table'))
    .action(async (raw: unknown) => {
      const options = SourceOptionsSchema.extend({ format: z.enum(['table', 'json']) }).parse(raw);
      const inventories = await loadInventories(options, ctx);
      const findings = await loadFindings(options);
      const paths = computeAttackPaths(buildGraph(inventories, findings ? { findings } : {}));
      await emit(ctx, options, options.format === 'json' ? json({ schemaVersion: 1, paths }) : renderPathsTable(paths));
    });
}

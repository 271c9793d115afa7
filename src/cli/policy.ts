import { Command } from 'commander';
import { z } from 'zod';
import { AppError, systemClock } from '../core/index.js';
import { connectionFromKubeconfig, createLiveCollector, createTransport, inClusterConnectionFromEnv, inventoryFromFiles, type Inventory } from '../kube/cli-api.js';
import { auditInventory, createPolicyRuntime, formatComplianceReport, loadLibrary, loadPolicyDirs, runPolicySamples, type PolicyLibrary } from '../policy/index.js';
import type { CliContext } from './context.js';

const AuditOptionsSchema = z.object({
  from: z.array(z.string().min(1)).default([]),
  kubeconfig: z.string().optional(),
  context: z.string().optional(),
  inCluster: z.boolean().default(false),
  assignments: z.string().optional(),
  policies: z.array(z.string()).default([]),
  format: z.enum(['table', 'json']).default('table'),
});

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** Files, a kubeconfig context, or the cluster this runs in (one source per run). */
async function loadInventory(o: z.infer<typeof AuditOptionsSchema>): Promise<Inventory> {
  if (o.from.length > 0) return inventoryFromFiles(o.from);
  const env = process.env;
  let conn;
  if (o.kubeconfig) conn = await connectionFromKubeconfig(o.kubeconfig, o.context);
  else if (o.inCluster) conn = await inClusterConnectionFromEnv(env, '--in-cluster: KUBERNETES_SERVICE_HOST is not set; this is not running in a pod');
  else {
    throw new AppError('BAD_INPUT', 'nothing to audit: pass --from FILE|DIR (manifests or kubectl get -A -o json output), --kubeconfig PATH [--context NAME] or --in-cluster');
  }
  const collector = createLiveCollector(createTransport(conn, env), conn);
  await collector.list();
  return collector.inventory();
}

export function registerPolicy(program: Command, ctx: CliContext): void {
  const policy = program.command('policy').description('Admission policies: list the library, test policies against their samples, audit existing resources');

  policy
    .command('list')
    .description('List the built-in policies and initiatives')
    .action(() => {
      const library = loadLibrary();
      const lines = [...library.policies.values()].map((p) => `${p.policy.id.padEnd(30)} ${p.policy.defaultEffect.padEnd(6)} ${p.policy.severity.padEnd(8)} ${p.policy.title}`);
      lines.push('', 'initiatives:', ...[...library.initiatives.values()].map((i) => `${i.id.padEnd(30)} ${i.members.length} members  ${i.title}`));
      ctx.out(`${lines.join('\n')}\n`);
    });

  policy
    .command('test')
    .description('Run the samples of each policy under DIR (a policy folder or a folder of them), like gator verify')
    .argument('<dir>', 'policy folder (policy.yaml + samples.yaml) or a directory of policy folders')
    .action((dir: string) => {
      const builtins = loadLibrary();
      const mine = loadPolicyDirs(dir);
      if (mine.length === 0) throw new AppError('NOT_FOUND', `no policy folders (with policy.yaml) under ${dir}`);
      const policies = new Map(builtins.policies);
      for (const p of mine) policies.set(p.policy.id, p);
      const library: PolicyLibrary = { ...builtins, policies };
      let failed = 0;
      let total = 0;
      for (const loaded of mine) {
        if (!loaded.samples) {
          ctx.out(`? ${loaded.policy.id}: no samples.yaml\n`);
          failed += 1;
          continue;
        }
        for (const r of runPolicySamples(library, loaded)) {
          total += 1;
          if (!r.passed) failed += 1;
          ctx.out(`${r.passed ? 'ok  ' : 'FAIL'} ${r.policyId} ${r.kind}: ${r.name}${r.passed ? '' : `\n     ${r.detail}`}\n`);
        }
      }
      ctx.out(`\n${total - failed}/${total} samples behave as expected\n`);
      if (failed > 0) process.exitCode = 1;
    });

  policy
    .command('audit')
    .description('Evaluate existing resources (manifests or kubectl dumps) against the assignments: compliance per policy and namespace')
    .option('--from <path>', 'manifest file or directory (repeatable)', collect, [])
    .option('--kubeconfig <path>', 'audit a live cluster through this kubeconfig')
    .option('--context <name>', 'kubeconfig context (with --kubeconfig)')
    .option('--in-cluster', 'audit the cluster this runs in, with its service account')
    .option('--assignments <file>', 'assignments file (default: Pod Security baseline Deny + restricted Audit)')
    .option('--policies <dir>', 'directory of your own policies (repeatable)', collect, [])
    .option('--format <format>', 'table or json', 'table')
    .action(async (raw: unknown) => {
      const parsed = AuditOptionsSchema.safeParse(raw);
      if (!parsed.success) throw new AppError('BAD_INPUT', parsed.error.issues.map((i) => i.message).join('; '));
      const o = parsed.data;
      const runtime = createPolicyRuntime({ ...(o.assignments ? { assignmentsFile: o.assignments } : {}), policyDirs: o.policies, clock: systemClock, log: ctx.log });
      const inventory = await loadInventory(o);
      for (const problem of inventory.problems) ctx.err(`palisade: ${problem}\n`);
      const report = auditInventory(runtime.engine, inventory);
      ctx.out(o.format === 'json' ? `${JSON.stringify(report, null, 2)}\n` : formatComplianceReport(report));
    });
}

import { Command } from 'commander';
import { PALISADE_VERSION } from '../core/version.js';
import type { CliContext } from './context.js';

/** Each command group lives in its own file and adds its commands to the program. */
type RegisterGroup = (program: Command, ctx: CliContext) => void;

/**
 * Top-level command → the module that registers it. Only the group a command belongs to is loaded
 * (the server, Kubernetes and CEL stacks are heavy), so `palisade scan` or `palisade gate` start fast;
 * `palisade --help` loads them all. One entry per top-level command; a test checks the map against
 * the commands each module registers.
 */
export const COMMAND_GROUPS: Record<string, () => Promise<RegisterGroup>> = {
  scan: async () => (await import('./scan.js')).registerScan,
  match: async () => (await import('./match.js')).registerMatch,
  db: async () => (await import('./db.js')).registerDb,
  audit: async () => (await import('./audit.js')).registerAudit,
  server: async () => (await import('./server.js')).registerServer,
  gate: async () => (await import('./gate.js')).registerGate,
  usage: async () => (await import('./gate.js')).registerGate,
  sensor: async () => (await import('./sensor.js')).registerSensor,
  k8s: async () => (await import('./k8s.js')).registerK8s,
  admission: async () => (await import('./admission.js')).registerAdmission,
  policy: async () => (await import('./policy.js')).registerPolicy,
};

/** Builds the program with the groups that `argv` needs (all of them when no known command is named). */
export async function buildProgram(ctx: CliContext, argv: readonly string[] = []): Promise<Command> {
  const program = new Command('palisade')
    .description('Security for containers and Kubernetes: vulnerabilities, posture, admission policy, threats.')
    .version(PALISADE_VERSION)
    .showHelpAfterError()
    .exitOverride();
  const named = argv.find((arg) => !arg.startsWith('-'));
  const loaders = named && COMMAND_GROUPS[named] ? [COMMAND_GROUPS[named]] : [...new Set(Object.values(COMMAND_GROUPS))];
  const registered = new Set<RegisterGroup>();
  for (const load of loaders) {
    const register = await load();
    if (registered.has(register)) continue;
    registered.add(register);
    register(program, ctx);
  }
  return program;
}


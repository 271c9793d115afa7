#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { isAppError, errorMessage } from '../core/index.js';
import { registerAudit } from './audit.js';
import { createCliContext, type CliContext } from './context.js';
import { registerDb } from './db.js';
import { registerMatch } from './match.js';
import { registerScan } from './scan.js';
import { registerSensor } from './sensor.js';
import { registerServer } from './server.js';
import { registerGate } from './gate.js';
import { registerK8s } from './k8s.js';
import { registerAdmission } from './admission.js';
import { registerPolicy } from './policy.js';

/** Each command group lives in its own file and adds its commands to the program. */
type RegisterGroup = (program: Command, ctx: CliContext) => void;

const GROUPS: RegisterGroup[] = [registerScan, registerMatch, registerDb, registerAudit, registerServer, registerGate, registerSensor, registerK8s, registerAdmission, registerPolicy];

export function buildProgram(ctx: CliContext): Command {
  const program = new Command('palisade')
    .description('Security for containers and Kubernetes: vulnerabilities, posture, admission policy, threats.')
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride();
  for (const register of GROUPS) register(program, ctx);
  return program;
}

async function main(): Promise<void> {
  const ctx = createCliContext();
  const program = buildProgram(ctx);
  try {
    await program.parseAsync(process.argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode === 0 ? 0 : 2;
      return;
    }
    if (isAppError(error)) {
      ctx.err(`palisade: ${error.message}\n`);
      process.exitCode = 2;
      return;
    }
    ctx.err(`palisade: unexpected error: ${errorMessage(error)}\n`);
    if (error instanceof Error && error.stack) ctx.log.debug({ stack: error.stack }, 'unexpected error');
    process.exitCode = 3;
  }
}

await main();

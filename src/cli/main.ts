#!/usr/bin/env node
import { CommanderError } from 'commander';
import { isAppError, errorMessage } from '../core/errors.js';
import { createCliContext } from './context.js';
import { buildProgram } from './program.js';

async function main(): Promise<void> {
  const ctx = createCliContext();
  try {
    const program = await buildProgram(ctx, process.argv.slice(2));
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

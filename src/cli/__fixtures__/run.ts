import { join } from 'node:path';
import { Command } from 'commander';
import { silentLogger } from '../../core/index.js';
import type { CliContext } from '../context.js';

/**
 * Runs one command group in-process with a context that captures stdout and stderr, as the CLI
 * tests of each group need. `args` are what a user types after `palisade`.
 */
export async function runGroup(
  register: (program: Command, ctx: CliContext) => void,
  args: readonly string[],
  dir: string,
): Promise<{ out: string; err: string }> {
  let out = '';
  let err = '';
  const ctx: CliContext = {
    defaultDbPath: join(dir, 'default.sqlite'),
    cacheDir: dir,
    log: silentLogger,
    stdoutIsTty: false,
    stderrIsTty: false,
    out: (text) => void (out += text),
    err: (text) => void (err += text),
  };
  const program = new Command('palisade').exitOverride();
  register(program, ctx);
  await program.parseAsync([...args], { from: 'user' });
  return { out, err };
}

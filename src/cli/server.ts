import type { Command } from 'commander';
import { createJsonLogger, systemClock } from '../core/index.js';
import { loadConfig } from '../config/index.js';
import { startServer } from '../server/server.js';
import type { CliContext } from './context.js';

/** `palisade server [--config FILE] [--database URL]`: runs until SIGINT/SIGTERM, then drains the workers. */
export function registerServer(program: Command, ctx: CliContext): void {
  program
    .command('server')
    .description('Run the Palisade server: registry notifications, scan queue and workers, daily re-evaluation, REST API')
    .option('--config <file>', 'YAML configuration file (env overrides: PALISADE__KEY__SUBKEY=value)')
    .option('--database <url>', 'postgres://… URL or SQLite file (overrides the config file)')
    .option('--port <port>', 'listen port (overrides server.port)')
    .action(async (options: { config?: string; database?: string; port?: string }) => {
      const env: Record<string, string | undefined> = { ...process.env };
      if (options.database) env.PALISADE__DATABASE = options.database;
      if (options.port) env.PALISADE__SERVER__PORT = options.port;
      const config = loadConfig(options.config, env);
      const log = createJsonLogger((line) => process.stderr.write(line), process.env.PALISADE_LOG_LEVEL === 'debug' ? 'debug' : 'info', { service: 'palisade-server' });
      const server = await startServer(config, { clock: systemClock, log });
      ctx.err(`palisade server listening on ${server.url}\n`);
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          resolve();
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      await server.close();
    });
}

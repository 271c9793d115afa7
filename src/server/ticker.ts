import { errorMessage, type Logger } from '../core/index.js';

/**
 * Periodic work run one tick at a time: a tick asked for (by a test, an admin) while another runs
 * starts after it; `start` fires at once and then every interval, logging a failed tick instead of
 * throwing; `stop` clears the timer and waits for the tick in progress.
 */
export interface SerialTicker<T> {
  run(): Promise<T>;
  start(intervalMs: number): void;
  stop(): Promise<void>;
}

export function serialTicker<T>(tick: () => Promise<T>, log: Logger, what: string): SerialTicker<T> {
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<unknown> = Promise.resolve();
  const run = (): Promise<T> => {
    const next = current.then(tick, tick);
    current = next.catch(() => undefined);
    return next;
  };
  return {
    run,
    start(intervalMs) {
      const fire = (): void => void run().catch((error: unknown) => log.error({ error: errorMessage(error) }, `${what} tick failed`));
      fire();
      timer = setInterval(fire, intervalMs);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      await current;
    },
  };
}

import { errorMessage, type Clock, type Logger } from '../core/index.js';
import type { Store } from '../store/index.js';
import type { AdvisoryProvider } from './advisory.js';
import { syncCatalogue } from './catalog-sync.js';
import type { RegistryDirectory } from './registries.js';
import type { ScanService } from './scan-service.js';
import { serialTicker } from './ticker.js';
import { monthOf } from './usage.js';

/**
 * The periodic work of the server, one `tick()` at a time (a timer calls it; tests call it with an
 * injected clock): disable rules that expired let go of the findings they hid, the daily
 * re-evaluation, the re-evaluation after an advisory DB update, catalogue syncs, and the month's
 * covered cores. Replicas agree through the store: `metaClaim` lets exactly
 * one of them queue a given day's (or DB build's) re-evaluation, and the queue dedupes jobs.
 */
export interface Scheduler {
  /** `released`: disable rules (ids) that expired since the last tick and no longer hide findings. */
  tick(): Promise<{ reevaluations: string[]; synced: string[]; released: string[] }>;
  start(intervalMs: number): void;
  stop(): Promise<void>;
}

export function createScheduler(deps: {
  store: Store;
  scans: ScanService;
  advisory: AdvisoryProvider;
  registries: RegistryDirectory;
  clock: Clock;
  log: Logger;
  dailyAtHourUtc: number;
  configuredCores: number;
}): Scheduler {
  const { store, scans, advisory, registries, clock, log } = deps;
  const lastSync = new Map<string, number>();

  const tick = async (): Promise<{ reevaluations: string[]; synced: string[]; released: string[] }> => {
    const now = clock.now();
    const reevaluations: string[] = [];
    const synced: string[] = [];
    const rules = await store.applyDisableRules(now);
    if (rules.full || rules.released.length > 0) log.info({ released: rules.released, findings: rules.findings, images: rules.images, full: rules.full }, 'disable rules applied to stored findings');
    advisory.refresh();
    const builtAt = advisory.current()?.builtAt;
    if (builtAt && (await store.metaClaim(`reevaluate:db:${builtAt}`, now.toISOString()))) {
      await scans.reevaluate(`advisory DB built ${builtAt}`);
      reevaluations.push(`db:${builtAt}`);
    }
    const day = now.toISOString().slice(0, 10);
    if (now.getUTCHours() >= deps.dailyAtHourUtc && (await store.metaClaim(`reevaluate:daily:${day}`, now.toISOString()))) {
      await scans.reevaluate(`daily ${day}`);
      reevaluations.push(`daily:${day}`);
    }
    for (const registry of registries.list()) {
      if (registry.syncIntervalSeconds <= 0) continue;
      const last = lastSync.get(registry.name);
      if (last !== undefined && now.getTime() - last < registry.syncIntervalSeconds * 1000) continue;
      lastSync.set(registry.name, now.getTime());
      try {
        const result = await syncCatalogue(registry, { store, scans, log });
        log.info({ registry: registry.name, ...result }, 'catalogue synced');
        synced.push(registry.name);
      } catch (error) {
        log.error({ registry: registry.name, error: errorMessage(error) }, 'catalogue sync failed');
      }
    }
    const cores = (await store.discoveredCores()) ?? deps.configuredCores;
    await store.recordCoreUsage(monthOf(now), cores);
    return { reevaluations, synced, released: rules.released };
  };

  const ticker = serialTicker(tick, log, 'scheduler');
  return { tick: ticker.run, start: ticker.start, stop: ticker.stop };
}

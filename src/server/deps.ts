import type { Clock, Logger } from '../core/index.js';
import type { ServerConfig } from '../config/index.js';
import type { Store } from '../store/index.js';
import type { AdvisoryProvider } from './advisory.js';
import type { Authenticator } from './http.js';
import type { Metrics } from './metrics.js';
import type { RegistryDirectory } from './registries.js';
import type { ScanService } from './scan-service.js';
import type { Pricing } from './usage.js';

/** What the routes are given: services and stores, never the process. */
export interface AppDeps {
  store: Store;
  scans: ScanService;
  registries: RegistryDirectory;
  advisory: AdvisoryProvider;
  metrics: Metrics;
  auth: Authenticator;
  clock: Clock;
  log: Logger;
  pricing: Pricing;
  config: Pick<ServerConfig, 'usage' | 'server'>;
  /** Gauges only a running server knows (worker activity). */
  workerBusy?: () => number;
  reevaluate: (reason: string) => Promise<{ candidates: number; queued: number }>;
}

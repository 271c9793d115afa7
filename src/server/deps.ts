import type { Clock, Logger } from '../core/index.js';
import type { ServerConfig } from '../config/index.js';
import type { Store } from '../store/index.js';
import type { AdvisoryProvider } from './advisory.js';
import type { AlertService } from './alerts.js';
import type { Authenticator, SenderAuthenticator } from './http.js';
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
  alerts: AlertService;
  /** kube-apiserver's audit webhook tokens (alerts.auditTokens) and the node sensors' (alerts.sensorTokens). */
  auditAuth: SenderAuthenticator;
  sensorAuth: SenderAuthenticator;
  clock: Clock;
  log: Logger;
  pricing: Pricing;
  config: Pick<ServerConfig, 'usage' | 'server' | 'alerts'>;
  /** Gauges only a running server knows (worker activity). */
  workerBusy?: () => number;
  reevaluate: (reason: string) => Promise<{ candidates: number; queued: number }>;
}

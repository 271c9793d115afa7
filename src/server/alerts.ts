import { dirname, join } from 'node:path';
import { errorMessage, type Clock, type Logger } from '../core/index.js';
import type { AlertsConfig } from '../config/index.js';
import type { AlertInsertOptions, AlertInsertResult, Store } from '../store/index.js';
import { compileSuppressions, createAlertGrouper, type Alert } from '../threat/alert.js';
import { analyzeEventList, createAuditAnalyzer, loadAuditRuleSet, openDetectorState, type AuditAnalyzer, type DetectorStateStore } from '../threat/audit/index.js';
import type { Metrics } from './metrics.js';

/**
 * Threat alerts arriving at the server: audit EventList batches from kube-apiserver's webhook
 * backend (analysed here by one audit analyzer with the built-in rules, detector baselines kept in
 * a state file) and alert batches from the node sensors. Both end in the store with the same
 * model; repeats of a group within the window join the stored alert.
 */
export interface AuditBatchResult extends AlertInsertResult {
  events: number;
  alerts: number;
  suppressed: number;
  skipped: Record<string, number>;
}

export interface SensorBatchResult extends AlertInsertResult {
  duplicate: boolean;
  suppressed: number;
}

export interface AlertService {
  /** Takes one of `auditMaxConcurrent` analysis slots; false when all are busy (the route answers 429). */
  tryAcquireAudit(): boolean;
  releaseAudit(): void;
  auditBusy(): number;
  ingestAuditBatch(body: string | Buffer, cluster: string): Promise<AuditBatchResult>;
  ingestSensorBatch(batch: { sender: string; key: string; node: string; cluster?: string; alerts: readonly Alert[] }): Promise<SensorBatchResult>;
  close(): void;
}

export interface AlertServiceDeps {
  store: Store;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  config: AlertsConfig;
  /** The store's location: a SQLite file puts the detector state beside it. */
  database: string;
}

/** `alerts.auditStateFile`, else beside a SQLite store file, else in memory (PostgreSQL, `:memory:`). */
export function detectorStatePath(config: AlertsConfig, database: string): string {
  if (config.auditStateFile !== undefined) return config.auditStateFile;
  if (/^postgres(ql)?:\/\//.test(database) || database === ':memory:') return ':memory:';
  return join(dirname(database), 'palisade-audit-state.sqlite');
}

export function createAlertService(deps: AlertServiceDeps): AlertService {
  const { store, clock, log, metrics, config } = deps;
  let analyzer: AuditAnalyzer | undefined;
  let state: DetectorStateStore | undefined;
  let busy = 0;
  const suppressedBy = compileSuppressions(config.suppressions);
  const insertOptions = (): AlertInsertOptions => ({ windowMs: config.groupWindowSeconds * 1000, maxEvidence: config.maxEvidence, receivedAt: clock.now() });

  // Rules are loaded on the first batch, so a server without audit tokens never reads them.
  const auditAnalyzer = (): AuditAnalyzer => {
    if (analyzer) return analyzer;
    const path = detectorStatePath(config, deps.database);
    state = openDetectorState(path);
    analyzer = createAuditAnalyzer({ ruleSet: loadAuditRuleSet(config.auditRules), state });
    log.info({ rules: analyzer.engine.rules.length, detectors: analyzer.detectors.length, state: path }, 'audit analyzer ready');
    return analyzer;
  };

  return {
    tryAcquireAudit() {
      if (busy >= config.auditMaxConcurrent) return false;
      busy += 1;
      return true;
    },
    releaseAudit() {
      busy = Math.max(0, busy - 1);
    },
    auditBusy: () => busy,

    async ingestAuditBatch(body, cluster) {
      const a = auditAnalyzer();
      const result = analyzeEventList(body, a, cluster);
      const alerts: Alert[] = [];
      const grouper = createAlertGrouper({
        windowMs: config.groupWindowSeconds * 1000,
        maxEvidence: config.maxEvidence,
        suppressions: config.suppressions,
        emit: (alert) => alerts.push(alert),
      });
      for (const candidate of result.candidates) grouper.add(candidate);
      grouper.flush();
      try {
        a.persist();
      } catch (error) {
        log.warn({ problem: errorMessage(error) }, 'audit detector state not saved');
      }
      const stored = await store.insertAlerts(alerts, insertOptions());
      const suppressed = grouper.stats().suppressed;
      metrics.inc('palisade_audit_events_total', {}, result.events);
      for (const [reason, n] of Object.entries(result.skipped)) metrics.inc('palisade_audit_skipped_total', { reason }, n);
      if (stored.inserted + stored.merged > 0) metrics.inc('palisade_alerts_stored_total', { source: 'audit' }, stored.inserted + stored.merged);
      return { ...stored, events: result.events, alerts: alerts.length, suppressed, skipped: result.skipped };
    },

    async ingestSensorBatch(batch) {
      const kept: Alert[] = [];
      let suppressed = 0;
      for (const alert of batch.alerts) {
        const withCluster = alert.cluster === undefined && batch.cluster !== undefined ? { ...alert, cluster: batch.cluster } : alert;
        if (suppressedBy(withCluster)) suppressed += 1;
        else kept.push(withCluster);
      }
      const stored = await store.insertAlertBatch({ sender: batch.sender, key: batch.key, node: batch.node, alerts: kept }, insertOptions());
      if (stored.inserted + stored.merged > 0) metrics.inc('palisade_alerts_stored_total', { source: 'runtime' }, stored.inserted + stored.merged);
      return { ...stored, suppressed: stored.duplicate ? 0 : suppressed };
    },

    close() {
      try {
        analyzer?.persist();
      } catch (error) {
        log.warn({ problem: errorMessage(error) }, 'audit detector state not saved');
      }
      state?.close();
      analyzer = undefined;
      state = undefined;
    },
  };
}

import type { Clock } from '../core/index.js';
import { openPostgresDriver, openSqliteDriver } from './driver.js';
import { migrate } from './migrations.js';
import { createSqlStore } from './store.js';
import type { Store } from './types.js';

export * from './types.js';
export { createSqlStore, findingKey, countSeverities } from './store.js';
export { MIGRATIONS, migrate } from './migrations.js';
export { alertSchema, disableCriteriaSchema, findingSchema } from './rows.js';
export type { Dialect, SqlDriver } from './driver.js';
export { ADMISSION_EFFECTS, admissionRecordSchema, type AdmissionBatch, type AdmissionBatchResult, type AdmissionEffect, type AdmissionRecordInput, type AdmissionViolationFilter, type StoredAdmissionViolation } from './admission.js';
export { createClusterStore, openClusterStore, recommendationResourceKey, type ClusterStore, type ClusterSyncState, type StoredRecommendation, type StoredAttackPath, type SavedQuery, type AssignmentCompliance, type ComplianceInput, type ComplianceFilter, type ComplianceViolation, type StoredCompliance } from './clusters.js';

/** Opens the store named by `database`: a postgres:// URL, or a SQLite file path. Migrations run first. */
export async function openStore(database: string, clock: Clock, options: { poolSize?: number } = {}): Promise<Store> {
  const driver = /^postgres(ql)?:\/\//.test(database) ? await openPostgresDriver(database, options.poolSize) : openSqliteDriver(database);
  try {
    await migrate(driver, clock);
  } catch (error) {
    await driver.close();
    throw error;
  }
  return createSqlStore(driver);
}

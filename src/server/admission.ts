import { errorMessage, type Clock, type Logger } from '../core/index.js';
import type { AdmissionConfig } from '../config/index.js';
import type { AdmissionBatchResult, AdmissionRecordInput, AdmissionViolationFilter, StoredAdmissionViolation, Store } from '../store/index.js';

/**
 * Violation records of the admission webhooks (`palisade admission --server`): each batch is stored
 * once per token and Idempotency-Key, each violation once; the cluster is the token's (`cluster`
 * of admission.tokens) or else the one the batch names. Violations older than
 * admission.retentionDays are deleted, at most once an hour, when a batch arrives.
 */
export interface AdmissionService {
  ingest(batch: { sender: string; key: string; webhook: string; cluster: string; records: readonly AdmissionRecordInput[] }): Promise<AdmissionBatchResult>;
  list(filter: AdmissionViolationFilter): Promise<{ total: number; items: StoredAdmissionViolation[] }>;
}

const PRUNE_EVERY_MS = 60 * 60 * 1000;

export function createAdmissionService(deps: { store: Store; clock: Clock; log: Logger; config: AdmissionConfig }): AdmissionService {
  const { store, clock, log, config } = deps;
  let prunedAt = Number.NEGATIVE_INFINITY;
  return {
    async ingest(batch) {
      const now = clock.now();
      const result = await store.insertAdmissionBatch(batch, now);
      if (now.getTime() - prunedAt >= PRUNE_EVERY_MS) {
        prunedAt = now.getTime();
        const before = new Date(now.getTime() - config.retentionDays * 86_400_000);
        await store
          .pruneAdmissionViolations(before)
          .then((deleted) => {
            if (deleted > 0) log.info({ deleted, before: before.toISOString() }, 'admission violations past retention deleted');
          })
          .catch((error: unknown) => log.warn({ error: errorMessage(error) }, 'admission violations could not be pruned; retried with a later batch'));
      }
      return result;
    },
    list: (filter) => store.listAdmissionViolations(filter),
  };
}

import type { Clock, Logger } from '../core/index.js';
import { createAdmissionHandler, type AdmissionHandler, type AuditSink, type NamespaceLookup } from './admission.js';
import { bindAssignments, createPolicyEngine, type ObjectLookup, type PolicyEngine } from './engine.js';
import { createImageGate, createHttpFindingsLookup, pinnedDigestOnly, type DigestResolver, type FindingsLookup, type ImageGate } from './gating.js';
import { loadAssignmentsFile, loadLibrary, type PolicyLibrary } from './load.js';
import type { Assignment, AssignmentsFile } from './schema.js';

/**
 * Composition of the admission side: library (built-ins + user policy directories) → assignments →
 * engine, plus the image gate when the assignments file configures gating. Every configuration
 * error (unknown policy, bad parameter, syntax error in a policy file) surfaces here, at start-up.
 */

/** Used when no assignments file is given: the restricted-leaning defaults Defender audits with. */
export const DEFAULT_ASSIGNMENTS: Assignment[] = [
  { name: 'pod-security-baseline', initiative: 'pod-security-baseline', effect: 'Deny', match: {}, parameters: {} },
  { name: 'pod-security-restricted', initiative: 'pod-security-restricted', effect: 'Audit', match: {}, parameters: {} },
];

export interface PolicyRuntime {
  library: PolicyLibrary;
  config: AssignmentsFile;
  engine: PolicyEngine;
  gate: ImageGate | undefined;
}

export interface PolicyRuntimeOptions {
  assignmentsFile?: string;
  /** Extra user policy directories (beside those the assignments file names). */
  policyDirs?: readonly string[];
  /** Other cluster objects for policies with lookups (the webhook's cluster cache, an inventory). */
  objects?: ObjectLookup;
  /** Findings API base URL; overrides the assignments file's gating.server. */
  server?: string;
  serverToken?: string;
  lookup?: FindingsLookup;
  resolve?: DigestResolver;
  clock: Clock;
  log: Logger;
}

export function createPolicyRuntime(options: PolicyRuntimeOptions): PolicyRuntime {
  const config: AssignmentsFile = options.assignmentsFile
    ? loadAssignmentsFile(options.assignmentsFile)
    : { assignments: DEFAULT_ASSIGNMENTS, policyDirs: [] };
  const library = loadLibrary([...config.policyDirs, ...(options.policyDirs ?? [])]);
  const engine = createPolicyEngine(bindAssignments(library, config.assignments), options.objects);
  let gate: ImageGate | undefined;
  const gating = config.gating;
  if (gating && gating.rules.length > 0) {
    const server = options.server ?? gating.server;
    const lookup = options.lookup ?? (server ? createHttpFindingsLookup({ server, clock: options.clock, ...(options.serverToken ? { token: options.serverToken } : {}) }) : undefined);
    if (lookup === undefined) {
      options.log.warn({}, 'gating rules are configured but no findings server is: pass --server URL or set gating.server; gating is off');
    } else {
      gate = createImageGate({ config: gating, lookup, resolve: options.resolve ?? pinnedDigestOnly, clock: options.clock, log: options.log });
    }
  }
  return { library, config, engine, gate };
}

/** The kinds the assigned policies look up (what the webhook's cluster cache must list). */
export function lookupKinds(engine: PolicyEngine): string[] {
  return [...new Set(engine.assignments.flatMap((a) => a.policy.policy.lookups.map((l) => l.kind)))].sort();
}

export function createRuntimeHandler(runtime: PolicyRuntime, deps: { audit: AuditSink; namespaces?: NamespaceLookup; clock: Clock; log: Logger; budgetMs?: number }): AdmissionHandler {
  return createAdmissionHandler({
    engine: runtime.engine,
    ...(runtime.gate ? { gate: runtime.gate } : {}),
    ...(deps.namespaces ? { namespaces: deps.namespaces } : {}),
    audit: deps.audit,
    clock: deps.clock,
    log: deps.log,
    ...(deps.budgetMs !== undefined ? { budgetMs: deps.budgetMs } : {}),
  });
}

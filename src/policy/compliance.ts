import type { Inventory } from '../kube/index.js';
import { auditInventory } from './audit.js';
import { bindAssignments, createPolicyEngine, type PolicyEngine } from './engine.js';
import { loadAssignmentsFile, loadLibrary } from './load.js';
import { DEFAULT_ASSIGNMENTS } from './runtime.js';

/**
 * The compliance audit as the server runs it on each cluster sync: the assignments of
 * `palisade policy audit` (an assignments file and policy directories; the built-in Pod Security
 * baseline Deny + restricted Audit when no file is given), judged on the inventory the sync already
 * built. Violations are kept up to a cap per assignment; non-compliant objects none of whose
 * violations is kept are counted as unlisted.
 */

export interface ComplianceAuditorOptions {
  assignmentsFile?: string;
  policyDirs?: readonly string[];
  maxViolationsPerPolicy: number;
}

/** One assignment's compliance in a cluster, as the server stores it (src/store/clusters.ts). */
export interface AuditedAssignment {
  assignment: string;
  policyId: string;
  title: string;
  severity: string;
  effect: string;
  /** Objects the assignment applies to that pass, fail, or could not be evaluated. */
  compliant: number;
  nonCompliant: number;
  errors: number;
  /** Non-compliant objects none of whose violations is kept (over the cap). */
  unlistedObjects: number;
  /** '(cluster)' for cluster-scoped objects. */
  namespaces: { namespace: string; compliant: number; nonCompliant: number }[];
  /** The violating objects (namespace '' for cluster-scoped objects). */
  violations: { kind: string; namespace: string; name: string; message: string; field?: string }[];
}

export interface ClusterComplianceResult {
  objects: number;
  skipped: Record<string, number>;
  assignments: AuditedAssignment[];
}

export interface ComplianceAuditor {
  readonly engine: PolicyEngine;
  audit(inventory: Inventory): ClusterComplianceResult;
}

/** Loads the library and binds the assignments now, so that a bad file or policy stops start-up with its file and line. */
export function createComplianceAuditor(options: ComplianceAuditorOptions): ComplianceAuditor {
  const config = options.assignmentsFile ? loadAssignmentsFile(options.assignmentsFile) : { assignments: DEFAULT_ASSIGNMENTS, policyDirs: [] };
  const library = loadLibrary([...config.policyDirs, ...(options.policyDirs ?? [])]);
  const engine = createPolicyEngine(bindAssignments(library, config.assignments));
  return {
    engine,
    audit(inventory) {
      const report = auditInventory(engine, inventory, options.maxViolationsPerPolicy);
      return {
        objects: report.objects,
        skipped: report.skipped,
        assignments: report.policies.map((p) => {
          const listed = new Set(p.violations.map((v) => `${v.kind}\u0000${v.namespace}\u0000${v.name}`));
          return {
            assignment: p.assignment,
            policyId: p.policyId,
            title: p.title,
            severity: p.severity,
            effect: p.effect,
            compliant: p.compliant,
            nonCompliant: p.nonCompliant,
            errors: p.errors,
            unlistedObjects: Math.max(0, p.nonCompliant - listed.size),
            namespaces: Object.entries(p.byNamespace)
              .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
              .map(([namespace, counts]) => ({ namespace, compliant: counts.compliant, nonCompliant: counts.nonCompliant })),
            violations: p.violations.map((v) => ({ kind: v.kind, namespace: v.namespace, name: v.name, message: v.message, ...(v.field !== undefined ? { field: v.field } : {}) })),
          };
        }),
      };
    },
  };
}

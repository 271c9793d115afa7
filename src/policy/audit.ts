import { KNOWN_KINDS, type Inventory } from '../kube/index.js';
import { createPolicyEngine, isJson, staticObjectLookup, type Json, type PolicyEngine, type Violation } from './engine.js';

/**
 * The audit sweep: evaluates every object of an inventory (files or a live cluster) against the
 * assignments as if it were created now, and reports compliance per policy and namespace, with the
 * violating objects. Effects do not change the verdict here: Deny, Warn and Audit all count.
 */

export interface ObjectViolation {
  kind: string;
  namespace: string;
  name: string;
  message: string;
  field?: string;
}

export interface PolicyCompliance {
  policyId: string;
  assignment: string;
  title: string;
  severity: Violation['severity'];
  effect: Violation['effect'];
  compliant: number;
  nonCompliant: number;
  errors: number;
  byNamespace: Record<string, { compliant: number; nonCompliant: number }>;
  violations: ObjectViolation[];
}

export interface ComplianceReport {
  cluster: string;
  objects: number;
  policies: PolicyCompliance[];
  /** Objects that could not be judged (unknown kinds are listed by count). */
  skipped: Record<string, number>;
}

const CLUSTER = '(cluster)';

function meta(obj: Json, key: 'name' | 'namespace'): string {
  const m = obj.metadata;
  const v = isJson(m) ? m[key] : undefined;
  return typeof v === 'string' ? v : '';
}

function apiVersionOf(obj: Json): { group: string; version: string } {
  const av = typeof obj.apiVersion === 'string' ? obj.apiVersion : 'v1';
  const slash = av.indexOf('/');
  return slash < 0 ? { group: '', version: av } : { group: av.slice(0, slash), version: av.slice(slash + 1) };
}

export function auditInventory(engine: PolicyEngine, inventory: Inventory, maxViolationsPerPolicy = 1000): ComplianceReport {
  const byAssignment = new Map<string, PolicyCompliance>();
  for (const a of engine.assignments) {
    byAssignment.set(a.name, {
      policyId: a.policy.policy.id,
      assignment: a.name,
      title: a.policy.policy.title,
      severity: a.policy.policy.severity,
      effect: a.effect,
      compliant: 0,
      nonCompliant: 0,
      errors: 0,
      byNamespace: {},
      violations: [],
    });
  }
  const namespaces = new Map<string, Json>();
  for (const ns of inventory.objects.Namespace) {
    const obj: unknown = ns;
    if (isJson(obj)) namespaces.set(meta(obj, 'name'), obj);
  }
  const all: Json[] = [];
  for (const kind of KNOWN_KINDS) {
    for (const item of inventory.objects[kind]) {
      const raw: unknown = item;
      if (isJson(raw)) all.push({ ...raw, kind });
    }
  }
  // Policies with lookups (unique selectors ...) compare each object with the rest of the inventory.
  const judge = createPolicyEngine(engine.assignments, staticObjectLookup(all));
  let objects = 0;
  for (const kind of KNOWN_KINDS) {
    for (const item of inventory.objects[kind]) {
      const raw: unknown = item;
      if (!isJson(raw)) continue;
      objects += 1;
      const obj: Json = { ...raw, kind };
      const namespace = meta(obj, 'namespace');
      const name = meta(obj, 'name');
      const { group, version } = apiVersionOf(obj);
      const result = judge.evaluate({
        operation: 'CREATE',
        group,
        version,
        kind,
        namespace,
        name,
        object: obj,
        oldObject: null,
        request: {
          uid: `audit-${kind}-${namespace}-${name}`,
          kind: { group, version, kind },
          operation: 'CREATE',
          name,
          namespace,
          userInfo: { username: 'palisade:audit', groups: [] },
          dryRun: true,
        },
        namespaceObject: namespaces.get(namespace) ?? null,
      });
      const failed = new Map<string, Violation[]>();
      for (const v of result.violations) failed.set(v.assignment, [...(failed.get(v.assignment) ?? []), v]);
      const errored = new Set(result.errors.map((e) => e.assignment));
      for (const assignment of result.applicable) {
        const entry = byAssignment.get(assignment);
        if (!entry) continue;
        const nsKey = namespace === '' ? CLUSTER : namespace;
        const bucket = (entry.byNamespace[nsKey] ??= { compliant: 0, nonCompliant: 0 });
        const vs = failed.get(assignment);
        if (errored.has(assignment)) entry.errors += 1;
        if (vs && vs.length > 0) {
          entry.nonCompliant += 1;
          bucket.nonCompliant += 1;
          for (const v of vs) {
            if (entry.violations.length >= maxViolationsPerPolicy) break;
            entry.violations.push({ kind, namespace, name, message: v.message, ...(v.field ? { field: v.field } : {}) });
          }
        } else if (!errored.has(assignment)) {
          entry.compliant += 1;
          bucket.compliant += 1;
        }
      }
    }
  }
  const policies = [...byAssignment.values()]
    .filter((p) => p.compliant + p.nonCompliant + p.errors > 0)
    .sort((a, b) => b.nonCompliant - a.nonCompliant || a.assignment.localeCompare(b.assignment));
  return { cluster: inventory.cluster, objects, policies, skipped: { ...inventory.unknownCounts } };
}

/** A plain-text compliance table, one line per policy and one per namespace with violations. */
export function formatComplianceReport(report: ComplianceReport): string {
  const lines: string[] = [`Compliance of ${report.objects} objects in ${report.cluster}`, ''];
  lines.push(`${'POLICY (ASSIGNMENT)'.padEnd(64)} ${'EFFECT'.padEnd(7)} ${'OK'.padStart(6)} ${'FAIL'.padStart(6)}`);
  for (const p of report.policies) {
    const label = p.assignment === p.policyId ? p.policyId : `${p.policyId} (${p.assignment})`;
    lines.push(`${label.slice(0, 64).padEnd(64)} ${p.effect.padEnd(7)} ${String(p.compliant).padStart(6)} ${String(p.nonCompliant).padStart(6)}${p.errors ? `  errors ${p.errors}` : ''}`);
    for (const [ns, counts] of Object.entries(p.byNamespace).sort(([a], [b]) => a.localeCompare(b))) {
      if (counts.nonCompliant > 0) lines.push(`  ${ns.padEnd(62)} ${''.padEnd(7)} ${String(counts.compliant).padStart(6)} ${String(counts.nonCompliant).padStart(6)}`);
    }
  }
  const skipped = Object.entries(report.skipped);
  if (skipped.length > 0) lines.push('', `not judged (kinds Palisade does not model): ${skipped.map(([k, n]) => `${k} ${n}`).join(', ')}`);
  return `${lines.join('\n')}\n`;
}

import type { Inventory } from './inventory.js';
import type { ClusterRole, PolicyRule, Subject } from './model.js';
import { selectorMatches } from './selector.js';

/**
 * RBAC resolution: ClusterRole aggregation rules, bindings → subjects, and the effective grants of
 * a subject (a service account also gets what its groups get: system:serviceaccounts,
 * system:serviceaccounts:<ns>, system:authenticated).
 */

export type Grant = {
  verbs: string[];
  apiGroups: string[];
  resources: string[];
  resourceNames: string[];
  nonResourceURLs: string[];
  /** '*' for cluster-wide (a ClusterRoleBinding), else the namespace of the RoleBinding. */
  scope: string;
  /** "ClusterRole/cluster-admin" or "Role/ns/name". */
  role: string;
  /** "ClusterRoleBinding/name" or "RoleBinding/ns/name". */
  binding: string;
};

export interface BindingInfo {
  id: string;
  kind: 'RoleBinding' | 'ClusterRoleBinding';
  namespace: string;
  name: string;
  roleKind: string;
  roleName: string;
  /** The role's id, "ClusterRole/name" or "Role/ns/name". */
  role: string;
  subjects: Subject[];
  rules: PolicyRule[];
  /** The role does not exist in the inventory. */
  roleMissing: boolean;
}

export interface Rbac {
  clusterRoleRules: Map<string, PolicyRule[]>;
  bindings: BindingInfo[];
  /** Grants per subject key (see subjectKey). */
  grantsBySubject: Map<string, Grant[]>;
}

export function subjectKey(subject: Pick<Subject, 'kind' | 'name' | 'namespace'>): string {
  return subject.kind === 'ServiceAccount' ? `ServiceAccount:${subject.namespace ?? ''}:${subject.name}` : `${subject.kind}:${subject.name}`;
}

/** Resolves aggregation: an aggregated ClusterRole gets the rules of every ClusterRole its selectors match. */
export function resolveClusterRoles(roles: readonly ClusterRole[]): Map<string, PolicyRule[]> {
  const byName = new Map(roles.map((r) => [r.metadata.name ?? '', r]));
  const resolved = new Map<string, PolicyRule[]>();
  const resolving = new Set<string>();
  const resolve = (role: ClusterRole): PolicyRule[] => {
    const name = role.metadata.name ?? '';
    const done = resolved.get(name);
    if (done !== undefined) return done;
    const own = role.rules ?? [];
    const selectors = role.aggregationRule?.clusterRoleSelectors ?? [];
    if (selectors.length === 0 || resolving.has(name)) return own;
    resolving.add(name);
    const rules = [...own];
    const seen = new Set(own.map((r) => JSON.stringify(r)));
    for (const other of roles) {
      if (other === role || !selectors.some((s) => selectorMatches(s, other.metadata.labels))) continue;
      for (const rule of resolve(other)) {
        const key = JSON.stringify(rule);
        if (seen.has(key)) continue;
        seen.add(key);
        rules.push(rule);
      }
    }
    resolving.delete(name);
    resolved.set(name, rules);
    return rules;
  };
  for (const role of byName.values()) resolved.set(role.metadata.name ?? '', resolve(role));
  return resolved;
}

export function resolveRbac(inv: Inventory): Rbac {
  const clusterRoleRules = resolveClusterRoles(inv.objects.ClusterRole);
  const roleRules = new Map(inv.objects.Role.map((r) => [`${r.metadata.namespace ?? ''}/${r.metadata.name ?? ''}`, r.rules ?? []]));
  const bindings: BindingInfo[] = [];
  const grantsBySubject = new Map<string, Grant[]>();

  const add = (kind: BindingInfo['kind'], namespace: string, name: string, roleRef: { kind: string; name: string }, subjects: Subject[]): void => {
    const isCluster = roleRef.kind === 'ClusterRole';
    const rules = isCluster ? clusterRoleRules.get(roleRef.name) : roleRules.get(`${namespace}/${roleRef.name}`);
    const role = isCluster ? `ClusterRole/${roleRef.name}` : `Role/${namespace}/${roleRef.name}`;
    const id = kind === 'ClusterRoleBinding' ? `ClusterRoleBinding/${name}` : `RoleBinding/${namespace}/${name}`;
    const info: BindingInfo = { id, kind, namespace, name, roleKind: roleRef.kind, roleName: roleRef.name, role, subjects, rules: rules ?? [], roleMissing: rules === undefined };
    bindings.push(info);
    const scope = kind === 'ClusterRoleBinding' ? '*' : namespace;
    for (const subject of subjects) {
      // A subject of a RoleBinding without a namespace is in the binding's namespace.
      const key = subjectKey({ ...subject, namespace: subject.namespace ?? (subject.kind === 'ServiceAccount' ? namespace : undefined) });
      const list = grantsBySubject.get(key) ?? [];
      for (const rule of info.rules) {
        list.push({
          verbs: rule.verbs,
          apiGroups: rule.apiGroups ?? [],
          resources: rule.resources ?? [],
          resourceNames: rule.resourceNames ?? [],
          nonResourceURLs: rule.nonResourceURLs ?? [],
          scope,
          role,
          binding: id,
        });
      }
      grantsBySubject.set(key, list);
    }
  };
  for (const b of inv.objects.ClusterRoleBinding) add('ClusterRoleBinding', '', b.metadata.name ?? '', b.roleRef, b.subjects ?? []);
  for (const b of inv.objects.RoleBinding) add('RoleBinding', b.metadata.namespace ?? '', b.metadata.name ?? '', b.roleRef, b.subjects ?? []);
  bindings.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { clusterRoleRules, bindings, grantsBySubject };
}

/** Everything a service account may do: its own grants and its groups'. */
export function serviceAccountGrants(rbac: Rbac, namespace: string, name: string): Grant[] {
  return [
    ...(rbac.grantsBySubject.get(subjectKey({ kind: 'ServiceAccount', namespace, name })) ?? []),
    ...(rbac.grantsBySubject.get(`Group:system:serviceaccounts:${namespace}`) ?? []),
    ...(rbac.grantsBySubject.get('Group:system:serviceaccounts') ?? []),
    ...(rbac.grantsBySubject.get('Group:system:authenticated') ?? []),
  ];
}

export interface AccessQuestion {
  verb: string;
  /** API group: '' for the core group. */
  group: string;
  /** Resource, with subresource as "pods/exec". */
  resource: string;
  /** Namespace asked about; undefined asks for cluster-wide access (a ClusterRoleBinding). */
  namespace?: string;
}

function has(list: readonly string[], value: string): boolean {
  return list.includes('*') || list.includes(value);
}

function resourceMatches(list: readonly string[], resource: string): boolean {
  if (list.includes('*') || list.includes(resource)) return true;
  const slash = resource.indexOf('/');
  return slash > 0 && list.includes(`*${resource.slice(slash)}`);
}

/** The grants that allow the access (empty: not allowed). Grants limited to resourceNames count. */
export function grantsAllowing(grants: readonly Grant[], q: AccessQuestion): Grant[] {
  return grants.filter(
    (g) =>
      has(g.verbs, q.verb) &&
      has(g.apiGroups, q.group) &&
      resourceMatches(g.resources, q.resource) &&
      (g.scope === '*' || (q.namespace !== undefined && g.scope === q.namespace)),
  );
}

/** RBAC risks a set of grants carries, as flags (service accounts, users and groups alike). */
export type RbacRisks = {
  clusterAdmin: boolean;
  wildcard: boolean;
  readSecrets: boolean;
  readSecretsClusterWide: boolean;
  createPods: boolean;
  exec: boolean;
  escalate: boolean;
  bind: boolean;
  impersonate: boolean;
  nodeProxy: boolean;
};

const WORKLOAD_RESOURCES: readonly [string, string][] = [
  ['', 'pods'],
  ['apps', 'deployments'],
  ['apps', 'daemonsets'],
  ['apps', 'statefulsets'],
  ['apps', 'replicasets'],
  ['batch', 'jobs'],
  ['batch', 'cronjobs'],
];

function anyScope(grants: readonly Grant[], verb: string, group: string, resource: string): boolean {
  return grants.some((g) => has(g.verbs, verb) && has(g.apiGroups, group) && resourceMatches(g.resources, resource));
}

export function rbacRisks(grants: readonly Grant[]): RbacRisks {
  const clusterWide = grants.filter((g) => g.scope === '*');
  const readSecrets = (list: readonly Grant[]): boolean =>
    ['get', 'list', 'watch'].some((verb) => list.some((g) => g.resourceNames.length === 0 && has(g.verbs, verb) && has(g.apiGroups, '') && resourceMatches(g.resources, 'secrets')));
  return {
    clusterAdmin: clusterWide.some((g) => g.verbs.includes('*') && g.apiGroups.includes('*') && g.resources.includes('*')),
    wildcard: grants.some((g) => g.verbs.includes('*') || g.resources.includes('*')),
    readSecrets: readSecrets(grants),
    readSecretsClusterWide: readSecrets(clusterWide),
    createPods: WORKLOAD_RESOURCES.some(([group, resource]) => anyScope(grants, 'create', group, resource)),
    exec: anyScope(grants, 'create', '', 'pods/exec') || anyScope(grants, 'get', '', 'pods/exec') || anyScope(grants, 'create', '', 'pods/attach'),
    escalate: anyScope(grants, 'escalate', 'rbac.authorization.k8s.io', 'roles') || anyScope(grants, 'escalate', 'rbac.authorization.k8s.io', 'clusterroles'),
    bind: anyScope(grants, 'bind', 'rbac.authorization.k8s.io', 'roles') || anyScope(grants, 'bind', 'rbac.authorization.k8s.io', 'clusterroles'),
    impersonate: ['users', 'groups', 'serviceaccounts'].some((r) => anyScope(grants, 'impersonate', '', r)),
    nodeProxy: anyScope(grants, 'get', '', 'nodes/proxy') || anyScope(grants, 'create', '', 'nodes/proxy'),
  };
}

import { describe, expect, it } from 'vitest';
import { grantsAllowing, rbacRisks, resolveClusterRoles, type Grant } from './rbac.js';
import { KIND_SCHEMAS } from './model.js';

function grant(verbs: string[], apiGroups: string[], resources: string[], scope = '*', resourceNames: string[] = []): Grant {
  return { verbs, apiGroups, resources, resourceNames, nonResourceURLs: [], scope, role: 'ClusterRole/r', binding: 'ClusterRoleBinding/b' };
}

describe('grantsAllowing', () => {
  it.each([
    [[grant(['get'], [''], ['secrets'])], { verb: 'get', group: '', resource: 'secrets' }, 1],
    [[grant(['get'], [''], ['secrets'], 'shop')], { verb: 'get', group: '', resource: 'secrets' }, 0],
    [[grant(['get'], [''], ['secrets'], 'shop')], { verb: 'get', group: '', resource: 'secrets', namespace: 'shop' }, 1],
    [[grant(['*'], ['*'], ['*'])], { verb: 'create', group: '', resource: 'pods/exec', namespace: 'x' }, 1],
    [[grant(['create'], [''], ['*/exec'])], { verb: 'create', group: '', resource: 'pods/exec' }, 1],
    [[grant(['create'], ['apps'], ['pods'])], { verb: 'create', group: '', resource: 'pods' }, 0],
  ])('%j allows %j: %i grants', (grants, question, n) => {
    expect(grantsAllowing(grants, question)).toHaveLength(n);
  });
});

describe('rbacRisks', () => {
  it.each([
    ['cluster-admin', [grant(['*'], ['*'], ['*'])], ['clusterAdmin', 'wildcard', 'readSecrets', 'readSecretsClusterWide', 'createPods', 'exec', 'escalate', 'bind', 'impersonate', 'nodeProxy']],
    ['namespaced secret reader', [grant(['list'], [''], ['secrets'], 'shop')], ['readSecrets']],
    ['secret reader limited by resourceNames', [grant(['get'], [''], ['secrets'], '*', ['app-token'])], []],
    ['deployment creator', [grant(['create'], ['apps'], ['deployments'], 'ci')], ['createPods']],
    ['rbac binder', [grant(['bind'], ['rbac.authorization.k8s.io'], ['clusterroles'])], ['bind']],
    ['impersonator', [grant(['impersonate'], [''], ['serviceaccounts'])], ['impersonate']],
    ['kubelet proxy', [grant(['get'], [''], ['nodes/proxy'])], ['nodeProxy']],
    ['read-only pods', [grant(['get', 'list', 'watch'], [''], ['pods'])], []],
  ])('%s', (_name, grants, expected) => {
    const risks = rbacRisks(grants);
    expect(Object.entries(risks).filter(([, v]) => v).map(([k]) => k)).toEqual(expected);
  });
});

describe('resolveClusterRoles', () => {
  it('aggregates rules of matching roles, also through nested aggregated roles, without looping', () => {
    const roles = [
      { kind: 'ClusterRole', metadata: { name: 'top' }, aggregationRule: { clusterRoleSelectors: [{ matchLabels: { agg: 'top' } }] } },
      { kind: 'ClusterRole', metadata: { name: 'mid', labels: { agg: 'top' } }, aggregationRule: { clusterRoleSelectors: [{ matchLabels: { agg: 'mid' } }] } },
      { kind: 'ClusterRole', metadata: { name: 'leaf', labels: { agg: 'mid' } }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }] },
      { kind: 'ClusterRole', metadata: { name: 'loop', labels: { agg: 'loop' } }, aggregationRule: { clusterRoleSelectors: [{ matchLabels: { agg: 'loop' } }] }, rules: [{ apiGroups: [''], resources: ['nodes'], verbs: ['list'] }] },
    ].map((r) => KIND_SCHEMAS.ClusterRole.parse(r));
    const resolved = resolveClusterRoles(roles);
    expect(resolved.get('top')?.map((r) => r.resources?.join())).toEqual(['pods']);
    expect(resolved.get('mid')?.map((r) => r.resources?.join())).toEqual(['pods']);
    expect(resolved.get('loop')?.map((r) => r.resources?.join())).toEqual(['nodes']);
  });
});

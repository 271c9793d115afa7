import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import type { Finding } from '../../src/core/index.js';
import { findingSchema, type Store } from '../../src/store/index.js';
import type { ReplayAnswer } from './kube-api.js';

/**
 * Fixtures of the server's cluster tests: the offline fixture cluster of src/kube, the objects a
 * replayed "live" cluster serves in two phases (what changes between two syncs), and scan results
 * written through the store's own job path (claim, then finishScan) so running images have findings.
 */

export const KUBE_FIXTURES = resolve(import.meta.dirname, '../../src/kube/__fixtures__');
/** The digest nginx:1.25.3 runs as in the fixture cluster (and in the replayed one). */
export const NGINX_DIGEST = 'sha256:4c0fdaa8b6341bfdeca5f18f7837462c80cff90527ee35ef185571e1c327beac';
export const BUSYBOX_DIGEST = 'sha256:9ae97d36d26566ff84e8893c64a6dc4fe8ca6d1144bf5b87b2b85a32def253c7';

/** The findings of the fixture scan report of nginx:1.25.3 (a real `palisade scan --format json` shape). */
export function nginxFindings(): Finding[] {
  const report = z.object({ findings: z.array(findingSchema) }).parse(JSON.parse(readFileSync(resolve(KUBE_FIXTURES, 'scans/nginx.json'), 'utf8')));
  return report.findings;
}

/** Records a push of `ref` and stores a finished pull scan with these findings, as a worker would. */
export async function storeScanResult(store: Store, image: { registry: string; repository: string; tag: string; digest: string }, findings: Finding[], at: Date): Promise<void> {
  await store.recordPush(image, at);
  await store.enqueue({ kind: 'scan', digest: image.digest, registry: image.registry, repository: image.repository }, at);
  const job = await store.claim('fixture-worker', 60_000, at, 3);
  if (!job || job.digest !== image.digest) throw new Error(`expected the scan job of ${image.digest}`);
  const result = await store.finishScan(job, 'fixture-worker', { kind: 'pull', worker: 'fixture-worker', startedAt: at.toISOString(), sbom: { packages: findings.map((f) => f.package) }, findings }, at);
  if (!result.committed) throw new Error('the fixture scan was not committed');
}

function pod(namespace: string, name: string, options: { image: string; digest?: string; owner?: { kind: string; name: string }; privileged?: boolean; node?: string }) {
  return {
    metadata: {
      name,
      namespace,
      uid: `uid-${namespace}-${name}`,
      resourceVersion: '900',
      labels: { app: name.split('-')[0] ?? name },
      ...(options.owner ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: options.owner.kind, name: options.owner.name, uid: `uid-${options.owner.name}`, controller: true }] } : {}),
    },
    spec: {
      nodeName: options.node ?? 'node-1',
      serviceAccountName: 'default',
      containers: [
        {
          name: name.split('-')[0] ?? name,
          image: options.image,
          imagePullPolicy: 'IfNotPresent',
          resources: { limits: { cpu: '500m', memory: '256Mi' } },
          ...(options.privileged ? { securityContext: { privileged: true } } : {}),
        },
      ],
    },
    status: options.digest
      ? { phase: 'Running', containerStatuses: [{ name: name.split('-')[0] ?? name, ready: true, image: options.image, imageID: `${options.image.split(':')[0] ?? ''}@${options.digest}` }] }
      : { phase: 'Pending' },
  };
}

/**
 * The replayed cluster. Phase 1: a Deployment running nginx, a privileged naked pod, a pending pod
 * with no digest, a RoleBinding granting pods/exec; cluster role bindings are forbidden (403) and
 * cron jobs never answer. Phase 2: the privileged pod is gone, a cluster-admin binding is readable,
 * and role bindings are now forbidden (so their recommendation stays open, unconfirmed).
 */
export function replayCluster(phase: 1 | 2): Record<string, ReplayAnswer> {
  const forbidden = (resource: string, group: string): ReplayAnswer => ({
    status: 403,
    reason: 'Forbidden',
    message: `${resource}.${group} is forbidden: User "system:serviceaccount:palisade:collector" cannot list resource "${resource}" in API group "${group}" at the cluster scope`,
  });
  const pods = [
    pod('shop', 'api-5f7d8c9b6-q4w8e', { image: 'nginx:1.25.3', digest: NGINX_DIGEST, owner: { kind: 'ReplicaSet', name: 'api-5f7d8c9b6' } }),
    pod('kube-system', 'coredns-5d78c9869d-8xk2p', { image: 'registry.k8s.io/coredns/coredns:v1.11.1', node: 'node-2' }),
  ];
  if (phase === 1) pods.push(pod('shop', 'debug', { image: 'busybox:1.36', digest: BUSYBOX_DIGEST, privileged: true }));
  return {
    '/api/v1/namespaces': { items: ['shop', 'kube-system'].map((name) => ({ metadata: { name, labels: { 'kubernetes.io/metadata.name': name } }, status: { phase: 'Active' } })) },
    '/api/v1/nodes': {
      items: [
        { metadata: { name: 'node-1' }, status: { allocatable: { cpu: '4', memory: '16Gi' }, addresses: [{ type: 'InternalIP', address: '10.0.0.11' }] } },
        { metadata: { name: 'node-2' }, status: { allocatable: { cpu: '1500m', memory: '4Gi' }, addresses: [{ type: 'InternalIP', address: '10.0.0.12' }] } },
      ],
    },
    '/api/v1/pods': { items: pods },
    '/apis/apps/v1/deployments': {
      items: [
        {
          metadata: { name: 'api', namespace: 'shop', uid: 'uid-api' },
          spec: { replicas: 1, selector: { matchLabels: { app: 'api' } }, template: { metadata: { labels: { app: 'api' } }, spec: { containers: [{ name: 'api', image: 'nginx:1.25.3' }] } } },
        },
      ],
    },
    '/apis/apps/v1/replicasets': {
      items: [
        {
          metadata: { name: 'api-5f7d8c9b6', namespace: 'shop', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'api', uid: 'uid-api', controller: true }] },
          spec: { replicas: 1, template: { spec: { containers: [{ name: 'api', image: 'nginx:1.25.3' }] } } },
        },
      ],
    },
    '/apis/batch/v1/cronjobs': 'hang',
    '/apis/rbac.authorization.k8s.io/v1/roles': {
      items: [{ metadata: { name: 'pod-exec', namespace: 'shop' }, rules: [{ apiGroups: [''], resources: ['pods', 'pods/exec'], verbs: ['get', 'create'] }] }],
    },
    '/apis/rbac.authorization.k8s.io/v1/rolebindings':
      phase === 1
        ? { items: [{ metadata: { name: 'exec-for-alice', namespace: 'shop' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'pod-exec' }, subjects: [{ kind: 'User', name: 'alice@example.com' }] }] }
        : forbidden('rolebindings', 'rbac.authorization.k8s.io'),
    '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings':
      phase === 1
        ? forbidden('clusterrolebindings', 'rbac.authorization.k8s.io')
        : { items: [{ metadata: { name: 'oncall-admin' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' }, subjects: [{ kind: 'Group', name: 'oncall' }] }] },
  };
}

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { computeAttackPaths } from './paths.js';
import { findingsFromScanReports } from './findings.js';
import { inventoryFromFiles } from './files.js';
import { buildGraph, runningImages, type KubeGraph } from './graph.js';
import { inventoryCounts, type Inventory } from './inventory.js';
import { runPosture } from './posture/posture.js';
import { compileQuery } from './query.js';
import { postureSarif, renderPostureTable } from './render.js';

/**
 * The fixture cluster (src/kube/__fixtures__/cluster: a kubectl get -A -o json List, kubectl-apply
 * manifests, helm template output and RBAC manifests; 62 objects) with two scan reports. Its
 * recommendations and attack paths are asserted exactly.
 */

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));
let inventory: Inventory;
let graph: KubeGraph;

beforeAll(async () => {
  inventory = await inventoryFromFiles([here('./__fixtures__/cluster')], 'demo');
  const findings = await findingsFromScanReports([here('./__fixtures__/scans/nginx.json'), here('./__fixtures__/scans/node-exporter.json')]);
  graph = buildGraph([inventory], { findings });
});

describe('fixture cluster inventory', () => {
  it('reads every file format and counts objects per kind', () => {
    expect(inventoryCounts(inventory)).toEqual({
      ClusterRole: 8,
      ClusterRoleBinding: 5,
      ConfigMap: 2,
      CronJob: 1,
      DaemonSet: 1,
      Deployment: 5,
      Ingress: 2,
      Namespace: 6,
      NetworkPolicy: 2,
      Node: 2,
      Pod: 3,
      ReplicaSet: 1,
      Role: 1,
      RoleBinding: 2,
      Secret: 1,
      Service: 7,
      ServiceAccount: 9,
      StatefulSet: 1,
      ValidatingWebhookConfiguration: 1,
    });
    const total = Object.values(inventoryCounts(inventory)).reduce((a, b) => a + b, 0) + inventory.unknown.length;
    expect(total).toBe(62);
  });

  it('keeps unknown kinds and objects that do not fit their schema, counted, with the reason', () => {
    expect(inventory.unknownCounts).toEqual({ 'cert-manager.io/v1/Certificate': 1, 'v1/Pod': 1 });
    expect(inventory.unknown.map((u) => `${u.kind} ${u.namespace}/${u.name}: ${u.reason}`)).toEqual([
      'Certificate shop/web-tls: unknown kind cert-manager.io/v1/Certificate',
      'Pod default/broken: does not fit the Pod schema at spec.containers: Invalid input: expected array, received string',
    ]);
    expect(inventory.problems).toEqual([]);
  });

  it('never keeps Secret or ConfigMap values, nor the last-applied annotation that copies them', () => {
    const secret = inventory.objects.Secret[0];
    expect(secret?.type).toBe('kubernetes.io/tls');
    expect(JSON.stringify(inventory.objects.Secret)).not.toContain('c3VwZXItc2VjcmV0LWtleQ==');
    expect(JSON.stringify(inventory.objects.Secret)).not.toContain('c2VjcmV0');
    expect(JSON.stringify(inventory.objects.ConfigMap)).not.toContain('worker_processes');
  });

  it('gives the running images with the digests from pod status', () => {
    expect(runningImages(graph)).toEqual([
      { cluster: 'demo', namespace: 'default', pod: 'debug', container: 'debug', image: 'busybox', digest: 'sha256:9ae97d36d26566ff84e8893c64a6dc4fe8ca6d1144bf5b87b2b85a32def253c7' },
      { cluster: 'demo', namespace: 'shop', pod: 'web-7d9c6b5f48-k8s7d', container: 'nginx', image: 'nginx:1.25.3', digest: 'sha256:4c0fdaa8b6341bfdeca5f18f7837462c80cff90527ee35ef185571e1c327beac' },
      { cluster: 'demo', namespace: 'shop', pod: 'web-7d9c6b5f48-x2x4q', container: 'nginx', image: 'nginx:1.25.3', digest: 'sha256:4c0fdaa8b6341bfdeca5f18f7837462c80cff90527ee35ef185571e1c327beac' },
    ]);
  });

  it('links cluster → namespace → controller → pod → container → image, services → pods, and RBAC', () => {
    const edges = new Set(graph.edges.map((e) => `${e.type} ${e.from} → ${e.to}`));
    for (const expected of [
      'contains demo → demo/Namespace/shop',
      'maintains demo/Deployment/shop/web → demo/ReplicaSet/shop/web-7d9c6b5f48',
      'maintains demo/Deployment/shop/web → demo/Pod/shop/web-7d9c6b5f48-x2x4q',
      'runs demo/Pod/shop/web-7d9c6b5f48-x2x4q → demo/Pod/shop/web-7d9c6b5f48-x2x4q/nginx',
      'uses-image demo/Pod/shop/web-7d9c6b5f48-x2x4q/nginx → image/sha256:4c0fdaa8b6341bfdeca5f18f7837462c80cff90527ee35ef185571e1c327beac',
      'routes-to demo/Service/shop/web → demo/Pod/shop/web-7d9c6b5f48-x2x4q',
      'routes-to demo/Ingress/shop/web → demo/Service/shop/web',
      'exposes demo/Ingress/shop/web → demo/Pod/shop/web-7d9c6b5f48-x2x4q',
      'uses-service-account demo/Deployment/shop/api/template → demo/ServiceAccount/shop/api',
      'bound-by demo/ServiceAccount/shop/api → demo/ClusterRoleBinding/api-secrets',
      'grants demo/ClusterRoleBinding/api-secrets → demo/ClusterRole/secret-reader',
    ]) {
      expect(edges.has(expected), expected).toBe(true);
    }
  });

  it('resolves aggregated ClusterRoles', () => {
    const view = graph.roles.find((r) => r.name === 'monitoring-view');
    expect(view?.aggregated).toBe(true);
    expect(view?.rules.map((r) => r.resources.join(','))).toEqual(['nodes,nodes/metrics,nodes/proxy', 'pods,services,endpoints']);
    const grafana = graph.serviceAccounts.find((s) => s.name === 'grafana');
    expect(grafana?.nodeProxy).toBe(true);
    expect(grafana?.readSecrets).toBe(false);
  });
});

function compact(graphReport: ReturnType<typeof runPosture>): string[] {
  return graphReport.recommendations.map(
    (r) => `${r.id} ${r.severity}: ${r.resources.map((x) => `${x.kind} ${x.namespace ? `${x.namespace}/` : ''}${x.name}${x.container ? `:${x.container}` : ''}`).join(', ')}`,
  );
}

describe('fixture cluster posture', () => {
  it('gives exactly these recommendations and affected resources', () => {
    const report = runPosture(graph);
    expect(report.errors).toEqual({});
    expect(compact(report)).toEqual([
      'KP-105 critical: RoleBinding payments/rbac-manager',
      'KP-001 high: StatefulSet ci/runner:dind',
      'KP-004 high: DaemonSet monitoring/node-exporter',
      'KP-006 high: DaemonSet monitoring/node-exporter',
      'KP-014 high: Deployment monitoring/grafana:grafana, Deployment shop/api:api',
      'KP-018 high: DaemonSet monitoring/node-exporter:node-exporter, Deployment shop/web:nginx',
      'KP-019 high: DaemonSet monitoring/node-exporter, StatefulSet ci/runner',
      'KP-101 high: ClusterRoleBinding ops-admins',
      'KP-103 high: ClusterRoleBinding api-secrets',
      'KP-104 high: RoleBinding ci/runner-pods',
      'KP-106 high: ClusterRoleBinding monitoring-view',
      'KP-202 high: Deployment monitoring/grafana',
      'KP-203 high: Service shop/api',
      'KP-002 medium: Deployment monitoring/grafana:grafana, Pod default/debug:debug, StatefulSet ci/runner:dind',
      'KP-003 medium: Pod default/debug:debug, StatefulSet ci/runner:dind',
      'KP-005 medium: DaemonSet monitoring/node-exporter',
      'KP-008 medium: Deployment monitoring/grafana:grafana, Pod default/debug:debug, StatefulSet ci/runner:dind',
      'KP-009 medium: Deployment monitoring/grafana:grafana, Pod default/debug:debug, StatefulSet ci/runner:dind',
      'KP-011 medium: Pod default/debug:debug',
      'KP-015 medium: Deployment monitoring/grafana, Deployment shop/api, Pod default/debug, StatefulSet ci/runner',
      'KP-102 medium: ClusterRole deploy-everything',
      'KP-201 medium: Namespace ci, Namespace default, Namespace monitoring',
      'KP-204 medium: Ingress shop/legacy',
      'KP-010 low: CronJob ci/nightly-report:report, Deployment monitoring/grafana:grafana, Pod default/debug:debug, StatefulSet ci/runner:dind',
      'KP-012 low: Deployment monitoring/grafana:grafana, Pod default/debug:debug',
      'KP-013 low: Deployment monitoring/grafana:grafana, Pod default/debug:debug',
      'KP-016 low: Pod default/debug',
      'KP-017 low: Pod default/debug',
    ]);
    const pss = report.recommendations.find((r) => r.id === 'KP-019');
    expect(pss?.resources.map((r) => r.detail)).toEqual(['violates hostNamespaces, hostPathVolumes, hostPorts', 'violates privileged']);
  });

  it('drops the vulnerability recommendation without scan results, and honours settings', () => {
    const bare = buildGraph(graph.inventories);
    const ids = runPosture(bare).recommendations.map((r) => r.id);
    expect(ids).not.toContain('KP-018');
    const trusting = runPosture(graph, {
      settings: {
        excludedNamespaces: ['kube-system', 'default'],
        trustedRegistries: ['docker.io/', 'ghcr.io/acme/', 'quay.io/', 'registry.k8s.io/'],
        allowedCapabilities: ['NET_BIND_SERVICE'],
        allowedPullPolicies: ['IfNotPresent', 'Never', 'Always'],
        allowedHostPaths: ['/'],
        adminUiImages: [],
        builtinRoles: ['cluster-admin'],
      },
    });
    const trustedIds = trusting.recommendations.map((r) => r.id);
    for (const gone of ['KP-014', 'KP-006', 'KP-202', 'KP-016', 'KP-017', 'KP-012']) expect(trustedIds).not.toContain(gone);
  });

  it('prints recommendations grouped by severity and as SARIF', () => {
    const report = runPosture(graph);
    const table = renderPostureTable(report);
    expect(table.split('\n').filter((l) => /^[A-Z]+ \(\d+\)$/.test(l))).toEqual(['CRITICAL (1)', 'HIGH (12)', 'MEDIUM (10)', 'LOW (5)']);
    expect(table).toContain('    - RoleBinding payments/rbac-manager: ClusterRole/rbac-manager → User bob@example.com');
    const sarif = JSON.stringify(postureSarif(report, '0.1.0'));
    const parsed: unknown = JSON.parse(sarif);
    expect(parsed).toMatchObject({ version: '2.1.0', runs: [{ tool: { driver: { name: 'palisade' } } }] });
    expect((sarif.match(/"ruleId":/g) ?? []).length).toBe(report.recommendations.reduce((n, r) => n + r.resources.length, 0));
  });
});

describe('several clusters at once', () => {
  it('keeps the clusters apart in the graph, the posture and the explorer', async () => {
    const other = await inventoryFromFiles([here('./__fixtures__/cluster/workloads.yaml')], 'staging');
    const both = buildGraph([inventory, other]);
    expect(both.clusters.map((c) => c.name)).toEqual(['demo', 'staging']);
    const privileged = runPosture(both).recommendations.find((r) => r.id === 'KP-001');
    expect(privileged?.resources.map((r) => `${r.cluster} ${r.kind} ${r.namespace}/${r.name}`)).toEqual(['demo StatefulSet ci/runner', 'staging StatefulSet ci/runner']);
    expect(compileQuery('pods.filter(p, p.privileged).map(p, p.cluster + ":" + p.owner)').run(both)).toEqual(['demo:StatefulSet/ci/runner', 'staging:StatefulSet/ci/runner']);
  });
});

describe('fixture cluster attack paths', () => {
  it('finds exactly these paths, each a chain from the internet', () => {
    const paths = computeAttackPaths(graph);
    expect(paths.map((p) => `${p.type} ${p.resource}: ${p.nodes.map((n) => n.label).join(' → ')} [${p.evidence}]`)).toEqual([
      'exposed-vulnerable-pod DaemonSet/monitoring/node-exporter: Internet → node (any) (hostNetwork) → DaemonSet/monitoring/node-exporter → container node-exporter → quay.io/prometheus/node-exporter:v1.7.0@sha256:4cb2b9019f1757be8482419002cb7afe028fdba35d47958829e4cfeaf6246d80 → GHSA-qppj-fm5r-hxr3 (high, golang.org/x/net v0.17.0) [GHSA-qppj-fm5r-hxr3 high CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H]',
      'exposed-vulnerable-pod Deployment/shop/web: Internet → Ingress/shop/web (Ingress) → Deployment/shop/web → container nginx → docker.io/library/nginx:1.25.3@sha256:4c0fdaa8b6341bfdeca5f18f7837462c80cff90527ee35ef185571e1c327beac → CVE-2024-5535 (critical, libssl3 3.0.11-1~deb12u2) → CVE-2023-44487 (high, nginx 1.25.3-1~bookworm) [CVE-2024-5535 critical CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:H; CVE-2023-44487 high CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H]',
      'exposed-vulnerable-host-network-pod DaemonSet/monitoring/node-exporter: Internet → node (any) (hostNetwork) → DaemonSet/monitoring/node-exporter → container node-exporter → quay.io/prometheus/node-exporter:v1.7.0@sha256:4cb2b9019f1757be8482419002cb7afe028fdba35d47958829e4cfeaf6246d80 → GHSA-qppj-fm5r-hxr3 (high, golang.org/x/net v0.17.0) [GHSA-qppj-fm5r-hxr3 high CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H]',
      'exposed-node-takeover DaemonSet/monitoring/node-exporter: Internet → node (any) (hostNetwork) → DaemonSet/monitoring/node-exporter → host of node (any) [hostPath /; hostPID]',
      'exposed-node-takeover StatefulSet/ci/runner: Internet → Service/ci/runner (NodePort) → StatefulSet/ci/runner → host of node (any) [privileged container]',
      'exposed-pod-risky-service-account Deployment/shop/api: Internet → Ingress/shop/legacy (Ingress) → Deployment/shop/api → ServiceAccount shop/api → ClusterRoleBinding/api-secrets → ClusterRole/secret-reader [service account can read secrets cluster-wide]',
      'exposed-pod-risky-service-account StatefulSet/ci/runner: Internet → Service/ci/runner (NodePort) → StatefulSet/ci/runner → ServiceAccount ci/runner → RoleBinding/ci/runner-pods → Role/ci/pod-manager [service account can create pods, exec into pods]',
    ]);
    const web = paths.find((p) => p.resource === 'Deployment/shop/web');
    expect(web?.edges.map((e) => e.type)).toEqual(['reaches', 'routes-to', 'runs', 'uses-image', 'has-vulnerability', 'has-vulnerability']);
    expect(web?.remediation).toMatch(/^Update the vulnerable packages/);
    const sa = paths.find((p) => p.type === 'exposed-pod-risky-service-account' && p.resource === 'Deployment/shop/api');
    expect(sa?.edges.map((e) => `${e.type} ${e.to}`)).toEqual([
      'reaches demo/Ingress/shop/legacy',
      'routes-to demo/Deployment/shop/api/template',
      'uses-service-account demo/ServiceAccount/shop/api',
      'bound-by demo/ClusterRoleBinding/api-secrets',
      'grants demo/ClusterRole/secret-reader',
    ]);
  });

  it('finds no vulnerability paths without findings, and none for pods that are not exposed', () => {
    const bare = computeAttackPaths(buildGraph(graph.inventories));
    expect(bare.map((p) => p.type)).toEqual(['exposed-node-takeover', 'exposed-node-takeover', 'exposed-pod-risky-service-account', 'exposed-pod-risky-service-account']);
    expect(readFileSync(here('./paths.yaml'), 'utf8')).toContain('exposed-node-takeover');
  });
});

import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { Duplex } from 'node:stream';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGraph, connectionFromKubeconfig, createLiveCollector, createTransport, inventoryCounts, runningImages, type WatchEvent } from '../src/kube/cli-api.js';
import { createKubePki } from './support/kube-pki.js';

/**
 * Replays a Kubernetes API server over HTTPS (a cluster CA the kubeconfig names): list responses in the real JSON shapes (typed
 * Lists with metadata.resourceVersion and metadata.continue, PartialObjectMetadataList, Status
 * objects for errors) and watch streams (newline-delimited WatchEvents with BOOKMARKs, an ERROR
 * 410 that forces a re-list, and a connection that drops and must resume from the last
 * resourceVersion). The collector under test reads it through a kubeconfig and @kubernetes/client-node,
 * as against a cluster.
 */

const TOKEN = 'eyJhbGciOiJSUzI1NiIsImtpZCI6InJlcGxheSJ9.replay.signature';
const NGINX_DIGEST = 'sha256:4c0fdaa8b6341bfdeca5f18f7837462c80cff90527ee35ef185571e1c327beac';

function ns(name: string, rv: string) {
  return { metadata: { name, uid: `uid-ns-${name}`, resourceVersion: rv, creationTimestamp: '2026-10-01T09:00:00Z', labels: { 'kubernetes.io/metadata.name': name } }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } };
}

function pod(name: string, namespace: string, rv: string, image: string, digest: string, phase = 'Running') {
  return {
    metadata: {
      name,
      namespace,
      uid: `uid-pod-${name}`,
      resourceVersion: rv,
      creationTimestamp: '2026-11-02T10:11:12Z',
      labels: { app: name.split('-')[0] ?? name },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `${name.split('-')[0]}-6d4cf56db6`, uid: `uid-rs-${name}`, controller: true, blockOwnerDeletion: true }],
    },
    spec: {
      nodeName: 'gke-demo-pool-1-a1b2',
      serviceAccountName: 'default',
      containers: [{ name: 'app', image, imagePullPolicy: 'IfNotPresent', resources: {}, terminationMessagePath: '/dev/termination-log' }],
      restartPolicy: 'Always',
      dnsPolicy: 'ClusterFirst',
    },
    status: {
      phase,
      podIP: '10.8.0.12',
      containerStatuses: [{ name: 'app', ready: true, restartCount: 0, image, imageID: `${image.split(':')[0]}@${digest}`, containerID: 'containerd://8d1c4f' }],
    },
  };
}

const FORBIDDEN = {
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Failure',
  message:
    'clusterrolebindings.rbac.authorization.k8s.io is forbidden: User "system:serviceaccount:palisade:collector" cannot list resource "clusterrolebindings" in API group "rbac.authorization.k8s.io" at the cluster scope',
  reason: 'Forbidden',
  details: { group: 'rbac.authorization.k8s.io', kind: 'clusterrolebindings' },
  code: 403,
};

interface Recorded {
  path: string;
  query: Record<string, string>;
  accept: string;
  userAgent: string;
}

const requests: Recorded[] = [];
const sockets = new Set<Duplex>();
let server: Server;
let dir: string;
let kubeconfigPath: string;
let podWatchConnections = 0;
let serviceWatchConnections = 0;
let serviceLists = 0;

function list(res: ServerResponse, kind: string, apiVersion: string, rv: string, items: unknown[], cont?: string): void {
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ kind, apiVersion, metadata: { resourceVersion: rv, ...(cont ? { continue: cont, remainingItemCount: 1 } : {}) }, items }));
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://replay');
  const query = Object.fromEntries(url.searchParams);
  requests.push({ path: url.pathname, query, accept: req.headers.accept ?? '', userAgent: req.headers['user-agent'] ?? '' });
  if (req.headers.authorization !== `Bearer ${TOKEN}`) {
    res.writeHead(401, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 }));
    return;
  }
  const watching = query.watch === '1' || query.watch === 'true';
  if (watching) {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    // The API server sends a watch's headers at once, before any event.
    res.flushHeaders();
    const send = (event: unknown): boolean => res.write(`${JSON.stringify(event)}\n`);
    if (url.pathname === '/api/v1/pods') {
      podWatchConnections += 1;
      if (podWatchConnections === 1) {
        // First watch: one new pod and a bookmark, then the connection drops.
        send({ type: 'ADDED', object: { kind: 'Pod', apiVersion: 'v1', ...pod('web-6d4cf56db6-zk2lp', 'shop', '1003', 'nginx:1.25.3', NGINX_DIGEST) } });
        send({ type: 'BOOKMARK', object: { kind: 'Pod', apiVersion: 'v1', metadata: { resourceVersion: '1004', annotations: { 'k8s.io/initial-events-end': 'true' } } } });
        setTimeout(() => req.socket.destroy(), 20);
        return;
      }
      // Resumed watch: a modification and a deletion after the bookmark.
      send({ type: 'MODIFIED', object: { kind: 'Pod', apiVersion: 'v1', ...pod('web-6d4cf56db6-zk2lp', 'shop', '1005', 'nginx:1.25.3', NGINX_DIGEST, 'Succeeded') } });
      send({ type: 'DELETED', object: { kind: 'Pod', apiVersion: 'v1', ...pod('api-7f9b8c6d5-q4w8e', 'shop', '1006', 'ghcr.io/acme/shop-api:2.14.1', 'sha256:1f3a7c2e9b8d6a5f4e3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f10') } });
      return;
    }
    if (url.pathname === '/api/v1/services') {
      serviceWatchConnections += 1;
      if (serviceWatchConnections === 1) {
        send({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'too old resource version: 1000 (1500)', reason: 'Expired', code: 410 } });
        res.end();
        return;
      }
      // The watch after the re-list: a bookmark, then quiet.
      send({ type: 'BOOKMARK', object: { kind: 'Service', apiVersion: 'v1', metadata: { resourceVersion: '1501' } } });
      return;
    }
    return; // every other watch stays open and quiet
  }
  switch (url.pathname) {
    case '/api/v1/namespaces':
      if (query.continue === undefined) list(res, 'NamespaceList', 'v1', '1001', [ns('default', '11'), ns('kube-system', '12')], 'eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MTAwMSwic3RhcnQiOiJrdWJlLXN5c3RlbVx1MDAwMCJ9');
      else list(res, 'NamespaceList', 'v1', '1001', [ns('shop', '13')]);
      return;
    case '/api/v1/pods':
      if (query.continue === undefined) {
        list(res, 'PodList', 'v1', '1002', [pod('api-7f9b8c6d5-q4w8e', 'shop', '900', 'ghcr.io/acme/shop-api:2.14.1', 'sha256:1f3a7c2e9b8d6a5f4e3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f10'), pod('web-6d4cf56db6-x2x4q', 'shop', '901', 'nginx:1.25.3', NGINX_DIGEST)], 'eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MTAwMiwic3RhcnQiOiJzaG9wL3dlYi02ZDRjZjU2ZGI2LXgyeDRxXHUwMDAwIn0');
      } else {
        list(res, 'PodList', 'v1', '1002', [{ metadata: { name: 'coredns-5d78c9869d-8xk2p', namespace: 'kube-system', resourceVersion: '902' }, spec: { containers: [{ name: 'coredns', image: 'registry.k8s.io/coredns/coredns:v1.11.1' }] }, status: { phase: 'Running' } }]);
      }
      return;
    case '/api/v1/nodes':
      list(res, 'NodeList', 'v1', '1001', [{ metadata: { name: 'gke-demo-pool-1-a1b2', resourceVersion: '77' }, status: { allocatable: { cpu: '3920m', memory: '13594768Ki' }, addresses: [{ type: 'InternalIP', address: '10.132.0.12' }] } }]);
      return;
    case '/api/v1/services':
      serviceLists += 1;
      if (serviceLists === 1) list(res, 'ServiceList', 'v1', '1000', [{ metadata: { name: 'web', namespace: 'shop', resourceVersion: '500' }, spec: { type: 'ClusterIP', selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] } }]);
      else list(res, 'ServiceList', 'v1', '1500', [{ metadata: { name: 'web', namespace: 'shop', resourceVersion: '500' }, spec: { type: 'LoadBalancer', selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] } }]);
      return;
    case '/api/v1/configmaps':
      // Asked for PartialObjectMetadataList: the server answers with metadata only.
      res.writeHead(200, { 'Content-Type': 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1' });
      res.end(JSON.stringify({ kind: 'PartialObjectMetadataList', apiVersion: 'meta.k8s.io/v1', metadata: { resourceVersion: '1001' }, items: [{ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: { name: 'kube-root-ca.crt', namespace: 'shop', resourceVersion: '20' } }] }));
      return;
    case '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings':
      res.writeHead(403, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(FORBIDDEN));
      return;
    case '/apis/batch/v1/cronjobs':
      return; // never answers: the collector's request timeout must fire
    default: {
      const kind = url.pathname.split('/').pop() ?? '';
      list(res, `${kind}List`, 'v1', '1000', []);
    }
  }
}

beforeAll(async () => {
  const pki = createKubePki();
  server = createServer({ key: pki.serverKey, cert: pki.serverCert }, handle);
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  dir = mkdtempSync(join(tmpdir(), 'palisade-kube-replay-'));
  kubeconfigPath = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfigPath,
    [
      'apiVersion: v1',
      'kind: Config',
      'current-context: other',
      'clusters:',
      '- name: replay',
      '  cluster:',
      `    server: https://127.0.0.1:${port}`,
      `    certificate-authority-data: ${Buffer.from(pki.ca).toString('base64')}`,
      'users:',
      '- name: collector',
      '  user:',
      `    token: ${TOKEN}`,
      'contexts:',
      '- name: replay',
      '  context: {cluster: replay, user: collector}',
      '- name: other',
      '  context: {cluster: replay}',
      '',
    ].join('\n'),
  );
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

describe('live inventory against a replayed API server', () => {
  it('lists with paging, records 403 and timeouts, then watches, resumes after a drop and re-lists on 410', async () => {
    const conn = await connectionFromKubeconfig(kubeconfigPath, 'replay');
    expect(conn.server).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const collector = createLiveCollector(createTransport(conn), conn, { pageSize: 2, requestTimeoutMs: 2000, retryDelayMs: 0, watchIdleTimeoutMs: 10_000 });
    await collector.list();

    const listed = collector.inventory();
    expect(listed.cluster).toBe('replay');
    expect(inventoryCounts(listed)).toEqual({ ConfigMap: 1, Namespace: 3, Node: 1, Pod: 3, Service: 1 });
    expect(listed.problems).toEqual([
      'could not read cronjobs: no answer within 2000 ms',
      `could not read clusterrolebindings: 403 Forbidden (${FORBIDDEN.message})`,
    ]);
    expect(listed.objects.ConfigMap[0]?.metadata.name).toBe('kube-root-ca.crt');
    expect(Object.keys(listed.objects.ConfigMap[0] ?? {}).sort()).toEqual(['kind', 'metadata']);
    const pages = requests.filter((r) => r.path === '/api/v1/pods' && r.query.watch === undefined);
    expect(pages.map((r) => [r.query.limit, r.query.continue === undefined ? 'first' : 'continue'])).toEqual([
      ['2', 'first'],
      ['2', 'continue'],
    ]);
    expect(requests.find((r) => r.path === '/api/v1/configmaps')?.accept).toContain('as=PartialObjectMetadataList');
    expect(collector.resourceVersions().Pod).toBe('1002');

    const events: WatchEvent[] = [];
    const stop = new AbortController();
    const seen = (kind: string, type: string): boolean => events.some((e) => e.kind === kind && e.type === type);
    const watching = collector.watch(stop.signal, (event) => {
      events.push(event);
      if (seen('Pod', 'DELETED') && seen('Service', 'BOOKMARK')) stop.abort();
    });
    await watching;

    expect(events.filter((e) => e.kind === 'Pod')).toEqual([
      { kind: 'Pod', type: 'ADDED', resourceVersion: '1003' },
      { kind: 'Pod', type: 'BOOKMARK', resourceVersion: '1004' },
      { kind: 'Pod', type: 'MODIFIED', resourceVersion: '1005' },
      { kind: 'Pod', type: 'DELETED', resourceVersion: '1006' },
    ]);
    const podWatches = requests.filter((r) => r.path === '/api/v1/pods' && r.query.watch === 'true');
    expect(podWatches.map((r) => r.query.resourceVersion)).toEqual(['1002', '1004']);
    expect(podWatches.every((r) => r.query.allowWatchBookmarks === 'true')).toBe(true);
    expect([...new Set(requests.map((r) => r.userAgent))]).toEqual(['palisade-inventory/0.1']);
    expect(requests.filter((r) => r.path === '/api/v1/services').map((r) => (r.query.watch ? `watch@${r.query.resourceVersion}` : 'list'))).toEqual(['list', 'watch@1000', 'list', 'watch@1500']);
    expect(events.filter((e) => e.kind === 'Service')).toEqual([{ kind: 'Service', type: 'BOOKMARK', resourceVersion: '1501' }]);
    expect(collector.resourceVersions().Service).toBe('1501');
    // Resources that could not be listed are not watched.
    expect(requests.some((r) => r.path === '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings' && r.query.watch)).toBe(false);
    // ConfigMaps are watched metadata-only too; a watch event carries one object, so the watch asks for PartialObjectMetadata.
    expect(requests.find((r) => r.path === '/api/v1/configmaps' && r.query.watch)?.accept).toMatch(/^application\/json;as=PartialObjectMetadata;/);

    const after = collector.inventory();
    expect(after.objects.Pod.map((p) => `${p.metadata.namespace}/${p.metadata.name} ${p.status?.phase ?? ''}`)).toEqual([
      'kube-system/coredns-5d78c9869d-8xk2p Running',
      'shop/web-6d4cf56db6-x2x4q Running',
      'shop/web-6d4cf56db6-zk2lp Succeeded',
    ]);
    expect(after.objects.Service.map((s) => s.spec.type)).toEqual(['LoadBalancer']);
    expect(runningImages(buildGraph([after]))).toEqual([
      { cluster: 'replay', namespace: 'kube-system', pod: 'coredns-5d78c9869d-8xk2p', container: 'coredns', image: 'registry.k8s.io/coredns/coredns:v1.11.1', digest: '' },
      { cluster: 'replay', namespace: 'shop', pod: 'web-6d4cf56db6-x2x4q', container: 'app', image: 'nginx:1.25.3', digest: NGINX_DIGEST },
      { cluster: 'replay', namespace: 'shop', pod: 'web-6d4cf56db6-zk2lp', container: 'app', image: 'nginx:1.25.3', digest: NGINX_DIGEST },
    ]);
  });

  it('refuses a request without credentials (the context without a user gets 401 on every resource)', async () => {
    const conn = await connectionFromKubeconfig(kubeconfigPath);
    expect(conn.name).toBe('other');
    const collector = createLiveCollector(createTransport(conn), conn, { requestTimeoutMs: 2000, resources: [{ kind: 'Namespace', group: '', version: 'v1', resource: 'namespaces' }] });
    await collector.list();
    expect(collector.inventory().problems).toEqual(['could not read namespaces: 401 Unauthorized (Unauthorized)']);
  });
});

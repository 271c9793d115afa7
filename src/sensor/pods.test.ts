import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger, type Clock } from '../core/index.js';
import { createKubeletFetcher, createPodCache } from './pods.js';

// The kubelet's /pods served by a real HTTP server on loopback (a recorded PodList shape).

const ID = '0f'.repeat(32);
const POD_LIST = {
  kind: 'PodList',
  apiVersion: 'v1',
  metadata: {},
  items: [
    {
      metadata: { name: 'coredns-5d78c9869d-8xq2w', namespace: 'kube-system', uid: '5b0c1d2e-3f4a-4b5c-8d6e-7f8091a2b3c4', labels: { 'k8s-app': 'kube-dns' } },
      spec: { nodeName: 'node-1', containers: [{ name: 'coredns', image: 'registry.k8s.io/coredns/coredns:v1.10.1' }] },
      status: {
        phase: 'Running',
        containerStatuses: [
          { name: 'coredns', ready: true, restartCount: 0, image: 'registry.k8s.io/coredns/coredns:v1.10.1', imageID: `registry.k8s.io/coredns/coredns@sha256:${'ab'.repeat(32)}`, containerID: `containerd://${ID}` },
        ],
      },
    },
  ],
};

class TestClock implements Clock {
  constructor(public ms: number) {}
  now(): Date {
    return new Date(this.ms);
  }
}

describe('kubelet pod metadata', () => {
  let server: Server;
  let port = 0;
  let requests: string[] = [];
  let answer: { status: number; body: string } = { status: 200, body: JSON.stringify(POD_LIST) };

  beforeAll(async () => {
    server = createServer((req, res) => {
      requests.push(`${req.url} ${req.headers.authorization ?? ''}`);
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const address = server.address();
    port = typeof address === 'object' && address !== null ? address.port : 0;
  });
  afterAll(() => server.close());

  it('fetches /pods with the token and names a container; unknown ids refresh at most every 2 s', async () => {
    requests = [];
    answer = { status: 200, body: JSON.stringify(POD_LIST) };
    const clock = new TestClock(1_000_000);
    const cache = createPodCache(createKubeletFetcher({ url: `http://127.0.0.1:${port}/pods`, token: 'sa-token' }), { clock, log: silentLogger });
    await cache.refresh();
    expect(cache.lookup(ID)).toEqual({
      containerId: ID,
      containerName: 'coredns',
      podNamespace: 'kube-system',
      podName: 'coredns-5d78c9869d-8xq2w',
      podUid: '5b0c1d2e-3f4a-4b5c-8d6e-7f8091a2b3c4',
      image: 'registry.k8s.io/coredns/coredns:v1.10.1',
      imageDigest: `sha256:${'ab'.repeat(32)}`,
      labels: { 'k8s-app': 'kube-dns' },
    });
    expect(cache.lookup('1'.repeat(64))).toBeUndefined();
    clock.ms += 2500;
    expect(cache.lookup('1'.repeat(64))).toBeUndefined();
    await cache.refresh();
    expect(requests).toEqual(['/pods Bearer sa-token', '/pods Bearer sa-token']);
  });

  it.each([
    [{ status: 401, body: 'Unauthorized' }, `kubelet 127.0.0.1:PORT answered HTTP 401: check the token's nodes/proxy permission`],
    [{ status: 200, body: '<html>' }, 'kubelet 127.0.0.1:PORT answered something that is not JSON'],
    [{ status: 200, body: '{"kind":"Status"}' }, 'the kubelet /pods answer is not a PodList: check the kubelet URL'],
  ])('a failing kubelet (%j) is counted, never thrown', async (bad, message) => {
    answer = bad;
    const cache = createPodCache(createKubeletFetcher({ url: `http://127.0.0.1:${port}/pods` }), { clock: new TestClock(0), log: silentLogger });
    await cache.refresh();
    expect(cache.counters()).toMatchObject({ refreshes: 0, failures: 1, lastError: message.replace('PORT', String(port)) });
    expect(cache.lookup(ID)).toBeUndefined();
  });
});

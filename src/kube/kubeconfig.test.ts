import { createServer, type Server } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKubePki, type KubePki } from '../../test/support/kube-pki.js';
import { connectionFromKubeconfig, inClusterConnection, kubeconfigContexts } from './kubeconfig.js';
import { createTransport } from './live.js';

/**
 * Each kind of kubeconfig credential, through client-node, against a local HTTPS API server that
 * records what it received: the bearer token or basic credentials, and the client certificate's
 * common name (the server asks for one and verifies it against the cluster CA).
 */

interface Seen {
  authorization: string;
  clientCn: string;
}

const dir = mkdtempSync(join(tmpdir(), 'palisade-kubeconfig-'));
const config = join(dir, 'config');
const seen: Seen[] = [];
let pki: KubePki;
let server: Server;
let url: string;

const b64 = (text: string): string => Buffer.from(text).toString('base64');

beforeAll(async () => {
  pki = createKubePki('palisade-admin');
  server = createServer({ key: pki.serverKey, cert: pki.serverCert, ca: pki.ca, requestCert: true, rejectUnauthorized: false }, (req, res) => {
    const socket = req.socket as TLSSocket;
    const peer = socket.authorized ? socket.getPeerCertificate() : undefined;
    seen.push({ authorization: req.headers.authorization ?? '', clientCn: typeof peer?.subject?.CN === 'string' ? peer.subject.CN : '' });
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ kind: 'NamespaceList', apiVersion: 'v1', metadata: { resourceVersion: '1' }, items: [] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  url = `https://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;

  writeFileSync(join(dir, 'ca.crt'), pki.ca);
  writeFileSync(join(dir, 'client.crt'), pki.clientCert);
  writeFileSync(join(dir, 'client.key'), pki.clientKey);
  writeFileSync(join(dir, 'token'), 'file-token\n');
  writeFileSync(
    config,
    `apiVersion: v1
kind: Config
current-context: eks
clusters:
- name: kind
  cluster:
    server: ${url}/
    certificate-authority: ca.crt
- name: kind-inline
  cluster:
    server: ${url}
    certificate-authority-data: ${b64(pki.ca)}
- name: eks
  cluster:
    server: ${url}
    insecure-skip-tls-verify: true
- name: untrusted
  cluster:
    server: ${url}
- name: kubectl-proxy
  cluster:
    server: http://127.0.0.1:8001
users:
- name: kind-admin
  user:
    client-certificate: client.crt
    client-key: client.key
- name: kind-inline
  user:
    client-certificate-data: ${b64(pki.clientCert)}
    client-key-data: ${b64(pki.clientKey)}
- name: reader
  user:
    tokenFile: token
- name: basic
  user:
    username: admin
    password: s3cret
- name: eks-user
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: ${process.execPath}
      args: ["-e", "process.stdout.write(JSON.stringify({kind:'ExecCredential',apiVersion:'client.authentication.k8s.io/v1beta1',status:{token:'exec-' + process.env.CLUSTER + '-' + JSON.parse(process.env.KUBERNETES_EXEC_INFO).apiVersion}}))"]
      env:
      - {name: CLUSTER, value: prod}
- name: expired
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: ${process.execPath}
      args: ["-e", "process.stderr.write('the SSO session has expired: run aws sso login'); process.exit(1)"]
contexts:
- name: kind-admin
  context: {cluster: kind, user: kind-admin}
- name: kind-inline
  context: {cluster: kind-inline, user: kind-inline}
- name: kind-reader
  context: {cluster: kind, user: reader}
- name: basic
  context: {cluster: kind, user: basic}
- name: eks
  context: {cluster: eks, user: eks-user}
- name: untrusted
  context: {cluster: untrusted, user: reader}
- name: proxy
  context: {cluster: kubectl-proxy, user: reader}
- name: lost
  context: {cluster: gone, user: reader}
- name: expired
  context: {cluster: kind, user: expired}
`,
  );
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

/** What the API server saw of one list request through the context's connection. */
async function requestAs(context: string | undefined): Promise<Seen | undefined> {
  const conn = await connectionFromKubeconfig(config, context);
  const before = seen.length;
  const result = await createTransport(conn).get('/api/v1/namespaces?limit=1', 'application/json', 20_000);
  expect(result.status).toBe(200);
  expect(seen.length).toBe(before + 1);
  return seen.at(-1);
}

describe('kubeconfig', () => {
  it('lists contexts and the current one', async () => {
    expect(await kubeconfigContexts(config)).toEqual({
      contexts: ['kind-admin', 'kind-inline', 'kind-reader', 'basic', 'eks', 'untrusted', 'proxy', 'lost', 'expired'],
      current: 'eks',
    });
  });

  it.each([
    ['kind-admin', 'client certificate and CA files relative to the kubeconfig', { authorization: '', clientCn: 'palisade-admin' }],
    ['kind-inline', 'inline client certificate and CA data', { authorization: '', clientCn: 'palisade-admin' }],
    ['kind-reader', 'a token file (trimmed)', { authorization: 'Bearer file-token', clientCn: '' }],
    ['basic', 'basic auth', { authorization: `Basic ${b64('admin:s3cret')}`, clientCn: '' }],
    ['eks', 'an exec credential plugin with its env and KUBERNETES_EXEC_INFO, insecure-skip-tls-verify', { authorization: 'Bearer exec-prod-client.authentication.k8s.io/v1beta1', clientCn: '' }],
  ])('context %s authenticates with %s', async (context, _what, expected) => {
    expect(await requestAs(context)).toEqual(expected);
  });

  it('uses the current context when none is named, and strips a trailing slash from the server', async () => {
    expect((await connectionFromKubeconfig(config)).name).toBe('eks');
    expect((await connectionFromKubeconfig(config, 'kind-admin')).server).toBe(url);
  });

  it('re-reads a token file for every request (service account tokens rotate)', async () => {
    expect((await requestAs('kind-reader'))?.authorization).toBe('Bearer file-token');
    writeFileSync(join(dir, 'token'), 'rotated-token\n');
    try {
      expect((await requestAs('kind-reader'))?.authorization).toBe('Bearer rotated-token');
    } finally {
      writeFileSync(join(dir, 'token'), 'file-token\n');
    }
  });

  it('refuses a server whose certificate it cannot verify', async () => {
    const conn = await connectionFromKubeconfig(config, 'untrusted');
    await expect(createTransport(conn).get('/api/v1/namespaces', 'application/json', 20_000)).rejects.toThrow(/certificate/);
  });

  it('passes on what a failing credential plugin said', async () => {
    const conn = await connectionFromKubeconfig(config, 'expired');
    await expect(createTransport(conn).get('/api/v1/namespaces', 'application/json', 20_000)).rejects.toThrow(
      'could not set up credentials or TLS: the SSO session has expired: run aws sso login',
    );
  });

  it('says what to do about a plain-http server', async () => {
    await expect(connectionFromKubeconfig(config, 'proxy')).rejects.toThrow(
      'context "proxy": cluster "kubectl-proxy" is served over plain http (http://127.0.0.1:8001); set insecure-skip-tls-verify: true on that cluster to allow it, or use its https address',
    );
  });

  it('names the contexts it has when asked for one it lacks, and a cluster it lacks', async () => {
    await expect(connectionFromKubeconfig(config, 'prod')).rejects.toThrow('has no context "prod" (it has: kind-admin, kind-inline, kind-reader, basic, eks, untrusted, proxy, lost, expired)');
    await expect(connectionFromKubeconfig(config, 'lost')).rejects.toThrow('context "lost" names cluster "gone", which the kubeconfig does not define');
    await expect(connectionFromKubeconfig(join(dir, 'missing'))).rejects.toThrow(`cannot read kubeconfig ${join(dir, 'missing')}`);
  });

  it('reads the cluster it runs in with the service account token and CA', async () => {
    const sa = join(dir, 'serviceaccount');
    mkdirSync(sa);
    writeFileSync(join(sa, 'ca.crt'), pki.ca);
    writeFileSync(join(sa, 'token'), 'sa-token');
    const conn = await inClusterConnection('127.0.0.1', new URL(url).port, sa);
    expect(conn.name).toBe('in-cluster');
    expect(conn.server).toBe(url);
    const before = seen.length;
    expect((await createTransport(conn).get('/api/v1/namespaces', 'application/json', 20_000)).status).toBe(200);
    expect(seen.slice(before)).toEqual([{ authorization: 'Bearer sa-token', clientCn: '' }]);
  });
});

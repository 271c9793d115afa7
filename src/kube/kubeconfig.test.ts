import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bearerToken, connectionFromKubeconfig, inClusterConnection, kubeconfigContexts } from './kubeconfig.js';

const dir = mkdtempSync(join(tmpdir(), 'palisade-kubeconfig-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CA = '-----BEGIN CERTIFICATE-----\nMIIBdzCCAR2gAwIBAgIBADAKBggqhkjOPQQDAjAjMSEwHwYDVQQDDBhrM3Mtc2Vy\n-----END CERTIFICATE-----\n';
writeFileSync(join(dir, 'ca.crt'), CA);
writeFileSync(join(dir, 'token'), 'file-token\n');
writeFileSync(
  join(dir, 'config'),
  `apiVersion: v1
kind: Config
current-context: eks
clusters:
- name: kind
  cluster:
    server: https://127.0.0.1:6443/
    certificate-authority: ca.crt
- name: eks
  cluster:
    server: https://ABCDEF.gr7.eu-west-1.eks.amazonaws.com
    insecure-skip-tls-verify: true
users:
- name: kind-admin
  user:
    client-certificate-data: ${Buffer.from('CERT').toString('base64')}
    client-key-data: ${Buffer.from('KEY').toString('base64')}
- name: reader
  user:
    tokenFile: token
- name: eks-user
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: ${process.execPath}
      args: ["-e", "process.stdout.write(JSON.stringify({kind:'ExecCredential',apiVersion:'client.authentication.k8s.io/v1beta1',status:{token:'exec-' + process.env.CLUSTER}}))"]
      env:
      - {name: CLUSTER, value: prod}
contexts:
- name: kind-admin
  context: {cluster: kind, user: kind-admin}
- name: kind-reader
  context: {cluster: kind, user: reader}
- name: eks
  context: {cluster: eks, user: eks-user}
`,
);

describe('kubeconfig', () => {
  it('lists contexts and the current one', async () => {
    expect(await kubeconfigContexts(join(dir, 'config'))).toEqual({ contexts: ['kind-admin', 'kind-reader', 'eks'], current: 'eks' });
  });

  it('reads a CA file relative to the kubeconfig and inline client certificates', async () => {
    const conn = await connectionFromKubeconfig(join(dir, 'config'), 'kind-admin');
    expect(conn.server).toBe('https://127.0.0.1:6443');
    expect(conn.ca?.toString()).toBe(CA);
    expect(conn.cert?.toString()).toBe('CERT');
    expect(conn.key?.toString()).toBe('KEY');
    expect(conn.insecureSkipTlsVerify).toBe(false);
    expect(await bearerToken(conn, {})).toBeUndefined();
  });

  it('reads a token file and runs an exec credential plugin', async () => {
    const reader = await connectionFromKubeconfig(join(dir, 'config'), 'kind-reader');
    expect(await bearerToken(reader, {})).toBe('file-token');
    const eks = await connectionFromKubeconfig(join(dir, 'config'));
    expect(eks.name).toBe('eks');
    expect(eks.insecureSkipTlsVerify).toBe(true);
    expect(await bearerToken(eks, { PATH: process.env.PATH })).toBe('exec-prod');
  });

  it('names the contexts it has when asked for one it lacks', async () => {
    await expect(connectionFromKubeconfig(join(dir, 'config'), 'prod')).rejects.toThrow('has no context "prod" (it has: kind-admin, kind-reader, eks)');
  });

  it('builds the in-cluster connection from the service account directory', async () => {
    const conn = await inClusterConnection('10.96.0.1', '443', dir);
    expect(conn.server).toBe('https://10.96.0.1:443');
    expect(conn.tokenFile).toBe(join(dir, 'token'));
    expect(await bearerToken(conn, {})).toBe('file-token');
  });
});

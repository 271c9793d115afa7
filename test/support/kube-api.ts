import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A Kubernetes API server replayed over node:http for tests that read a cluster "live": list
 * responses in the real JSON shapes (typed Lists with metadata.resourceVersion, Status objects for
 * errors), a bearer token checked like the API server does, a resource that never answers (a
 * time-out), and a kubeconfig pointing at it. The answers are mutable between reads, so a test can
 * change the cluster between two syncs. Watches stay open and quiet (the server's collector lists).
 */

export type ReplayAnswer =
  | { items: unknown[] }
  /** An error Status with this HTTP code (403 Forbidden, 404 …). */
  | { status: number; message: string; reason: string }
  /** Never answers: the caller's request time-out fires. */
  | 'hang';

export interface KubeReplay {
  readonly url: string;
  /** Sets what `GET <path>` (e.g. /api/v1/pods) answers; unset paths answer an empty list. */
  set(path: string, answer: ReplayAnswer): void;
  /** Writes a kubeconfig with context `context` (token auth; plain http, so insecure-skip-tls-verify) and returns its path. */
  writeKubeconfig(dir: string, context: string): string;
  /** Paths of the list requests received, in order. */
  readonly requests: string[];
  close(): Promise<void>;
}

const LIST_KINDS: Record<string, { kind: string; apiVersion: string }> = {
  namespaces: { kind: 'NamespaceList', apiVersion: 'v1' },
  nodes: { kind: 'NodeList', apiVersion: 'v1' },
  pods: { kind: 'PodList', apiVersion: 'v1' },
  services: { kind: 'ServiceList', apiVersion: 'v1' },
  serviceaccounts: { kind: 'ServiceAccountList', apiVersion: 'v1' },
  deployments: { kind: 'DeploymentList', apiVersion: 'apps/v1' },
  replicasets: { kind: 'ReplicaSetList', apiVersion: 'apps/v1' },
  rolebindings: { kind: 'RoleBindingList', apiVersion: 'rbac.authorization.k8s.io/v1' },
  clusterrolebindings: { kind: 'ClusterRoleBindingList', apiVersion: 'rbac.authorization.k8s.io/v1' },
  roles: { kind: 'RoleList', apiVersion: 'rbac.authorization.k8s.io/v1' },
  clusterroles: { kind: 'ClusterRoleList', apiVersion: 'rbac.authorization.k8s.io/v1' },
};

export async function startKubeReplay(token: string): Promise<KubeReplay> {
  const answers = new Map<string, ReplayAnswer>();
  const requests: string[] = [];
  const sockets = new Set<Socket>();
  let version = 1000;

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://replay');
    if (url.searchParams.get('watch')) return; // open and quiet
    requests.push(url.pathname);
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.headers.authorization !== `Bearer ${token}`) {
      json(401, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 });
      return;
    }
    const answer = answers.get(url.pathname) ?? { items: [] };
    if (answer === 'hang') return;
    if ('status' in answer) {
      json(answer.status, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: answer.message, reason: answer.reason, code: answer.status });
      return;
    }
    const resource = url.pathname.split('/').pop() ?? '';
    const list = LIST_KINDS[resource] ?? { kind: 'List', apiVersion: 'v1' };
    version += 1;
    json(200, { ...list, metadata: { resourceVersion: String(version) }, items: answer.items });
  };

  const server: Server = createServer(handle);
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;

  return {
    url,
    requests,
    set: (path, answer) => void answers.set(path, answer),
    writeKubeconfig(dir, context) {
      const path = join(dir, `kubeconfig-${context}`);
      writeFileSync(
        path,
        [
          'apiVersion: v1',
          'kind: Config',
          `current-context: ${context}`,
          'clusters:',
          `- name: ${context}`,
          '  cluster:',
          `    server: ${url}`,
          '    insecure-skip-tls-verify: true',
          'users:',
          '- name: collector',
          '  user:',
          `    token: ${token}`,
          'contexts:',
          `- name: ${context}`,
          `  context: {cluster: ${context}, user: collector}`,
          '',
        ].join('\n'),
      );
      return path;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

import { access, readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import type { KubeConfig, User } from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { AppError, errorMessage } from '../core/index.js';

/**
 * Connections to clusters through @kubernetes/client-node 1.x: its KubeConfig loads the kubeconfig
 * (contexts, CA file or data, insecure-skip-tls-verify, tls-server-name, proxy-url, client
 * certificates, bearer tokens, basic auth, exec credential plugins such as aws-iam-authenticator or
 * gke-gcloud-auth-plugin) and authenticates every request. client-node 2.x imports undici 8, which
 * needs Node ≥ 22; 1.x runs on Node 20.
 *
 * What this module adds to client-node, where it differs from kubectl:
 * - a user's `tokenFile` (client-node reads only a non-standard `token-file`, once, untrimmed): the
 *   file is re-read for every request (service account tokens rotate) and trimmed;
 * - exec plugins get KUBERNETES_EXEC_INFO, as kubectl gives them;
 * - a context without a user still gets its cluster's CA (client-node skips the TLS settings then);
 * - a plain-http server is refused with what to do about it (client-node refuses it unless the
 *   cluster sets insecure-skip-tls-verify).
 *
 * client-node takes about a second and 70 MB to load (its generated API models), so it is imported
 * on first use: commands that do not talk to a cluster never load it.
 */

export type ClientNode = typeof import('@kubernetes/client-node');

let clientNode: Promise<ClientNode> | undefined;

export function loadClientNode(): Promise<ClientNode> {
  clientNode ??= import('@kubernetes/client-node');
  return clientNode;
}

export interface KubeConnection {
  /** Name shown in the inventory (the context name, or "in-cluster"). */
  name: string;
  server: string;
  insecureSkipTlsVerify: boolean;
  /** client-node's KubeConfig with this connection's context current; without it, the connection is the server URL alone, with no credentials. */
  kubeConfig?: KubeConfig;
}

type Authenticator = Parameters<KubeConfig['addAuthenticator']>[0];

const TOKEN_FILE_PROVIDER = 'palisade-token-file';
const NO_CREDENTIALS = 'palisade:no-credentials';
const TokenFileProviderSchema = z.object({ name: z.literal(TOKEN_FILE_PROVIDER), config: z.object({ path: z.string() }) });

/** Bearer token from a file, read for every request (kubelet rotates projected service account tokens). */
const tokenFileAuthenticator: Authenticator = {
  isAuthProvider: (user) => TokenFileProviderSchema.safeParse(user.authProvider).success,
  async applyAuthentication(user, opts) {
    const { path } = TokenFileProviderSchema.parse(user.authProvider).config;
    let token: string;
    try {
      token = (await readFile(path, 'utf8')).trim();
    } catch (error) {
      throw new AppError('BAD_INPUT', `token file ${path} cannot be read: ${errorMessage(error)}`);
    }
    opts.headers = { ...opts.headers, Authorization: `Bearer ${token}` };
  },
};

/** The kubeconfig fields client-node does not read as kubectl does. */
const KubectlUsersSchema = z.looseObject({
  users: z.array(z.looseObject({ name: z.string(), user: z.looseObject({ tokenFile: z.string().optional() }).nullish() })).nullish(),
});
const ExecSchema = z.looseObject({
  apiVersion: z.string().optional(),
  env: z.array(z.looseObject({ name: z.string(), value: z.string() })).nullish(),
});

function withKubectlAuth(user: User, tokenFile: string | undefined): User {
  let out = user;
  if (tokenFile !== undefined && !user.token && !user.exec && !user.authProvider) out = { ...out, authProvider: { name: TOKEN_FILE_PROVIDER, config: { path: tokenFile } } };
  const exec = ExecSchema.safeParse(user.exec);
  if (exec.success) {
    const info = JSON.stringify({ apiVersion: exec.data.apiVersion ?? 'client.authentication.k8s.io/v1', kind: 'ExecCredential', spec: { interactive: false } });
    out = { ...out, exec: { ...exec.data, env: [...(exec.data.env ?? []), { name: 'KUBERNETES_EXEC_INFO', value: info }] } };
  }
  return out;
}

async function loadKubeconfig(path: string): Promise<KubeConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new AppError('NOT_FOUND', `cannot read kubeconfig ${path}: ${errorMessage(error)}; pass --kubeconfig PATH`);
  }
  const { KubeConfig } = await loadClientNode();
  const kc = new KubeConfig();
  kc.addAuthenticator(tokenFileAuthenticator);
  try {
    kc.loadFromString(text);
  } catch (error) {
    throw new AppError('BAD_INPUT', `kubeconfig ${path} is not valid: ${errorMessage(error)}`);
  }
  const baseDir = dirname(path);
  kc.makePathsAbsolute(baseDir);
  const raw = KubectlUsersSchema.safeParse(parseYaml(text));
  const tokenFiles = new Map<string, string>();
  for (const u of (raw.success ? raw.data.users : undefined) ?? []) {
    const file = u.user?.tokenFile;
    if (file) tokenFiles.set(u.name, isAbsolute(file) ? file : join(baseDir, file));
  }
  // client-node applies a cluster's CA only for a context that names a user: a context without one gets a user without credentials.
  const contexts = kc.getContexts().map((c) => (c.user ? c : { ...c, user: NO_CREDENTIALS }));
  kc.loadFromOptions({
    clusters: kc.getClusters(),
    contexts,
    currentContext: kc.getCurrentContext(),
    users: [...kc.getUsers().map((u) => withKubectlAuth(u, tokenFiles.get(u.name))), { name: NO_CREDENTIALS }],
  });
  return kc;
}

/** The contexts of a kubeconfig file, and its current context. */
export async function kubeconfigContexts(path: string): Promise<{ contexts: string[]; current: string | undefined }> {
  const kc = await loadKubeconfig(path);
  return { contexts: kc.getContexts().map((c) => c.name), current: kc.getCurrentContext() || undefined };
}

/** The connection of one context (the current one when `context` is undefined). */
export async function connectionFromKubeconfig(path: string, context?: string): Promise<KubeConnection> {
  const kc = await loadKubeconfig(path);
  const name = context ?? kc.getCurrentContext();
  if (!name) throw new AppError('BAD_INPUT', `kubeconfig ${path} has no current-context: pass --context NAME`);
  const ctx = kc.getContextObject(name);
  if (ctx === null) {
    throw new AppError('NOT_FOUND', `kubeconfig ${path} has no context "${name}" (it has: ${kc.getContexts().map((c) => c.name).join(', ') || 'none'})`);
  }
  kc.setCurrentContext(name);
  const cluster = kc.getCurrentCluster();
  if (cluster === null) throw new AppError('BAD_INPUT', `context "${name}" names cluster "${ctx.cluster}", which the kubeconfig does not define`);
  if (cluster.server.startsWith('http:') && !cluster.skipTLSVerify) {
    throw new AppError(
      'BAD_INPUT',
      `context "${name}": cluster "${cluster.name}" is served over plain http (${cluster.server}); set insecure-skip-tls-verify: true on that cluster to allow it, or use its https address`,
    );
  }
  return { name, server: cluster.server, insecureSkipTlsVerify: cluster.skipTLSVerify, kubeConfig: kc };
}

export const IN_CLUSTER_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * The in-cluster connection of a pod, from its environment (KUBERNETES_SERVICE_HOST and _PORT, 443
 * by default); `notInPod` is the error when the host is not set (the command's own wording).
 */
export async function inClusterConnectionFromEnv(env: NodeJS.ProcessEnv, notInPod: string): Promise<KubeConnection> {
  const host = env.KUBERNETES_SERVICE_HOST;
  if (!host) throw new AppError('BAD_INPUT', notInPod);
  return inClusterConnection(host, env.KUBERNETES_SERVICE_PORT ?? '443');
}

/**
 * The in-cluster connection: the service account's CA and token under `dir`, the API server at
 * `host`:`port` (the caller reads KUBERNETES_SERVICE_HOST/PORT; client-node's loadFromCluster would
 * read process.env itself and fixes the directory).
 */
export async function inClusterConnection(host: string, port: string, dir = IN_CLUSTER_DIR): Promise<KubeConnection> {
  const { KubeConfig } = await loadClientNode();
  const kc = new KubeConfig();
  kc.addAuthenticator(tokenFileAuthenticator);
  const server = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const caFile = join(dir, 'ca.crt');
  const hasCa = await access(caFile).then(
    () => true,
    () => false,
  );
  kc.loadFromClusterAndUser(
    { name: 'in-cluster', server, skipTLSVerify: false, ...(hasCa ? { caFile } : {}) },
    { name: 'in-cluster', authProvider: { name: TOKEN_FILE_PROVIDER, config: { path: join(dir, 'token') } } },
  );
  return { name: 'in-cluster', server, insecureSkipTlsVerify: false, kubeConfig: kc };
}

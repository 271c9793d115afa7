import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { AppError, errorMessage } from '../core/index.js';

/**
 * Connection settings of a cluster, from a kubeconfig context or the in-cluster service account.
 * Supports what kubectl users have: server + CA (file or data), bearer token (inline or file),
 * client certificates, basic auth, insecure-skip-tls-verify and exec credential plugins
 * (client.authentication.k8s.io ExecCredential, e.g. aws-iam-authenticator, gke-gcloud-auth-plugin).
 *
 * Why not @kubernetes/client-node's KubeConfig: client-node 2.x imports undici 8, which needs
 * Node ≥ 22.19 and throws at import on Node 20 (zlib.createZstdDecompress is missing). The
 * collector talks to the API server over node:http/https with the same kubeconfig semantics.
 */

export interface ExecPlugin {
  command: string;
  args: string[];
  env: Record<string, string>;
  apiVersion: string;
}

export interface KubeConnection {
  /** Name shown in the inventory (the context name, or "in-cluster"). */
  name: string;
  server: string;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  token?: string;
  tokenFile?: string;
  username?: string;
  password?: string;
  insecureSkipTlsVerify: boolean;
  exec?: ExecPlugin;
}

const KubeconfigSchema = z.looseObject({
  'current-context': z.string().optional(),
  clusters: z
    .array(
      z.looseObject({
        name: z.string(),
        cluster: z.looseObject({
          server: z.string(),
          'certificate-authority': z.string().optional(),
          'certificate-authority-data': z.string().optional(),
          'insecure-skip-tls-verify': z.boolean().optional(),
        }),
      }),
    )
    .default([]),
  users: z
    .array(
      z.looseObject({
        name: z.string(),
        user: z
          .looseObject({
            token: z.string().optional(),
            tokenFile: z.string().optional(),
            'client-certificate': z.string().optional(),
            'client-certificate-data': z.string().optional(),
            'client-key': z.string().optional(),
            'client-key-data': z.string().optional(),
            username: z.string().optional(),
            password: z.string().optional(),
            exec: z
              .looseObject({
                command: z.string(),
                args: z.array(z.string()).nullable().optional(),
                env: z.array(z.looseObject({ name: z.string(), value: z.string() })).nullable().optional(),
                apiVersion: z.string().default('client.authentication.k8s.io/v1'),
              })
              .optional(),
          })
          .default({}),
      }),
    )
    .default([]),
  contexts: z
    .array(z.looseObject({ name: z.string(), context: z.looseObject({ cluster: z.string(), user: z.string().optional(), namespace: z.string().optional() }) }))
    .default([]),
});

async function fileOrData(baseDir: string, file: string | undefined, data: string | undefined, what: string): Promise<Buffer | undefined> {
  if (data !== undefined) return Buffer.from(data, 'base64');
  if (file === undefined) return undefined;
  const path = isAbsolute(file) ? file : join(baseDir, file);
  try {
    return await readFile(path);
  } catch (error) {
    throw new AppError('BAD_INPUT', `kubeconfig ${what} ${path} cannot be read: ${errorMessage(error)}`);
  }
}

/** The contexts of a kubeconfig file, and its current context. */
export async function kubeconfigContexts(path: string): Promise<{ contexts: string[]; current: string | undefined }> {
  const config = await readKubeconfig(path);
  return { contexts: config.contexts.map((c) => c.name), current: config['current-context'] };
}

async function readKubeconfig(path: string): Promise<z.infer<typeof KubeconfigSchema>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new AppError('NOT_FOUND', `cannot read kubeconfig ${path}: ${errorMessage(error)}; pass --kubeconfig PATH`);
  }
  const parsed = KubeconfigSchema.safeParse(parseYaml(text));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AppError('BAD_INPUT', `kubeconfig ${path} is not valid at ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

/** Connection settings of one context (the current one when `context` is undefined). */
export async function connectionFromKubeconfig(path: string, context?: string): Promise<KubeConnection> {
  const config = await readKubeconfig(path);
  const name = context ?? config['current-context'];
  if (name === undefined || name === '') throw new AppError('BAD_INPUT', `kubeconfig ${path} has no current-context: pass --context NAME`);
  const ctx = config.contexts.find((c) => c.name === name);
  if (ctx === undefined) {
    throw new AppError('NOT_FOUND', `kubeconfig ${path} has no context "${name}" (it has: ${config.contexts.map((c) => c.name).join(', ') || 'none'})`);
  }
  const cluster = config.clusters.find((c) => c.name === ctx.context.cluster);
  if (cluster === undefined) throw new AppError('BAD_INPUT', `context "${name}" names cluster "${ctx.context.cluster}", which the kubeconfig does not define`);
  const user = config.users.find((u) => u.name === ctx.context.user)?.user ?? {};
  const baseDir = dirname(path);
  const conn: KubeConnection = { name, server: cluster.cluster.server.replace(/\/+$/, ''), insecureSkipTlsVerify: cluster.cluster['insecure-skip-tls-verify'] === true };
  const ca = await fileOrData(baseDir, cluster.cluster['certificate-authority'], cluster.cluster['certificate-authority-data'], 'certificate-authority');
  if (ca) conn.ca = ca;
  const cert = await fileOrData(baseDir, user['client-certificate'], user['client-certificate-data'], 'client-certificate');
  if (cert) conn.cert = cert;
  const key = await fileOrData(baseDir, user['client-key'], user['client-key-data'], 'client-key');
  if (key) conn.key = key;
  if (user.token) conn.token = user.token;
  if (user.tokenFile) conn.tokenFile = isAbsolute(user.tokenFile) ? user.tokenFile : join(baseDir, user.tokenFile);
  if (user.username) conn.username = user.username;
  if (user.password) conn.password = user.password;
  if (user.exec) {
    conn.exec = {
      command: user.exec.command,
      args: user.exec.args ?? [],
      env: Object.fromEntries((user.exec.env ?? []).map((e) => [e.name, e.value])),
      apiVersion: user.exec.apiVersion,
    };
  }
  return conn;
}

export const IN_CLUSTER_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** The in-cluster connection: host and port come from the environment the caller passes. */
export async function inClusterConnection(host: string, port: string, dir = IN_CLUSTER_DIR): Promise<KubeConnection> {
  const ca = await readFile(join(dir, 'ca.crt')).catch(() => undefined);
  const hostPart = host.includes(':') ? `[${host}]` : host;
  const conn: KubeConnection = { name: 'in-cluster', server: `https://${hostPart}:${port}`, tokenFile: join(dir, 'token'), insecureSkipTlsVerify: false };
  if (ca) conn.ca = ca;
  return conn;
}

const ExecCredentialSchema = z.looseObject({ status: z.looseObject({ token: z.string().optional() }).optional() });

/** The bearer token to send: inline, from a file (re-read each time, it rotates), or from an exec plugin. */
export async function bearerToken(conn: KubeConnection, baseEnv: Record<string, string | undefined>): Promise<string | undefined> {
  if (conn.token) return conn.token;
  if (conn.tokenFile) return (await readFile(conn.tokenFile, 'utf8')).trim();
  if (conn.exec) {
    const plugin = conn.exec;
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(
        plugin.command,
        plugin.args,
        { env: { ...baseEnv, ...plugin.env, KUBERNETES_EXEC_INFO: JSON.stringify({ apiVersion: plugin.apiVersion, kind: 'ExecCredential', spec: { interactive: false } }) }, timeout: 30_000 },
        (error, out) => (error ? reject(new AppError('UPSTREAM', `credential plugin ${plugin.command} failed: ${errorMessage(error)}`)) : resolve(out)),
      );
    });
    const parsed = ExecCredentialSchema.safeParse(JSON.parse(stdout));
    if (!parsed.success || !parsed.data.status?.token) throw new AppError('UPSTREAM', `credential plugin ${plugin.command} returned no status.token`);
    return parsed.data.status.token;
  }
  return undefined;
}

import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { Command } from 'commander';
import { z } from 'zod';
import { AppError, systemClock } from '../core/index.js';
import { createRegistryClient } from '../image/index.js';
import { connectionFromKubeconfig, createTransport, inClusterConnection } from '../kube/cli-api.js';
import {
  admissionManifests,
  createMemoryAuditSink,
  createPollingClusterCache,
  lookupKinds,
  createPolicyRuntime,
  createRegistryDigestResolver,
  createRuntimeHandler,
  generateSelfSigned,
  loadLibrary,
  readTlsFiles,
  serviceDnsNames,
  startAdmissionServer,
  watchTlsFiles,
  type PollingClusterCache,
  type TlsMaterial,
} from '../policy/index.js';
import { createAdmissionShipper } from '../policy/ship.js';
import type { CliContext } from './context.js';

const ServeOptionsSchema = z
  .object({
    tlsCert: z.string().min(1).optional(),
    tlsKey: z.string().min(1).optional(),
    selfSigned: z.boolean().default(false),
    port: z.coerce.number().int().min(0).max(65535).default(8443),
    host: z.string().default('0.0.0.0'),
    assignments: z.string().min(1).optional(),
    policies: z.array(z.string()).default([]),
    server: z.string().url().optional(),
    token: z.string().min(1).optional(),
    cluster: z.string().min(1).max(200).optional(),
    resolveTags: z.boolean().default(false),
    kubeconfig: z.string().optional(),
    context: z.string().optional(),
    name: z.array(z.string()).default([]),
  })
  .refine((o) => o.selfSigned !== (o.tlsCert !== undefined && o.tlsKey !== undefined), 'pass either --tls-cert and --tls-key, or --self-signed');

const ManifestOptionsSchema = z.object({
  namespace: z.string().min(1),
  image: z.string().min(1),
  replicas: z.coerce.number().int(),
  failurePolicy: z.enum(['Ignore', 'Fail']),
  timeout: z.coerce.number().int(),
  assignments: z.string().optional(),
  certManagerIssuer: z.string().optional(),
  server: z.string().url().optional(),
  tokenSecret: z.string().min(1).max(253).optional(),
  cluster: z.string().min(1).max(200).optional(),
});

function parse<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw new AppError('BAD_INPUT', result.error.issues.map((i) => `${i.path.join('.') ? `--${i.path.join('.')}: ` : ''}${i.message}`).join('; '));
  return result.data;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function registerAdmission(program: Command, ctx: CliContext): void {
  const admission = program
    .command('admission')
    .description('Run the validating admission webhook (AdmissionReview v1 over HTTPS)')
    .option('--tls-cert <file>', 'serving certificate (PEM); reloaded when the file changes (cert-manager)')
    .option('--tls-key <file>', 'serving key (PEM)')
    .option('--self-signed', 'generate a CA and serving certificate at start (needs openssl) and print the caBundle')
    .option('--name <dns>', 'DNS name or IP for the self-signed certificate (repeatable; default the in-cluster service names)', collect, [])
    .option('--port <n>', 'HTTPS port', '8443')
    .option('--host <address>', 'address to listen on', '0.0.0.0')
    .option('--assignments <file>', 'assignments file (policies and initiatives with scope, parameters and effect; gating rules)')
    .option('--policies <dir>', 'directory of your own policies (repeatable)', collect, [])
    .option('--server <url>', 'palisade server URL for gated deployment (findings by image digest) and, with --token, for the violation records')
    .option('--token <token>', 'admission token of the server (admission.tokens; or PALISADE_ADMISSION_TOKEN): ship Audit/Warn/Deny violation records to --server')
    .option('--cluster <name>', 'cluster name of the shipped records, when the server does not tie the token to one')
    .option('--resolve-tags', 'resolve image tags to digests through the registry for gated deployment')
    .option('--kubeconfig <path>', 'read namespace objects through this kubeconfig (in a pod: the service account is used)')
    .option('--context <name>', 'kubeconfig context')
    .action(async (raw: unknown) => {
      const o = parse(ServeOptionsSchema, raw);
      // Namespace objects and looked-up kinds come from the API server (in a pod, or with --kubeconfig).
      let cluster: PollingClusterCache | undefined;
      const host = process.env.KUBERNETES_SERVICE_HOST;
      const objects = {
        list: (kind: string, namespace: string) => cluster?.list(kind, namespace) ?? [],
        get: (name: string) => cluster?.get(name) ?? null,
      };
      const runtime = createPolicyRuntime({
        objects,
        ...(o.assignments ? { assignmentsFile: o.assignments } : {}),
        policyDirs: o.policies,
        ...(o.server ? { server: o.server } : {}),
        ...(process.env.PALISADE_TOKEN ? { serverToken: process.env.PALISADE_TOKEN } : {}),
        ...(o.resolveTags ? { resolve: createRegistryDigestResolver(createRegistryClient({ log: ctx.log, timeoutMs: 3000, retries: 0 }), systemClock) } : {}),
        clock: systemClock,
        log: ctx.log,
      });
      let tls: TlsMaterial;
      if (o.selfSigned) {
        tls = generateSelfSigned({ names: o.name.length > 0 ? o.name : [...serviceDnsNames('palisade-admission', 'palisade-system'), 'localhost', '127.0.0.1'] });
      } else {
        tls = readTlsFiles(o.tlsCert ?? '', o.tlsKey ?? '');
      }
      const audit = createMemoryAuditSink(1000);
      const log = ctx.log.child({ component: 'admission' });
      const shipToken = o.token ?? process.env.PALISADE_ADMISSION_TOKEN;
      if (shipToken !== undefined && o.server === undefined) throw new AppError('BAD_INPUT', '--token needs --server URL: the palisade server the violation records go to');
      const shipper = o.server !== undefined && shipToken !== undefined ? createAdmissionShipper({ server: o.server, token: shipToken, webhook: hostname(), ...(o.cluster ? { cluster: o.cluster } : {}), clock: systemClock, log }) : undefined;
      if (o.kubeconfig || host) {
        const conn = o.kubeconfig ? await connectionFromKubeconfig(o.kubeconfig, o.context) : await inClusterConnection(host ?? '', process.env.KUBERNETES_SERVICE_PORT ?? '443');
        cluster = createPollingClusterCache(createTransport(conn, process.env), log, lookupKinds(runtime.engine));
        await cluster.refresh();
      }
      const handler = createRuntimeHandler(runtime, {
        audit: {
          record: (r) => {
            audit.record(r);
            shipper?.sink.record(r);
            log.info({ uid: r.uid, kind: r.kind, namespace: r.namespace, name: r.name, allowed: r.allowed, violations: r.violations.map((v) => `${v.policyId}:${v.effect}`) }, 'admission audit');
          },
        },
        namespaces: objects,
        clock: systemClock,
        log,
      });
      const server = await startAdmissionServer({ handler, tls, port: o.port, host: o.host, log, auditRecords: audit.records });
      shipper?.start();
      const stopWatching = o.selfSigned ? () => {} : watchTlsFiles(o.tlsCert ?? '', o.tlsKey ?? '', (m) => server.setTls(m), log);
      ctx.err(`palisade admission: ${runtime.engine.assignments.length} policy assignments, listening on https://${o.host}:${server.port}/validate\n`);
      if (o.selfSigned && tls.ca) ctx.out(`caBundle: ${Buffer.from(tls.ca).toString('base64')}\n`);
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          stopWatching();
          void server
            .close()
            .then(() => shipper?.stop())
            .then(resolve);
        };
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
      });
    });

  admission
    .command('manifests')
    .description('Print the Kubernetes objects that install the webhook (YAML)')
    .option('--namespace <ns>', 'namespace of the webhook', 'palisade-system')
    .option('--image <ref>', 'palisade image', 'ghcr.io/palisade-dev/palisade:0.1.0')
    .option('--replicas <n>', 'webhook replicas', '2')
    .option('--failure-policy <policy>', 'Ignore (default: admission continues when the webhook is down) or Fail', 'Ignore')
    .option('--timeout <seconds>', 'webhook timeoutSeconds', '5')
    .option('--assignments <file>', 'assignments file to ship in a ConfigMap')
    .option('--cert-manager-issuer <name>', 'use a cert-manager Issuer instead of a generated self-signed certificate')
    .option('--server <url>', 'palisade server URL for gated deployment')
    .option('--token-secret <name>', "Secret (key 'token') holding the server's admission token: the webhook ships its violation records to --server")
    .option('--cluster <name>', 'cluster name of the shipped records, when the server does not tie the token to one')
    .action((raw: unknown) => {
      const o = parse(ManifestOptionsSchema, raw);
      const assignmentsYaml = o.assignments ? readFileSync(o.assignments, 'utf8') : undefined;
      const library = loadLibrary();
      const yaml = admissionManifests({
        namespace: o.namespace,
        image: o.image,
        replicas: o.replicas,
        failurePolicy: o.failurePolicy,
        timeoutSeconds: o.timeout,
        excludedNamespaces: [...library.defaultExcludedNamespaces, 'kube-node-lease', 'kube-public'],
        ...(assignmentsYaml !== undefined ? { assignmentsYaml } : {}),
        tls: o.certManagerIssuer
          ? { mode: 'cert-manager', issuer: o.certManagerIssuer }
          : { mode: 'self-signed', material: generateSelfSigned({ names: serviceDnsNames('palisade-admission', o.namespace) }) },
        ...(o.server ? { server: o.server } : {}),
        ...(o.tokenSecret ? { recordsTokenSecret: o.tokenSecret } : {}),
        ...(o.cluster ? { cluster: o.cluster } : {}),
      });
      ctx.out(yaml);
    });
}

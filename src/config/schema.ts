import { z } from 'zod';
import { suppressionSchema } from '../threat/alert.js';

/**
 * The one configuration schema of `palisade server`. One YAML file plus environment overrides
 * (see load.ts), validated once at start-up; an error names the key that is wrong.
 */
const duration = z.number().int().positive();

export const registrySchema = z
  .object({
    /** Name used in hook URLs (/api/v1/hooks/distribution/<name>) and the JSON hook body. */
    name: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'lower-case letters, digits, ".", "_" or "-"'),
    /** Base URL, e.g. https://registry.example.com or http://127.0.0.1:5000 (http means plain HTTP). */
    url: z.url(),
    credentials: z.object({ username: z.string().min(1), password: z.string().min(1) }).optional(),
    /** A JSON file {"username": …, "password": …} read at start (instead of inline credentials). */
    credentialsFile: z.string().min(1).optional(),
    /** Repository globs to watch (`*` inside one path segment, `**` across); empty means all. */
    include: z.array(z.string().min(1)).default([]),
    exclude: z.array(z.string().min(1)).default([]),
    /** Shared secret the registry sends in the notification header. Without it notifications are refused. */
    notificationSecret: z.string().min(16, 'use at least 16 characters').optional(),
    /** Catalogue sync period in seconds; 0 disables it (use notifications). */
    syncIntervalSeconds: z.number().int().min(0).default(0),
  })
  .strict();

/** A bearer token of a machine sender (the API server's audit webhook, a node's sensor); `cluster` names alerts that carry none. */
export const senderTokenSchema = z
  .object({ name: z.string().min(1), token: z.string().min(16, 'use at least 16 characters'), cluster: z.string().min(1).max(200).optional() })
  .strict();

/**
 * A cluster's policy compliance audit, in the format `palisade policy audit` takes: an assignments
 * file (src/policy/schema.ts; default: Pod Security baseline Deny + restricted Audit, as the CLI) and
 * directories of the site's own policies.
 */
export const clusterPolicySchema = z
  .object({
    enabled: z.boolean().default(true),
    /** Assignments file (`palisade policy audit --assignments`, `palisade admission --assignments`). */
    assignments: z.string().min(1).optional(),
    /** Directories of your own policies (`--policies`), beside those the assignments file names. */
    policies: z.array(z.string().min(1)).default([]),
    /** Violating objects' violations kept per assignment; the rest are counted, not stored. */
    maxViolationsPerPolicy: z.number().int().min(0).max(100_000).default(1000),
  })
  .strict();

/**
 * A cluster the server reads on a period (agentless discovery): a kubeconfig (and context), the
 * cluster the server runs in, or files (`kubectl get -A -o json` dumps, manifests: air-gapped sites, tests).
 */
export const clusterSchema = z
  .object({
    /** Name used in URLs (/api/v1/clusters/<name>/…) and stored with the cluster's running images. */
    name: z.string().max(200).regex(/^[a-z0-9][a-z0-9._-]*$/, 'lower-case letters, digits, ".", "_" or "-"'),
    kubeconfig: z.string().min(1).optional(),
    /** Context of the kubeconfig (default: its current-context). */
    context: z.string().min(1).optional(),
    /** Read the cluster this server runs in, with its service account. */
    inCluster: z.boolean().optional(),
    /** Offline inventory: files or directories of kubectl get -A -o json output, YAML manifests, helm template output. */
    from: z.array(z.string().min(1)).min(1).optional(),
    /** Seconds between syncs. */
    intervalSeconds: z.number().int().min(10).default(900),
    /** Timeout of one API list call, seconds (a resource that does not answer is recorded as not read). */
    requestTimeoutSeconds: z.number().positive().max(600).default(60),
    /** Posture settings overriding src/kube/posture/settings.yaml (any subset of its keys). */
    settings: z.record(z.string(), z.unknown()).optional(),
    /** The policy compliance audit each sync runs on the inventory it built (default: on, with the built-in assignments). */
    policy: clusterPolicySchema.default({ enabled: true, policies: [], maxViolationsPerPolicy: 1000 }),
  })
  .strict()
  .superRefine((c, ctx) => {
    const sources = [c.kubeconfig !== undefined, c.inCluster === true, c.from !== undefined].filter(Boolean).length;
    if (sources !== 1) ctx.addIssue({ code: 'custom', message: 'set exactly one of kubeconfig (with context), inCluster: true or from: [files]', path: [] });
    if (c.context !== undefined && c.kubeconfig === undefined) ctx.addIssue({ code: 'custom', message: 'context needs kubeconfig: the path of the kubeconfig file', path: ['context'] });
  });

export const tokenSchema = z.object({ name: z.string().min(1), token: z.string().min(16, 'use at least 16 characters'), role: z.enum(['reader', 'admin']) }).strict();

export const configSchema = z
  .object({
    server: z
      .object({
        host: z.string().default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(8080),
        /** Largest request body accepted, bytes. */
        bodyLimit: z.number().int().min(1024).max(64 * 1024 * 1024).default(1024 * 1024),
      })
      .strict()
      .default({ host: '127.0.0.1', port: 8080, bodyLimit: 1024 * 1024 }),
    /** SQLite file path or postgres:// URL. */
    database: z.string().min(1).default('palisade.sqlite'),
    /** The advisory DB file (built by `palisade db update` / `db import`). */
    advisoryDb: z.string().min(1),
    /** Platform picked from multi-platform images. */
    platform: z.string().regex(/^[a-z0-9]+\/[a-z0-9]+(\/[a-z0-9]+)?$/).default('linux/amd64'),
    auth: z.object({ tokens: z.array(tokenSchema).min(1, 'configure at least one token') }).strict(),
    registries: z.array(registrySchema).default([]),
    /** Clusters read on a period: running images, nodes, posture recommendations, attack paths, the explorer's inventory. */
    clusters: z
      .array(clusterSchema)
      .default([])
      .superRefine((list, ctx) => {
        const seen = new Set<string>();
        list.forEach((c, i) => {
          if (seen.has(c.name)) ctx.addIssue({ code: 'custom', message: `cluster name "${c.name}" is used twice`, path: [i, 'name'] });
          seen.add(c.name);
        });
      }),
    workers: z
      .object({
        concurrency: z.number().int().min(0).max(64).default(2),
        leaseSeconds: duration.default(60),
        maxAttempts: z.number().int().min(1).max(20).default(3),
        retryDelaySeconds: z.number().int().min(0).default(30),
        pollMilliseconds: duration.default(500),
      })
      .strict()
      .default({ concurrency: 2, leaseSeconds: 60, maxAttempts: 3, retryDelaySeconds: 30, pollMilliseconds: 500 }),
    rescan: z
      .object({
        pushedWithinDays: z.number().int().min(0).default(90),
        pulledWithinDays: z.number().int().min(0).default(30),
        includeRunning: z.boolean().default(true),
        /** UTC hour of the daily re-evaluation. */
        dailyAtHourUtc: z.number().int().min(0).max(23).default(3),
        /** How often the scheduler looks at the clock and the advisory DB, seconds. */
        checkIntervalSeconds: duration.default(60),
      })
      .strict()
      .default({ pushedWithinDays: 90, pulledWithinDays: 30, includeRunning: true, dailyAtHourUtc: 3, checkIntervalSeconds: 60 }),
    usage: z
      .object({
        /** vCPU cores covered when no discovered nodes are known. */
        cores: z.number().int().min(0).default(0),
      })
      .strict()
      .default({ cores: 0 }),
    events: z
      .object({
        webhookUrl: z.url().optional(),
        webhookSecret: z.string().min(16, 'use at least 16 characters').optional(),
        jsonlPath: z.string().min(1).optional(),
        /** An image counts as recently pushed for events within this many days. */
        recentPushDays: z.number().int().min(0).default(7),
        minSeverity: z.enum(['critical', 'high']).default('high'),
      })
      .strict()
      .refine((e) => !e.webhookUrl || e.webhookSecret, { message: 'events.webhookUrl needs events.webhookSecret to sign deliveries', path: ['webhookSecret'] })
      .default({ recentPushDays: 7, minSeverity: 'high' }),
    /** Threat alerts: the audit webhook (kube-apiserver) and the node sensors. */
    alerts: z
      .object({
        /** Tokens kube-apiserver sends (kubeconfig `users[].user.token` of --audit-webhook-config-file). Empty: the endpoint is off. */
        auditTokens: z.array(senderTokenSchema).default([]),
        /** Largest audit webhook body, bytes (kube-apiserver's --audit-webhook-batch-max-size × event size). */
        auditBodyLimit: z.number().int().min(1024).max(32 * 1024 * 1024).default(32 * 1024 * 1024),
        /** Audit batches analysed at once; more get 429 and kube-apiserver retries with back-off. */
        auditMaxConcurrent: z.number().int().min(1).max(64).default(4),
        /** SQLite file keeping the audit detectors' baselines; default: beside a SQLite store, else in memory. */
        auditStateFile: z.string().min(1).optional(),
        /** User audit rule directories merged over the built-in rules. */
        auditRules: z.array(z.string().min(1)).default([]),
        /** Node tokens the sensors send (`palisade sensor --token`). Empty: the endpoint is off. */
        sensorTokens: z.array(senderTokenSchema).default([]),
        /** Largest sensor batch body, bytes. */
        sensorBodyLimit: z.number().int().min(1024).max(64 * 1024 * 1024).default(16 * 1024 * 1024),
        /** Repeats of an alert (same rule, subject, target) within this many seconds of its first event join it. */
        groupWindowSeconds: z.number().int().min(0).max(86_400).default(300),
        /** Evidence events kept per stored alert. */
        maxEvidence: z.number().int().min(1).max(100).default(5),
        suppressions: z.array(suppressionSchema).default([]),
      })
      .strict()
      .default({ auditTokens: [], auditBodyLimit: 32 * 1024 * 1024, auditMaxConcurrent: 4, auditRules: [], sensorTokens: [], sensorBodyLimit: 16 * 1024 * 1024, groupWindowSeconds: 300, maxEvidence: 5, suppressions: [] }),
    /** Violation records of the admission webhooks (`palisade admission --server URL --token T`). */
    admission: z
      .object({
        /** Tokens the webhooks send; `cluster` names the records of a token (else the batch's cluster). Empty: the endpoint is off. */
        tokens: z.array(senderTokenSchema).default([]),
        /** Largest record batch body, bytes. */
        bodyLimit: z.number().int().min(1024).max(64 * 1024 * 1024).default(16 * 1024 * 1024),
        /** Stored violations older than this many days are deleted (checked at most hourly, when a batch arrives). */
        retentionDays: z.number().int().min(1).max(3650).default(90),
      })
      .strict()
      .default({ tokens: [], bodyLimit: 16 * 1024 * 1024, retentionDays: 90 }),
  })
  .strict();

export type ServerConfig = z.infer<typeof configSchema>;
export type RegistryConfig = z.infer<typeof registrySchema>;
export type ClusterConfig = z.infer<typeof clusterSchema>;
export type AlertsConfig = ServerConfig['alerts'];
export type SenderToken = z.infer<typeof senderTokenSchema>;
export type ClusterPolicyConfig = z.infer<typeof clusterPolicySchema>;
export type AdmissionConfig = ServerConfig['admission'];

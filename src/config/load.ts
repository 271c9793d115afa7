import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { AppError, errorMessage } from '../core/index.js';
import { configSchema, type ServerConfig } from './schema.js';

/**
 * Loads the server configuration: the YAML file, then environment overrides, then zod. Overrides are
 * `PALISADE__<key>__<key>=value` (double underscore between keys, case-insensitive, camelCase keys
 * matched ignoring case), e.g. `PALISADE__SERVER__PORT=9000`, `PALISADE__DATABASE=postgres://…`.
 * Values are YAML scalars (numbers and booleans typed) or JSON. The environment is passed in; this
 * module never reads process.env.
 */
export const ENV_PREFIX = 'PALISADE__';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The known key spelling at each level, so PALISADE__SERVER__BODYLIMIT finds server.bodyLimit. */
function keyAt(shape: z.ZodType | undefined, wanted: string): { key: string; child: z.ZodType | undefined } {
  let inner: unknown = shape;
  for (let i = 0; i < 5 && inner instanceof z.ZodType && !(inner instanceof z.ZodObject); i++) {
    const def: unknown = inner.def;
    inner = isRecord(def) ? (def.innerType ?? def.in ?? def.schema) : undefined;
  }
  if (inner instanceof z.ZodObject) {
    const fields: Record<string, z.ZodType> = inner.shape;
    for (const [key, child] of Object.entries(fields)) if (key.toLowerCase() === wanted.toLowerCase()) return { key, child };
  }
  return { key: wanted, child: undefined };
}

export function applyEnvOverrides(base: Record<string, unknown>, env: Record<string, string | undefined>): Record<string, unknown> {
  const out: Record<string, unknown> = structuredClone(base);
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || raw === undefined) continue;
    const parts = name.slice(ENV_PREFIX.length).split('__').filter((p) => p.length > 0);
    if (parts.length === 0) continue;
    let target = out;
    let shape: z.ZodType | undefined = configSchema;
    for (const [index, part] of parts.entries()) {
      const { key, child } = keyAt(shape, part);
      shape = child;
      if (index === parts.length - 1) {
        let value: unknown;
        try {
          value = parseYaml(raw);
        } catch {
          value = raw;
        }
        target[key] = value;
      } else {
        const next = target[key];
        if (!isRecord(next)) target[key] = {};
        const created = target[key];
        if (!isRecord(created)) break;
        target = created;
      }
    }
  }
  return out;
}

export function parseConfig(document: unknown, env: Record<string, string | undefined>, source: string): ServerConfig {
  const base = document === null || document === undefined ? {} : document;
  if (!isRecord(base)) throw new AppError('BAD_INPUT', `${source}: the configuration must be a YAML mapping of keys`);
  const merged = applyEnvOverrides(base, env);
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join('.') || '(root)'}: ${issue.message}`);
    throw new AppError('BAD_INPUT', `${source}: invalid configuration (environment overrides ${ENV_PREFIX}… included):\n${lines.join('\n')}`);
  }
  return parsed.data;
}

/** Reads and validates the config file; relative paths inside it (database, advisoryDb, credentialsFile, jsonlPath, alerts.auditStateFile, alerts.auditRules, clusters' kubeconfig, from and policy files) are resolved against the file's folder. */
export function loadConfig(path: string | undefined, env: Record<string, string | undefined>): ServerConfig {
  let document: unknown = {};
  let base = process.cwd();
  if (path) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (cause) {
      throw new AppError('NOT_FOUND', `cannot read the configuration file ${path}: ${errorMessage(cause)}`, { cause });
    }
    try {
      document = parseYaml(text, { maxAliasCount: 50 });
    } catch (cause) {
      throw new AppError('BAD_INPUT', `${path} is not valid YAML: ${errorMessage(cause)}`, { cause });
    }
    base = dirname(resolve(path));
  }
  const config = parseConfig(document, env, path ?? 'configuration');
  const at = (p: string): string => (isAbsolute(p) ? p : resolve(base, p));
  return {
    ...config,
    database: /^postgres(ql)?:\/\//.test(config.database) || config.database === ':memory:' ? config.database : at(config.database),
    advisoryDb: at(config.advisoryDb),
    registries: config.registries.map((r) => (r.credentialsFile ? { ...r, credentialsFile: at(r.credentialsFile) } : r)),
    clusters: config.clusters.map((c) => ({
      ...c,
      ...(c.kubeconfig !== undefined ? { kubeconfig: at(c.kubeconfig) } : {}),
      ...(c.from !== undefined ? { from: c.from.map(at) } : {}),
      policy: { ...c.policy, ...(c.policy.assignments !== undefined ? { assignments: at(c.policy.assignments) } : {}), policies: c.policy.policies.map(at) },
    })),
    events: config.events.jsonlPath ? { ...config.events, jsonlPath: at(config.events.jsonlPath) } : config.events,
    alerts: {
      ...config.alerts,
      auditRules: config.alerts.auditRules.map(at),
      ...(config.alerts.auditStateFile !== undefined && config.alerts.auditStateFile !== ':memory:' ? { auditStateFile: at(config.alerts.auditStateFile) } : {}),
    },
  };
}

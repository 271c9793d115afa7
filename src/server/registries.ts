import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { AppError, errorMessage, type Logger } from '../core/index.js';
import type { RegistryConfig } from '../config/index.js';
import { createRegistryClient, type RegistryClient } from '../image/registry/client.js';
import { PALISADE_VERSION } from '../core/version.js';

/**
 * The User-Agent of the server's registry client. A registry's pull notifications name the agent of
 * the pull: the server's own pulls (scans, catalogue syncs) are not users' pulls and must not count
 * as "last pulled" (routes/hooks.ts). Any version of the server counts, for mixed replicas.
 */
export const SERVER_USER_AGENT = `palisade-server/${PALISADE_VERSION}`;

export function isServerUserAgent(userAgent: string | undefined): boolean {
  return userAgent !== undefined && userAgent.startsWith('palisade-server/');
}

/**
 * The configured registries: where they are, how to log in, which repositories are watched. A
 * registry's `host` (host:port of its URL) is what image references and notification events name.
 */
export interface WatchedRegistry {
  name: string;
  host: string;
  baseUrl: string;
  insecure: boolean;
  /** Logs in with the registry's credentials (catalogue sync and scans both go through it). */
  client: RegistryClient;
  syncIntervalSeconds: number;
  notificationSecret?: string;
  watches(repository: string): boolean;
}

export interface RegistryDirectory {
  list(): WatchedRegistry[];
  byName(name: string): WatchedRegistry | undefined;
  byHost(host: string): WatchedRegistry | undefined;
}

/** `*` matches within one path segment, `**` across segments. */
export function globToRegExp(glob: string): RegExp {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] ?? '';
    if (c === '*' && glob[i + 1] === '*') {
      out += '.*';
      i++;
    } else if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else out += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}

const credentialsFileSchema = z.object({ username: z.string().min(1), password: z.string().min(1) });

function readCredentialsFile(path: string, registry: string): { username: string; password: string } {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw new AppError('BAD_INPUT', `registries.${registry}.credentialsFile ${path}: cannot read it as JSON (${errorMessage(cause)})`, { cause });
  }
  const parsed = credentialsFileSchema.safeParse(json);
  if (!parsed.success) throw new AppError('BAD_INPUT', `registries.${registry}.credentialsFile ${path}: expected {"username": "...", "password": "..."}`);
  return parsed.data;
}

export function createRegistryDirectory(configs: readonly RegistryConfig[], log: Logger, options: { retries?: number; backoffMs?: number; timeoutMs?: number } = {}): RegistryDirectory {
  const registries = configs.map((config): WatchedRegistry => {
    const url = new URL(config.url);
    const credentials = config.credentials ?? (config.credentialsFile ? readCredentialsFile(config.credentialsFile, config.name) : undefined);
    const insecure = url.protocol === 'http:';
    const include = config.include.map(globToRegExp);
    const exclude = config.exclude.map(globToRegExp);
    const registry: WatchedRegistry = {
      name: config.name,
      host: url.host,
      baseUrl: `${url.protocol}//${url.host}`,
      insecure,
      client: createRegistryClient({
        insecure,
        ...(credentials ? { credentials } : {}),
        log: log.child({ registry: config.name }),
        retries: options.retries ?? 2,
        backoffMs: options.backoffMs ?? 250,
        timeoutMs: options.timeoutMs ?? 30_000,
        userAgent: SERVER_USER_AGENT,
      }),
      syncIntervalSeconds: config.syncIntervalSeconds,
      watches: (repository) => (include.length === 0 || include.some((re) => re.test(repository))) && !exclude.some((re) => re.test(repository)),
    };
    if (config.notificationSecret) registry.notificationSecret = config.notificationSecret;
    return registry;
  });
  const names = new Set<string>();
  for (const r of registries) {
    if (names.has(r.name)) throw new AppError('BAD_INPUT', `registries: the name "${r.name}" is used twice; names must be unique`);
    names.add(r.name);
  }
  return {
    list: () => registries,
    byName: (name) => registries.find((r) => r.name === name),
    byHost: (host) => registries.find((r) => r.host === host),
  };
}

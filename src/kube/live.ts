import http from 'node:http';
import https from 'node:https';
import { createInterface } from 'node:readline';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { AppError, errorMessage, silentLogger, type Logger } from '../core/index.js';
import { createInventoryBuilder, type Inventory, type InventoryBuilder } from './inventory.js';
import { bearerToken, type KubeConnection } from './kubeconfig.js';

/**
 * Live inventory through the Kubernetes API: for every resource of resources.yaml, a paginated list
 * (`limit` / `continue`; a expired continue token restarts that list), then a watch from the list's
 * resourceVersion that applies ADDED / MODIFIED / DELETED events, follows BOOKMARKs, resumes from the
 * last resourceVersion when the connection drops, and re-lists on 410 Gone. A resource the API
 * server refuses (403, 404, timeout) is recorded as "could not read X: reason" and skipped.
 */

const ResourceSchema = z.object({
  kind: z.string(),
  group: z.string(),
  version: z.string(),
  resource: z.string(),
  metadataOnly: z.boolean().optional(),
});
export type ApiResource = z.infer<typeof ResourceSchema>;

let resourcesCache: ApiResource[] | undefined;
export function apiResources(): ApiResource[] {
  resourcesCache ??= z.object({ resources: z.array(ResourceSchema) }).parse(parseYaml(readFileSync(new URL('./resources.yaml', import.meta.url), 'utf8'))).resources;
  return resourcesCache;
}

export function resourcePath(r: ApiResource): string {
  return r.group === '' ? `/api/${r.version}/${r.resource}` : `/apis/${r.group}/${r.version}/${r.resource}`;
}

const METADATA_ACCEPT = 'application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,application/json';

export interface HttpResult {
  status: number;
  body: string;
}

export interface Transport {
  get(path: string, accept: string, timeoutMs: number): Promise<HttpResult>;
  /** Streams a watch: calls onLine per line until the server ends the response or the signal aborts. Resolves with the HTTP status. */
  stream(path: string, accept: string, onLine: (line: string) => void, signal: AbortSignal, idleTimeoutMs: number): Promise<{ status: number; body: string }>;
}

/** The node:http/https transport for a connection (TLS, client certificates, bearer token, basic auth). */
export function createTransport(conn: KubeConnection, env: Record<string, string | undefined> = {}): Transport {
  const url = new URL(conn.server);
  const secure = url.protocol === 'https:';
  const agent = secure
    ? new https.Agent({ keepAlive: true, ...(conn.ca ? { ca: conn.ca } : {}), ...(conn.cert ? { cert: conn.cert } : {}), ...(conn.key ? { key: conn.key } : {}), rejectUnauthorized: !conn.insecureSkipTlsVerify })
    : new http.Agent({ keepAlive: true });
  const basePath = url.pathname.replace(/\/+$/, '');

  const headers = async (accept: string): Promise<Record<string, string>> => {
    const out: Record<string, string> = { Accept: accept, 'User-Agent': 'palisade-inventory/0.1' };
    const token = await bearerToken(conn, env);
    if (token) out.Authorization = `Bearer ${token}`;
    else if (conn.username !== undefined) out.Authorization = `Basic ${Buffer.from(`${conn.username}:${conn.password ?? ''}`).toString('base64')}`;
    return out;
  };

  const open = async (path: string, accept: string, signal?: AbortSignal): Promise<http.IncomingMessage> => {
    const h = await headers(accept);
    return new Promise((resolve, reject) => {
      const options: http.RequestOptions = { method: 'GET', host: url.hostname.replace(/^\[|\]$/g, ''), port: url.port || (secure ? 443 : 80), path: `${basePath}${path}`, headers: h, agent };
      if (signal) options.signal = signal;
      const req = (secure ? https : http).request(options, resolve);
      req.on('error', reject);
      req.end();
    });
  };

  const readBody = (res: http.IncomingMessage, limit = 1024 * 1024 * 1024): Promise<string> =>
    new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > limit) {
          res.destroy(new Error(`response larger than ${limit} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      res.on('error', reject);
    });

  return {
    async get(path, accept, timeoutMs) {
      const signal = AbortSignal.timeout(timeoutMs);
      try {
        const res = await open(path, accept, signal);
        return { status: res.statusCode ?? 0, body: await readBody(res) };
      } catch (error) {
        if (signal.aborted) throw new AppError('TIMEOUT', `no answer within ${timeoutMs} ms`);
        throw error;
      }
    },
    async stream(path, accept, onLine, signal, idleTimeoutMs) {
      const res = await open(path, accept, signal);
      const status = res.statusCode ?? 0;
      if (status !== 200) return { status, body: await readBody(res, 1024 * 1024) };
      await new Promise<void>((resolve) => {
        let timer = setTimeout(() => res.destroy(), idleTimeoutMs);
        const lines = createInterface({ input: res });
        lines.on('line', (line) => {
          clearTimeout(timer);
          timer = setTimeout(() => res.destroy(), idleTimeoutMs);
          if (line.trim() !== '') onLine(line);
        });
        const finish = (): void => {
          clearTimeout(timer);
          resolve();
        };
        lines.on('close', finish);
        // readline re-emits its input's errors (a dropped watch: 'aborted') on the interface itself.
        lines.on('error', finish);
        res.on('error', finish);
        res.on('aborted', finish);
      });
      return { status, body: '' };
    },
  };
}

const StatusSchema = z.looseObject({ kind: z.literal('Status').optional(), message: z.string().optional(), reason: z.string().optional(), code: z.number().optional() });
const ListSchema = z.looseObject({
  metadata: z.looseObject({ resourceVersion: z.string().optional(), continue: z.string().optional() }).default({}),
  items: z.array(z.unknown()).nullable().default([]),
});
const EventSchema = z.looseObject({ type: z.string(), object: z.looseObject({ metadata: z.looseObject({ resourceVersion: z.string().optional() }).optional() }) });

function reasonOf(result: HttpResult): string {
  let message = '';
  try {
    const status = StatusSchema.safeParse(JSON.parse(result.body));
    if (status.success) message = status.data.message ?? status.data.reason ?? '';
  } catch {
    // not JSON
  }
  const name = http.STATUS_CODES[result.status] ?? 'error';
  return message ? `${result.status} ${name} (${message})` : `${result.status} ${name}`;
}

export interface CollectorOptions {
  /** Cluster name recorded in the inventory (defaults to the connection name). */
  cluster?: string;
  /** Page size of list calls. */
  pageSize?: number;
  /** Timeout of one list call. */
  requestTimeoutMs?: number;
  /** A watch connection with no line for this long is treated as dropped. */
  watchIdleTimeoutMs?: number;
  /** Resources to read (default: resources.yaml). */
  resources?: readonly ApiResource[];
  log?: Logger;
  /** Waits between watch reconnects (tests pass 0). */
  retryDelayMs?: number;
}

export interface WatchEvent {
  kind: string;
  type: string;
  resourceVersion: string;
}

export interface LiveCollector {
  readonly builder: InventoryBuilder;
  /** Lists every resource once (paginated). */
  list(): Promise<void>;
  /** Watches every listed resource until the signal aborts; `onEvent` sees each applied event. */
  watch(signal: AbortSignal, onEvent?: (event: WatchEvent) => void): Promise<void>;
  inventory(): Inventory;
  /** The resourceVersion each resource's watch would resume from. */
  resourceVersions(): Record<string, string>;
}

export function createLiveCollector(transport: Transport, conn: Pick<KubeConnection, 'name'>, options: CollectorOptions = {}): LiveCollector {
  const cluster = options.cluster ?? conn.name;
  const builder = createInventoryBuilder(cluster);
  const pageSize = options.pageSize ?? 500;
  const timeout = options.requestTimeoutMs ?? 60_000;
  const idle = options.watchIdleTimeoutMs ?? 5 * 60_000;
  const log = options.log ?? silentLogger;
  const retryDelay = options.retryDelayMs ?? 1000;
  const resources = options.resources ?? apiResources();
  const versions = new Map<string, string>();
  const readable = new Set<string>();

  const accept = (r: ApiResource): string => (r.metadataOnly ? METADATA_ACCEPT : 'application/json');

  /** Lists one resource; true when it could be read. */
  const listResource = async (r: ApiResource): Promise<boolean> => {
    const base = resourcePath(r);
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const seen: unknown[] = [];
      let token: string | undefined;
      let resourceVersion = '';
      let expired = false;
      do {
        const query = new URLSearchParams({ limit: String(pageSize) });
        if (token) query.set('continue', token);
        let result: HttpResult;
        try {
          result = await transport.get(`${base}?${query.toString()}`, accept(r), timeout);
        } catch (error) {
          builder.problem(`could not read ${r.resource}: ${errorMessage(error)}`);
          return false;
        }
        if (result.status === 410 && token !== undefined) {
          expired = true;
          break;
        }
        if (result.status !== 200) {
          builder.problem(`could not read ${r.resource}: ${reasonOf(result)}`);
          return false;
        }
        let parsed;
        try {
          parsed = ListSchema.safeParse(JSON.parse(result.body));
        } catch (error) {
          builder.problem(`could not read ${r.resource}: the response is not JSON (${errorMessage(error)})`);
          return false;
        }
        if (!parsed.success) {
          builder.problem(`could not read ${r.resource}: the response is not a list`);
          return false;
        }
        seen.push(...(parsed.data.items ?? []));
        token = parsed.data.metadata.continue || undefined;
        resourceVersion = parsed.data.metadata.resourceVersion ?? resourceVersion;
      } while (token !== undefined);
      if (expired) {
        log.info({ resource: r.resource }, 'continue token expired, listing again');
        continue;
      }
      builder.clearKind(r.kind);
      for (const item of seen) builder.upsert(item, `${cluster}:${base}`, r.kind);
      versions.set(r.kind, resourceVersion);
      return true;
    }
    builder.problem(`could not read ${r.resource}: the list kept expiring (410 Gone) while paging`);
    return false;
  };

  const watchResource = async (r: ApiResource, signal: AbortSignal, onEvent?: (event: WatchEvent) => void): Promise<void> => {
    const base = resourcePath(r);
    while (!signal.aborted) {
      const rv = versions.get(r.kind) ?? '';
      const query = new URLSearchParams({ watch: '1', allowWatchBookmarks: 'true', timeoutSeconds: '300' });
      if (rv) query.set('resourceVersion', rv);
      let gone = false;
      try {
        const result = await transport.stream(
          `${base}?${query.toString()}`,
          accept(r),
          (line) => {
            let event;
            try {
              event = EventSchema.safeParse(JSON.parse(line));
            } catch {
              return;
            }
            if (!event.success) return;
            const { type, object } = event.data;
            if (type === 'ERROR') {
              const status = StatusSchema.safeParse(object);
              if (status.success && status.data.code === 410) gone = true;
              return;
            }
            const version = object.metadata?.resourceVersion ?? '';
            if (version) versions.set(r.kind, version);
            if (type === 'ADDED' || type === 'MODIFIED') builder.upsert(object, `${cluster}:${base}`, r.kind);
            else if (type === 'DELETED') builder.remove(object, r.kind);
            onEvent?.({ kind: r.kind, type, resourceVersion: version });
          },
          signal,
          idle,
        );
        if (result.status === 410) gone = true;
        else if (result.status !== 200) {
          builder.problem(`could not watch ${r.resource}: ${reasonOf(result)}`);
          return;
        }
      } catch (error) {
        if (signal.aborted) return;
        log.warn({ resource: r.resource, error: errorMessage(error) }, 'watch dropped, resuming');
      }
      if (signal.aborted) return;
      if (gone) {
        log.info({ resource: r.resource }, 'watch resourceVersion too old (410), listing again');
        if (!(await listResource(r))) return;
      } else if (retryDelay > 0) {
        await new Promise((resolve) => setTimeout(resolve, retryDelay));
      }
    }
  };

  return {
    builder,
    async list() {
      for (const r of resources) if (await listResource(r)) readable.add(r.kind);
    },
    async watch(signal, onEvent) {
      await Promise.all(resources.filter((r) => readable.has(r.kind)).map((r) => watchResource(r, signal, onEvent)));
    },
    inventory: () => builder.build(),
    resourceVersions: () => Object.fromEntries([...versions].sort()),
  };
}

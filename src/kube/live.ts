import { setMaxListeners } from 'node:events';
import { STATUS_CODES } from 'node:http';
import type { RequestOptions } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { readFileSync } from 'node:fs';
import type { KubeConfig } from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { AppError, errorMessage, silentLogger, type Logger } from '../core/index.js';
import { createInventoryBuilder, type Inventory, type InventoryBuilder } from './inventory.js';
import { loadClientNode, type ClientNode, type KubeConnection } from './kubeconfig.js';

/**
 * Live inventory through the Kubernetes API: for every resource of resources.yaml, a paginated list
 * (`limit` / `continue`; a expired continue token restarts that list), then a watch from the list's
 * resourceVersion that applies ADDED / MODIFIED / DELETED events, follows BOOKMARKs, resumes from the
 * last resourceVersion when the connection drops, and re-lists on 410 Gone. A resource the API
 * server refuses (403, 404, timeout) is recorded as "could not read X: reason" and skipped.
 *
 * Requests go through @kubernetes/client-node: lists through its HTTP library, authenticated by its
 * KubeConfig (the path its generated API clients take, minus their typed models, which would turn
 * timestamps into Dates and drop fields they do not know); watches through its Watch.
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

/** Metadata only (ConfigMaps): a list answers PartialObjectMetadataList, a watch's events carry PartialObjectMetadata. */
const METADATA_LIST_ACCEPT = 'application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,application/json';
const METADATA_WATCH_ACCEPT = 'application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io,application/json';
/** What the API server's audit log shows as the userAgent of every request. */
const USER_AGENT = 'palisade-inventory/0.1';

export interface HttpResult {
  status: number;
  body: string;
}

/** How one watch connection ended. */
export type WatchEnd =
  /** The server ended the stream (its timeoutSeconds, or after an ERROR event). */
  | { kind: 'closed' }
  /** The connection broke, or stayed silent past the idle timeout. */
  | { kind: 'dropped'; reason: string }
  /** The server answered with another status than 200. */
  | { kind: 'refused'; status: number; reason: string }
  /** The caller's signal aborted. */
  | { kind: 'stopped' };

export interface WatchOptions {
  signal: AbortSignal;
  /** No response headers, or no event, for this long: the connection is treated as dropped. */
  idleTimeoutMs: number;
}

export interface Transport {
  /** One GET of `path` (with its query), authenticated as the connection says. */
  get(path: string, accept: string, timeoutMs: number): Promise<HttpResult>;
  /** One watch connection; `onEvent` sees each event's type and object until it ends. */
  watch(path: string, query: Record<string, string>, accept: string, onEvent: (type: string, object: unknown) => void, options: WatchOptions): Promise<WatchEnd>;
}

/** Rejects with the signal's reason when it aborts first (client-node's exec plugins and TLS setup take no signal). */
function untilAborted<T>(signal: AbortSignal, work: Promise<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    const abort = (): void => reject(signal.reason);
    if (signal.aborted) abort();
    signal.addEventListener('abort', abort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', abort));
  });
}

/**
 * client-node's Watch sends the headers its KubeConfig gives it: this view of a KubeConfig adds an
 * Accept header (metadata-only watches), our User-Agent and a deadline for the response headers, and leaves
 * authentication to the KubeConfig it wraps (so exec plugin credentials stay cached there).
 */
function watchConfig(m: ClientNode, base: KubeConfig, accept: string, headersTimeoutMs: number): KubeConfig {
  class WatchConfig extends m.KubeConfig {
    override applyToFetchOptions(opts: RequestOptions): ReturnType<KubeConfig['applyToFetchOptions']> {
      return base.applyToFetchOptions({ ...opts, headers: { ...opts.headers, Accept: accept, 'User-Agent': USER_AGENT }, timeout: headersTimeoutMs });
    }
  }
  const view = new WatchConfig();
  view.loadFromOptions({ clusters: base.getClusters(), users: base.getUsers(), contexts: base.getContexts(), currentContext: base.getCurrentContext() });
  return view;
}

const WatchErrorSchema = z.looseObject({ statusCode: z.number() });

/**
 * The transport of a connection. client-node is loaded on the first request. `_env` is not used:
 * client-node runs exec credential plugins with this process's environment (kept so callers that
 * pass one need not change).
 */
export function createTransport(conn: KubeConnection, _env?: Record<string, string | undefined>): Transport {
  let ready: Promise<{ m: ClientNode; kc: KubeConfig; server: string }> | undefined;
  const client = (): Promise<{ m: ClientNode; kc: KubeConfig; server: string }> => {
    ready ??= loadClientNode().then((m) => {
      let kc = conn.kubeConfig;
      if (kc === undefined) {
        kc = new m.KubeConfig();
        kc.loadFromClusterAndUser({ name: conn.name, server: conn.server, skipTLSVerify: conn.insecureSkipTlsVerify }, { name: conn.name });
      }
      return { m, kc, server: kc.getCurrentCluster()?.server ?? conn.server };
    });
    return ready;
  };

  return {
    async get(path, accept, timeoutMs) {
      const { m, kc, server } = await client();
      const signal = AbortSignal.timeout(timeoutMs);
      const request = async (): Promise<HttpResult> => {
        const context = new m.RequestContext(`${server}${path}`, m.HttpMethod.GET);
        context.setHeaderParam('Accept', accept);
        context.setHeaderParam('User-Agent', USER_AGENT);
        context.setSignal(signal);
        try {
          await kc.applySecurityAuthentication(context);
        } catch (error) {
          throw new AppError('UPSTREAM', `could not set up credentials or TLS: ${errorMessage(error).trim() || 'the exec credential plugin failed and printed nothing'}`);
        }
        const response = await new m.IsomorphicFetchHttpLibrary().send(context).toPromise();
        return { status: response.httpStatusCode, body: await response.body.text() };
      };
      try {
        return await untilAborted(signal, request());
      } catch (error) {
        if (signal.aborted) throw new AppError('TIMEOUT', `no answer within ${timeoutMs} ms`);
        throw error;
      }
    },

    async watch(path, query, accept, onEvent, { signal, idleTimeoutMs }) {
      const { m, kc } = await client();
      const watcher = new m.Watch(watchConfig(m, kc, accept, idleTimeoutMs));
      return new Promise<WatchEnd>((resolve) => {
        let controller: AbortController | undefined;
        let idle: NodeJS.Timeout | undefined;
        let ended = false;
        const finish = (end: WatchEnd): void => {
          if (ended) return;
          ended = true;
          clearTimeout(idle);
          signal.removeEventListener('abort', stop);
          controller?.abort();
          resolve(end);
        };
        const stop = (): void => finish({ kind: 'stopped' });
        const arm = (): void => {
          clearTimeout(idle);
          idle = setTimeout(() => finish({ kind: 'dropped', reason: `no event for ${idleTimeoutMs} ms` }), idleTimeoutMs);
        };
        if (signal.aborted) return stop();
        signal.addEventListener('abort', stop, { once: true });
        arm();
        watcher
          .watch(
            path,
            query,
            (type: string, object: unknown) => {
              if (ended) return;
              arm();
              onEvent(type, object);
            },
            (error: unknown) => {
              if (error === null || error === undefined) return finish({ kind: 'closed' });
              const refused = WatchErrorSchema.safeParse(error);
              if (refused.success) return finish({ kind: 'refused', status: refused.data.statusCode, reason: `${refused.data.statusCode} ${errorMessage(error)}` });
              finish({ kind: 'dropped', reason: errorMessage(error) });
            },
          )
          .then(
            (c) => {
              // Watch hands its controller over once the response headers arrived: a watch stopped before then is aborted now.
              controller = c;
              if (ended) c.abort();
            },
            (error: unknown) => finish({ kind: 'dropped', reason: errorMessage(error) }),
          );
      });
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
  const name = STATUS_CODES[result.status] ?? 'error';
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

  const listAccept = (r: ApiResource): string => (r.metadataOnly ? METADATA_LIST_ACCEPT : 'application/json');
  const watchAccept = (r: ApiResource): string => (r.metadataOnly ? METADATA_WATCH_ACCEPT : 'application/json');

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
          result = await transport.get(`${base}?${query.toString()}`, listAccept(r), timeout);
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
      const query: Record<string, string> = { allowWatchBookmarks: 'true', timeoutSeconds: '300' };
      if (rv) query.resourceVersion = rv;
      let gone = false;
      const apply = (type: string, object: unknown): void => {
        const event = EventSchema.safeParse({ type, object });
        if (!event.success) return;
        if (type === 'ERROR') {
          const status = StatusSchema.safeParse(object);
          if (status.success && status.data.code === 410) gone = true;
          return;
        }
        const version = event.data.object.metadata?.resourceVersion ?? '';
        if (version) versions.set(r.kind, version);
        if (type === 'ADDED' || type === 'MODIFIED') builder.upsert(object, `${cluster}:${base}`, r.kind);
        else if (type === 'DELETED') builder.remove(object, r.kind);
        onEvent?.({ kind: r.kind, type, resourceVersion: version });
      };
      let end: WatchEnd;
      try {
        end = await transport.watch(base, query, watchAccept(r), apply, { signal, idleTimeoutMs: idle });
      } catch (error) {
        end = { kind: 'dropped', reason: errorMessage(error) };
      }
      if (end.kind === 'stopped' || signal.aborted) return;
      if (end.kind === 'refused') {
        if (end.status !== 410) {
          builder.problem(`could not watch ${r.resource}: ${end.reason}`);
          return;
        }
        gone = true;
      }
      if (end.kind === 'dropped') log.warn({ resource: r.resource, error: end.reason }, 'watch dropped, resuming');
      if (gone) {
        log.info({ resource: r.resource }, 'watch resourceVersion too old (410), listing again');
        if (!(await listResource(r))) return;
      } else if (retryDelay > 0) {
        await sleep(retryDelay, undefined, { signal }).catch(() => undefined);
      }
    }
  };

  return {
    builder,
    async list() {
      for (const r of resources) if (await listResource(r)) readable.add(r.kind);
    },
    async watch(signal, onEvent) {
      // One abort listener per watched resource: on a signal of our own, so the caller's keeps one.
      const stop = new AbortController();
      setMaxListeners(0, stop.signal);
      const forward = (): void => stop.abort(signal.reason);
      if (signal.aborted) forward();
      else signal.addEventListener('abort', forward, { once: true });
      try {
        await Promise.all(resources.filter((r) => readable.has(r.kind)).map((r) => watchResource(r, stop.signal, onEvent)));
      } finally {
        signal.removeEventListener('abort', forward);
      }
    },
    inventory: () => builder.build(),
    resourceVersions: () => Object.fromEntries([...versions].sort()),
  };
}

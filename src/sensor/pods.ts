import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { z } from 'zod';
import { AppError, errorMessage, type Clock, type Logger } from '../core/index.js';

/**
 * Pod metadata for container ids, from the node's kubelet (`GET https://NODE:10250/pods`, the pods
 * bound to this node with their container statuses). Cached; refreshed every `refreshMs` and, when
 * a container id is unknown, at most once per `missRefreshMs`, so a new pod is named within seconds
 * without the sensor hammering the kubelet. Lookups are synchronous and never wait for the network.
 */
export interface PodContainer {
  containerId: string;
  containerName: string;
  podNamespace: string;
  podName: string;
  podUid: string;
  image: string;
  /** `sha256:<hex>` from the kubelet's imageID ('' when absent). */
  imageDigest: string;
  labels: Record<string, string>;
}

const containerStatusSchema = z.looseObject({
  name: z.string(),
  containerID: z.string().optional(),
  image: z.string().default(''),
  imageID: z.string().default(''),
});
const podSchema = z.looseObject({
  metadata: z.looseObject({
    name: z.string(),
    namespace: z.string().default('default'),
    uid: z.string().default(''),
    labels: z.record(z.string(), z.string()).optional(),
  }),
  status: z
    .looseObject({
      containerStatuses: z.array(z.unknown()).optional(),
      initContainerStatuses: z.array(z.unknown()).optional(),
      ephemeralContainerStatuses: z.array(z.unknown()).optional(),
    })
    .optional(),
});
const podListSchema = z.looseObject({ kind: z.string().optional(), items: z.array(z.unknown()) });

const DIGEST = /sha256:[0-9a-f]{64}/;

/** A kubelet PodList → container id → pod container; bad pods and statuses are skipped and counted. */
export function indexPodList(value: unknown): { containers: Map<string, PodContainer>; skipped: number } {
  const list = podListSchema.safeParse(value);
  if (!list.success) throw new AppError('UPSTREAM', 'the kubelet /pods answer is not a PodList: check the kubelet URL');
  const containers = new Map<string, PodContainer>();
  let skipped = 0;
  for (const raw of list.data.items) {
    const pod = podSchema.safeParse(raw);
    if (!pod.success) {
      skipped += 1;
      continue;
    }
    const p = pod.data;
    const statuses = [...(p.status?.containerStatuses ?? []), ...(p.status?.initContainerStatuses ?? []), ...(p.status?.ephemeralContainerStatuses ?? [])];
    for (const rawStatus of statuses) {
      const s = containerStatusSchema.safeParse(rawStatus);
      if (!s.success) {
        skipped += 1;
        continue;
      }
      const id = s.data.containerID?.replace(/^[a-z-]+:\/\//, '') ?? '';
      if (!/^[0-9a-f]{64}$/.test(id)) continue;
      containers.set(id, {
        containerId: id,
        containerName: s.data.name,
        podNamespace: p.metadata.namespace,
        podName: p.metadata.name,
        podUid: p.metadata.uid,
        image: s.data.image,
        imageDigest: DIGEST.exec(s.data.imageID)?.[0] ?? '',
        labels: { ...(p.metadata.labels ?? {}) },
      });
    }
  }
  return { containers, skipped };
}

export type PodListFetcher = () => Promise<unknown>;

export interface KubeletSourceOptions {
  /** e.g. `https://10.0.0.4:10250/pods` (the node's address from the downward API). */
  url: string;
  /** Bearer token (the sensor's service-account token; needs `nodes/proxy` get). */
  token?: string;
  /** PEM CA for the kubelet's serving certificate; without it and without `insecure`, the system CAs. */
  ca?: string;
  /** Skip verification of the kubelet's certificate (kubelets often serve a self-signed one). */
  insecure?: boolean;
  timeoutMs?: number;
  maxBytes?: number;
}

/** GETs the kubelet's /pods with node's http(s) client (bounded size and time). */
export function createKubeletFetcher(options: KubeletSourceOptions): PodListFetcher {
  const url = new URL(options.url);
  const maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
  return () =>
    new Promise((resolve, reject) => {
      const headers: Record<string, string> = { accept: 'application/json' };
      if (options.token) headers.authorization = `Bearer ${options.token}`;
      const common = { method: 'GET', headers, timeout: options.timeoutMs ?? 10_000 };
      const req =
        url.protocol === 'https:'
          ? httpsRequest(url, { ...common, ca: options.ca, rejectUnauthorized: !options.insecure })
          : httpRequest(url, common);
      req.on('timeout', () => req.destroy(new AppError('TIMEOUT', `kubelet ${url.host} did not answer in time`)));
      req.on('error', reject);
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBytes) {
            req.destroy(new AppError('TOO_LARGE', `kubelet /pods answer is over ${maxBytes} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => {
          if ((res.statusCode ?? 0) !== 200) {
            reject(new AppError('UPSTREAM', `kubelet ${url.host} answered HTTP ${res.statusCode}: check the token's nodes/proxy permission`));
            return;
          }
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
          } catch {
            reject(new AppError('UPSTREAM', `kubelet ${url.host} answered something that is not JSON`));
          }
        });
        res.on('error', reject);
      });
      req.end();
    });
}

export interface PodCacheCounters {
  refreshes: number;
  failures: number;
  containers: number;
  skipped: number;
  lastError?: string;
}

export interface PodCache {
  /** The pod container of an id, from the cache; an unknown id schedules a refresh. */
  lookup(containerId: string): PodContainer | undefined;
  /** Fetches now (start-up, tests). */
  refresh(): Promise<void>;
  counters(): PodCacheCounters;
}

export function createPodCache(fetcher: PodListFetcher, options: { clock: Clock; log: Logger; refreshMs?: number; missRefreshMs?: number }): PodCache {
  const refreshMs = options.refreshMs ?? 30_000;
  const missRefreshMs = options.missRefreshMs ?? 2_000;
  let containers = new Map<string, PodContainer>();
  let lastFetchMs = Number.NEGATIVE_INFINITY;
  let inFlight: Promise<void> | undefined;
  const counters: PodCacheCounters = { refreshes: 0, failures: 0, containers: 0, skipped: 0 };

  const refresh = (): Promise<void> => {
    if (inFlight) return inFlight;
    lastFetchMs = options.clock.now().getTime();
    inFlight = fetcher()
      .then((value) => {
        const indexed = indexPodList(value);
        containers = indexed.containers;
        counters.refreshes += 1;
        counters.containers = containers.size;
        counters.skipped += indexed.skipped;
      })
      .catch((error: unknown) => {
        counters.failures += 1;
        counters.lastError = errorMessage(error);
        options.log.warn({ problem: counters.lastError }, 'pod metadata refresh failed');
      })
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  };

  return {
    lookup(containerId) {
      const now = options.clock.now().getTime();
      const found = containers.get(containerId);
      if (found === undefined ? now - lastFetchMs >= missRefreshMs : now - lastFetchMs >= refreshMs) void refresh();
      return found;
    },
    refresh,
    counters: () => ({ ...counters }),
  };
}

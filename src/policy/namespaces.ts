import { z } from 'zod';
import { AppError, errorMessage, type Logger } from '../core/index.js';
import { apiResources, resourcePath, type Transport } from '../kube/cli-api.js';
import type { NamespaceLookup } from './admission.js';
import { isJson, staticObjectLookup, type Json, type ObjectLookup } from './engine.js';

/**
 * What the webhook needs to know of the cluster besides the request: Namespace objects (for
 * `namespaceObject` and namespace selectors) and the objects of the kinds that policies look up
 * (`lookups`, e.g. Services for unique selectors). Kept in memory and refreshed by listing every
 * `intervalMs`; lookups never wait on the network (until the first list answers they see nothing).
 */

const listSchema = z.object({ items: z.array(z.unknown()).max(200_000) });

export interface PollingClusterCache extends NamespaceLookup, ObjectLookup {
  refresh(): Promise<void>;
  stop(): void;
}

export function createPollingClusterCache(transport: Transport, log: Logger, lookupKinds: readonly string[] = [], intervalMs = 30_000): PollingClusterCache {
  const resources = apiResources();
  const kinds = [...new Set(['Namespace', ...lookupKinds])].map((kind) => {
    const r = resources.find((x) => x.kind === kind && !x.metadataOnly);
    if (!r) throw new AppError('UNSUPPORTED', `policies look up ${kind} objects, which the webhook cannot list (known: ${resources.filter((x) => !x.metadataOnly).map((x) => x.kind).join(', ')})`);
    return { kind, path: resourcePath(r), apiVersion: r.group === '' ? r.version : `${r.group}/${r.version}` };
  });
  let namespaces = new Map<string, Json>();
  let objects: ObjectLookup = staticObjectLookup([]);
  const refresh = async (): Promise<void> => {
    const all: Json[] = [];
    for (const k of kinds) {
      try {
        const res = await transport.get(k.path, 'application/json', 10_000);
        if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
        for (const item of listSchema.parse(JSON.parse(res.body)).items) {
          if (isJson(item) && isJson(item.metadata) && typeof item.metadata.name === 'string') all.push({ apiVersion: k.apiVersion, kind: k.kind, ...item });
        }
      } catch (error) {
        log.warn({ kind: k.kind, error: errorMessage(error) }, 'could not list objects for policy lookups; keeping the previous list');
        return;
      }
    }
    const next = new Map<string, Json>();
    for (const obj of all) {
      if (obj.kind === 'Namespace' && isJson(obj.metadata) && typeof obj.metadata.name === 'string') next.set(obj.metadata.name, obj);
    }
    namespaces = next;
    objects = staticObjectLookup(all.filter((o) => o.kind !== 'Namespace' || lookupKinds.includes('Namespace')));
  };
  const timer = setInterval(() => void refresh(), intervalMs);
  timer.unref();
  return {
    get: (name) => namespaces.get(name) ?? null,
    list: (kind, namespace) => objects.list(kind, namespace),
    refresh,
    stop: () => clearInterval(timer),
  };
}

import { z } from 'zod';
import { AppError, errorMessage, type Logger } from '../core/index.js';
import type { Store } from '../store/index.js';
import type { WatchedRegistry } from './registries.js';
import type { ScanService } from './scan-service.js';

/**
 * Catalogue sync for registries without notifications: list repositories (/v2/_catalog), their tags
 * (/v2/<name>/tags/list), resolve each tag to a digest, and treat unseen digests as pushes. Auth is
 * anonymous or Basic (the configured credentials); bearer-token registries need notifications.
 */
const catalogSchema = z.object({ repositories: z.array(z.string()).nullable().default([]) });
const tagsSchema = z.object({ name: z.string(), tags: z.array(z.string()).nullable().default([]) });
const MAX_PAGES = 100;

async function getJson<T>(registry: WatchedRegistry, path: string, schema: z.ZodType<T>): Promise<{ body: T; next?: string }> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (registry.credentials) headers.authorization = `Basic ${Buffer.from(`${registry.credentials.username}:${registry.credentials.password}`).toString('base64')}`;
  let response: Response;
  try {
    response = await fetch(`${registry.baseUrl}${path}`, { headers, signal: AbortSignal.timeout(30_000) });
  } catch (cause) {
    throw new AppError('UPSTREAM', `registry ${registry.name} (${registry.baseUrl}) is unreachable: ${errorMessage(cause)}`, { cause });
  }
  if (response.status === 401 || response.status === 403) {
    await response.body?.cancel().catch(() => undefined);
    throw new AppError('UNAUTHORIZED', `registry ${registry.name} refused the catalogue listing (HTTP ${response.status}); check its credentials`);
  }
  if (!response.ok) {
    await response.body?.cancel().catch(() => undefined);
    throw new AppError('UPSTREAM', `registry ${registry.name} answered HTTP ${response.status} for ${path}`);
  }
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new AppError('UPSTREAM', `registry ${registry.name} sent a response to ${path} that is not JSON`, { cause });
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new AppError('UPSTREAM', `registry ${registry.name} sent an unexpected response to ${path}`);
  const link = /<([^>]+)>;\s*rel="next"/.exec(response.headers.get('link') ?? '');
  return link?.[1] ? { body: parsed.data, next: link[1] } : { body: parsed.data };
}

export async function syncCatalogue(registry: WatchedRegistry, deps: { store: Store; scans: ScanService; log: Logger }): Promise<{ repositories: number; tags: number; queued: number }> {
  const repositories: string[] = [];
  let path: string | undefined = '/v2/_catalog?n=1000';
  for (let page = 0; path && page < MAX_PAGES; page++) {
    const result: { body: z.infer<typeof catalogSchema>; next?: string } = await getJson(registry, path, catalogSchema);
    repositories.push(...(result.body.repositories ?? []));
    path = result.next;
  }
  let tags = 0;
  let queued = 0;
  for (const repository of repositories.filter((r) => registry.watches(r))) {
    const known = await deps.store.knownDigests(registry.host, repository);
    const list = await getJson(registry, `/v2/${repository}/tags/list`, tagsSchema);
    for (const tag of list.body.tags ?? []) {
      tags++;
      try {
        const digest = await deps.scans.resolveDigest(registry, repository, tag);
        if (known.has(digest)) continue;
        const outcome = await deps.scans.recordPush({ registry, repository, tag, digest });
        known.add(digest);
        if (outcome.queued && outcome.created) queued++;
      } catch (error) {
        deps.log.warn({ registry: registry.name, repository, tag, error: errorMessage(error) }, 'catalogue sync skipped a tag');
      }
    }
  }
  return { repositories: repositories.length, tags, queued };
}

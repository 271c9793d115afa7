import { errorMessage, type Logger } from '../core/index.js';
import type { Store } from '../store/index.js';
import type { WatchedRegistry } from './registries.js';
import type { ScanService } from './scan-service.js';

/**
 * Catalogue sync for registries without notifications: list repositories (/v2/_catalog), their tags
 * (/v2/<name>/tags/list), resolve each tag to a digest, and treat unseen digests as pushes. It goes
 * through the registry's client, the one scans use: anonymous, Basic or bearer-token auth (the token
 * scope of the catalogue is registry:catalog:*). A repository or tag that fails is logged and
 * skipped; the others are still synced. A catalogue that cannot be listed fails the sync.
 */
export async function syncCatalogue(
  registry: WatchedRegistry,
  deps: { store: Store; scans: ScanService; log: Logger },
): Promise<{ repositories: number; tags: number; queued: number; skipped: number }> {
  const repositories = await registry.client.listRepositories(registry.host);
  let tags = 0;
  let queued = 0;
  let skipped = 0;
  for (const repository of repositories.filter((r) => registry.watches(r))) {
    let names: string[];
    try {
      names = await registry.client.listTags({ registry: registry.host, repository });
    } catch (error) {
      skipped++;
      deps.log.warn({ registry: registry.name, repository, error: errorMessage(error) }, 'catalogue sync skipped a repository');
      continue;
    }
    const known = await deps.store.knownDigests(registry.host, repository);
    for (const tag of names) {
      tags++;
      try {
        const digest = await deps.scans.resolveDigest(registry, repository, tag);
        if (known.has(digest)) continue;
        const outcome = await deps.scans.recordPush({ registry, repository, tag, digest });
        known.add(digest);
        if (outcome.queued && outcome.created) queued++;
      } catch (error) {
        skipped++;
        deps.log.warn({ registry: registry.name, repository, tag, error: errorMessage(error) }, 'catalogue sync skipped a tag');
      }
    }
  }
  return { repositories: repositories.length, tags, queued, skipped };
}

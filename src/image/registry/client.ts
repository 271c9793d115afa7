import { Readable } from 'node:stream';
import { AppError } from '../../core/errors.js';
import { silentLogger, type Logger } from '../../core/logger.js';
import { readAllCapped, sha256Digest, verified } from '../digest.js';
import { MANIFEST_ACCEPT, MAX_MANIFEST_BYTES } from '../media.js';
import { type Credentials, type CredentialHelperRunner, dockerConfigCredentials } from './credentials.js';

/**
 * A client of the OCI distribution API (GET /v2/<name>/manifests/<ref>, GET /v2/<name>/blobs/<digest>,
 * and the listings /v2/_catalog and /v2/<name>/tags/list) over Node's fetch. Auth: anonymous, Basic,
 * and the Bearer token challenge flow (tokens cached per scope); credentials explicit or from a docker
 * config.json. Retries 5xx, 429 and network errors with bounded exponential backoff. Every manifest
 * and blob is checked against its digest and size.
 */

export interface RegistryClientOptions {
  /** Explicit credentials; they win over the docker config. */
  credentials?: Credentials;
  /** Path of a docker config.json to read credentials from (injected; never read from the environment here). */
  dockerConfigPath?: string;
  runCredentialHelper?: CredentialHelperRunner;
  /** Plain HTTP instead of HTTPS. */
  insecure?: boolean;
  /** Attempts after the first one (default 4). */
  retries?: number;
  /** First backoff delay in ms, doubled per retry (default 500, capped at 30 s). */
  backoffMs?: number;
  sleep?: (ms: number) => Promise<void>;
  fetch?: typeof fetch;
  log?: Logger;
  /** How long to wait for response headers, ms (default 60 s); bodies are not timed. */
  timeoutMs?: number;
  /** User-Agent of every request (registry and token server), so a registry's logs and notifications can tell this client apart. */
  userAgent?: string;
}

export interface RepositoryRef {
  registry: string;
  repository: string;
}

export interface FetchedManifest {
  bytes: Buffer;
  digest: string;
  /** Content-Type of the response. */
  mediaType: string | undefined;
}

export interface RegistryClient {
  getManifest(repo: RepositoryRef, reference: string): Promise<FetchedManifest>;
  /** Streams a blob as stored, verified against digest and size as it flows. */
  openBlob(repo: RepositoryRef, digest: string, size: number): Promise<Readable>;
  readBlob(repo: RepositoryRef, digest: string, size: number, maxBytes: number): Promise<Buffer>;
  /** Repository names in the registry's catalogue (GET /v2/_catalog, every page). */
  listRepositories(registry: string): Promise<string[]>;
  /** Tags of a repository (GET /v2/<name>/tags/list, every page). */
  listTags(repo: RepositoryRef): Promise<string[]>;
}

/** Listings are read page by page (Link: <…>; rel="next"), each page bounded. */
const MAX_LIST_PAGES = 1000;
const MAX_LIST_PAGE_BYTES = 8 * 1024 * 1024;

interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses `Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:x:pull"`. */
export function parseChallenge(header: string): Challenge | undefined {
  const match = /^\s*(\w+)\s*(.*)$/s.exec(header);
  if (!match) return undefined;
  const params: Record<string, string> = {};
  const re = /(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(match[2] ?? '')) !== null) {
    const key = m[1];
    if (key) params[key.toLowerCase()] = (m[2] ?? m[3] ?? '').replace(/\\(.)/g, '$1');
  }
  return { scheme: (match[1] ?? '').toLowerCase(), params };
}

export function apiHost(registry: string): string {
  return registry === 'docker.io' ? 'registry-1.docker.io' : registry;
}

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

class RetryableStatus extends Error {
  constructor(readonly status: number) {
    super(`HTTP ${status}`);
  }
}

export function createRegistryClient(options: RegistryClientOptions = {}): RegistryClient {
  const doFetch = options.fetch ?? fetch;
  const retries = options.retries ?? 4;
  const backoffMs = options.backoffMs ?? 500;
  const sleep = options.sleep ?? defaultSleep;
  const log = options.log ?? silentLogger;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const scheme = options.insecure ? 'http' : 'https';
  /** `${host}|${scope}` → Authorization header value. */
  const authCache = new Map<string, string>();
  const credentialCache = new Map<string, Promise<Credentials | undefined>>();

  const credentialsFor = (registry: string): Promise<Credentials | undefined> => {
    if (options.credentials) return Promise.resolve(options.credentials);
    if (!options.dockerConfigPath) return Promise.resolve(undefined);
    let found = credentialCache.get(registry);
    if (!found) {
      found = dockerConfigCredentials(registry, {
        configPath: options.dockerConfigPath,
        log,
        ...(options.runCredentialHelper ? { runHelper: options.runCredentialHelper } : {}),
      });
      credentialCache.set(registry, found);
    }
    return found;
  };

  const basic = (c: Credentials): string => `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;

  /** One HTTP exchange with retries on network errors, 5xx and 429. */
  const send = async (url: string, requestHeaders: Record<string, string>, what: string): Promise<Response> => {
    const headers = options.userAgent === undefined ? requestHeaders : { ...requestHeaders, 'user-agent': options.userAgent };
    for (let attempt = 0; ; attempt++) {
      try {
        // The timeout covers the wait for the response headers only: a layer body may take longer.
        const abort = new AbortController();
        const timer = setTimeout(() => abort.abort(new Error(`no response within ${timeoutMs} ms`)), timeoutMs);
        let response: Response;
        try {
          response = await doFetch(url, { headers, redirect: 'follow', signal: abort.signal });
        } finally {
          clearTimeout(timer);
        }
        if (response.status >= 500 || response.status === 429) {
          await response.body?.cancel().catch(() => undefined);
          throw new RetryableStatus(response.status);
        }
        return response;
      } catch (error) {
        if (attempt >= retries) {
          const why = error instanceof RetryableStatus ? `the registry answered HTTP ${error.status}` : `network error: ${error instanceof Error ? error.message : String(error)}`;
          throw new AppError('UPSTREAM', `${what} failed after ${attempt + 1} attempts (${why}); try again later or check the registry address`, {
            cause: error,
            details: { url },
          });
        }
        const delay = Math.min(backoffMs * 2 ** attempt, 30_000);
        log.warn({ url, attempt: attempt + 1, delay, error: error instanceof Error ? error.message : String(error) }, 'registry request failed, retrying');
        await sleep(delay);
      }
    }
  };

  /** `subject` names what the token is for in messages: a repository, or the catalogue. */
  const fetchToken = async (challenge: Challenge, registry: string, scope: string, subject: string): Promise<string> => {
    const realm = challenge.params.realm;
    if (!realm) throw new AppError('UPSTREAM', `${registry} asked for a bearer token but named no realm`);
    const url = new URL(realm);
    if (challenge.params.service) url.searchParams.set('service', challenge.params.service);
    url.searchParams.set('scope', challenge.params.scope ?? scope);
    const creds = await credentialsFor(registry);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (creds) headers.authorization = basic(creds);
    const response = await send(url.toString(), headers, `token request to ${url.origin}`);
    if (response.status === 401 || response.status === 403) {
      await response.body?.cancel().catch(() => undefined);
      throw new AppError('UNAUTHORIZED', `${registry} refused a token for ${subject} (HTTP ${response.status}); check the credentials (docker login ${registry})`);
    }
    if (!response.ok) {
      await response.body?.cancel().catch(() => undefined);
      throw new AppError('UPSTREAM', `token request to ${url.origin} answered HTTP ${response.status}`);
    }
    const text = (await readAllCapped(bodyStream(response), 1024 * 1024, 'token response')).toString('utf8');
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (cause) {
      throw new AppError('UPSTREAM', `token response from ${url.origin} is not JSON`, { cause });
    }
    const { tokenSchema } = await import('./schemas.js');
    const parsed = tokenSchema.safeParse(json);
    if (!parsed.success) throw new AppError('UPSTREAM', `token response from ${url.origin} has no token`);
    return `Bearer ${'token' in parsed.data ? parsed.data.token : parsed.data.access_token}`;
  };

  const origin = (registry: string): string => `${scheme}://${apiHost(registry)}`;

  /** GET with auth: sends the cached Authorization, answers one challenge, retries once with it. */
  const authorizedGet = (repo: RepositoryRef, path: string, accept: string, what: string): Promise<Response> =>
    authorizedRequest(repo.registry, `/v2/${repo.repository}/${path}`, `repository:${repo.repository}:pull`, repo.repository, accept, what);

  /** GET of `path` (absolute, on the registry's origin) under a token `scope`; `subject` names the resource in messages. */
  const authorizedRequest = async (registry: string, path: string, scope: string, subject: string, accept: string, what: string): Promise<Response> => {
    const host = apiHost(registry);
    const url = `${origin(registry)}${path}`;
    const cacheKey = `${host}|${scope}`;
    for (let round = 0; round < 2; round++) {
      const headers: Record<string, string> = { accept };
      const cached = authCache.get(cacheKey);
      if (cached) headers.authorization = cached;
      const response = await send(url, headers, what);
      if (response.status !== 401) return response;
      await response.body?.cancel().catch(() => undefined);
      if (round === 1) break;
      authCache.delete(cacheKey);
      const challenge = parseChallenge(response.headers.get('www-authenticate') ?? '');
      if (challenge?.scheme === 'bearer') {
        authCache.set(cacheKey, await fetchToken(challenge, registry, scope, subject));
      } else if (challenge?.scheme === 'basic') {
        const creds = await credentialsFor(registry);
        if (!creds) break;
        authCache.set(cacheKey, basic(creds));
      } else {
        break;
      }
    }
    throw new AppError('UNAUTHORIZED', `${registry} refused access to ${subject}; log in (docker login ${registry}) or pass credentials`, {
      details: { registry, subject },
    });
  };

  const failOnStatus = async (response: Response, what: string): Promise<void> => {
    if (response.ok) return;
    await response.body?.cancel().catch(() => undefined);
    if (response.status === 404) throw new AppError('NOT_FOUND', `${what}: not found (HTTP 404); check the name, tag or digest`);
    if (response.status === 403) throw new AppError('FORBIDDEN', `${what}: access denied (HTTP 403); check the credentials' permissions`);
    throw new AppError('UPSTREAM', `${what}: the registry answered HTTP ${response.status}`);
  };

  const getManifest = async (repo: RepositoryRef, reference: string): Promise<FetchedManifest> => {
    const what = `manifest ${repo.registry}/${repo.repository}:${reference}`;
    const response = await authorizedGet(repo, `manifests/${reference}`, MANIFEST_ACCEPT.join(', '), what);
    await failOnStatus(response, what);
    const length = Number(response.headers.get('content-length') ?? '-1');
    if (length > MAX_MANIFEST_BYTES) {
      await response.body?.cancel().catch(() => undefined);
      throw new AppError('TOO_LARGE', `${what} is ${length} bytes, over the ${MAX_MANIFEST_BYTES}-byte limit for manifests`);
    }
    const bytes = await readAllCapped(bodyStream(response), MAX_MANIFEST_BYTES, what);
    const digest = sha256Digest(bytes);
    const expected = reference.startsWith('sha256:') ? reference : response.headers.get('docker-content-digest') ?? undefined;
    if (expected !== undefined && expected.startsWith('sha256:') && expected !== digest) {
      throw new AppError('UPSTREAM', `${what} has digest ${digest}, not ${expected}; the registry or a proxy altered it`, { details: { expected, actual: digest } });
    }
    const contentType = response.headers.get('content-type')?.split(';')[0]?.trim();
    return { bytes, digest, mediaType: contentType };
  };

  const openBlob = async (repo: RepositoryRef, digest: string, size: number): Promise<Readable> => {
    const what = `blob ${digest} of ${repo.registry}/${repo.repository}`;
    const response = await authorizedGet(repo, `blobs/${digest}`, '*/*', what);
    await failOnStatus(response, what);
    const length = Number(response.headers.get('content-length') ?? '-1');
    if (length > size && size >= 0) {
      await response.body?.cancel().catch(() => undefined);
      throw new AppError('UPSTREAM', `${what} is ${length} bytes, more than the ${size} bytes its manifest declares`);
    }
    return verified(bodyStream(response), digest, size, `layer ${digest}`);
  };

  /** Reads a paginated listing: each page's names, following `Link: <…>; rel="next"` on the same origin. */
  const listPages = async (
    registry: string,
    firstPath: string,
    scope: string,
    subject: string,
    what: string,
    names: (json: unknown) => Promise<string[] | undefined>,
  ): Promise<string[]> => {
    const base = origin(registry);
    const out: string[] = [];
    let path: string | undefined = firstPath;
    for (let page = 0; path !== undefined; page++) {
      if (page >= MAX_LIST_PAGES) throw new AppError('TOO_LARGE', `${what} has more than ${MAX_LIST_PAGES} pages; narrow it down`);
      const response = await authorizedRequest(registry, path, scope, subject, 'application/json', what);
      await failOnStatus(response, what);
      const text = (await readAllCapped(bodyStream(response), MAX_LIST_PAGE_BYTES, what)).toString('utf8');
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (cause) {
        throw new AppError('UPSTREAM', `${what}: the registry sent a body that is not JSON`, { cause });
      }
      const found = await names(json);
      if (found === undefined) throw new AppError('UPSTREAM', `${what}: the registry sent an unexpected body`);
      out.push(...found);
      const link = /<([^>]+)>\s*;\s*rel="?next"?/.exec(response.headers.get('link') ?? '')?.[1];
      if (link === undefined) break;
      const next = new URL(link, base);
      if (next.origin !== base) throw new AppError('UPSTREAM', `${what}: the next page is on another host (${next.origin}); not followed`);
      path = `${next.pathname}${next.search}`;
    }
    return out;
  };

  return {
    getManifest,
    openBlob,
    readBlob: async (repo, digest, size, maxBytes) => {
      if (size > maxBytes) throw new AppError('TOO_LARGE', `blob ${digest} is ${size} bytes, over the ${maxBytes}-byte limit`);
      return readAllCapped(await openBlob(repo, digest, size), maxBytes, `blob ${digest}`);
    },
    // zod is loaded when a listing is read (a scan lists nothing).
    listRepositories: (registry) =>
      listPages(registry, '/v2/_catalog?n=1000', 'registry:catalog:*', 'the catalogue', `catalogue of ${registry}`, async (json) => {
        const { z } = await import('zod');
        const parsed = z.object({ repositories: z.array(z.string()).nullish() }).safeParse(json);
        return parsed.success ? (parsed.data.repositories ?? []) : undefined;
      }),
    listTags: (repo) =>
      listPages(repo.registry, `/v2/${repo.repository}/tags/list`, `repository:${repo.repository}:pull`, repo.repository, `tags of ${repo.registry}/${repo.repository}`, async (json) => {
        const { z } = await import('zod');
        const parsed = z.object({ tags: z.array(z.string()).nullish() }).safeParse(json);
        return parsed.success ? (parsed.data.tags ?? []) : undefined;
      }),
  };
}

function bodyStream(response: Response): Readable {
  if (!response.body) return Readable.from([]);
  return Readable.fromWeb(response.body);
}

import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Cataloger } from '../../catalog/types.js';
import { AppError } from '../../core/index.js';
import { buildImage, gzip, makeTar, sha256, type BuiltImage } from '../__fixtures__/build.js';
import { parseImageReference } from '../reference.js';
import { openRegistryImage } from '../sources/registry.js';
import { walkImage } from '../walker.js';
import { createRegistryClient, parseChallenge, type RegistryClientOptions } from './client.js';
import { credentialKeys, dockerConfigCredentials } from './credentials.js';

/**
 * A small registry speaking the distribution API over node:http, with switchable auth and faults,
 * and its own token endpoint for the bearer flow.
 */
interface Behaviour {
  auth: 'none' | 'basic' | 'bearer';
  /** Manifest requests answered with 500 before the first success. */
  failFirst: number;
  /** Serve this body instead of the true blob for the given digest. */
  tamper?: { digest: string; body: Buffer };
  /** Extra manifest bodies by reference (index, oversized manifest). */
  extraManifests: Map<string, { body: Buffer; type: string }>;
}

const USER = 'scanner';
const PASS = 's3cret!';
const TOKEN = 'tok-abc';

let server: Server;
let base: string;
let host: string;
let image: BuiltImage;
let layerTar: Buffer;
const log: string[] = [];
let tokenRequests: string[] = [];
/** User-Agent of every request, registry and token endpoint alike. */
let agents: string[] = [];
let behaviour: Behaviour;

function basicOk(req: IncomingMessage): boolean {
  return req.headers.authorization === `Basic ${Buffer.from(`${USER}:${PASS}`).toString('base64')}`;
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', base);
  log.push(`${req.method} ${url.pathname}`);
  agents.push(req.headers['user-agent'] ?? '');
  if (url.pathname === '/token') {
    tokenRequests.push(`${url.searchParams.get('service')} ${url.searchParams.get('scope')}`);
    if (!basicOk(req)) {
      res.writeHead(401).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: TOKEN, expires_in: 300 }));
    return;
  }
  if (behaviour.auth === 'basic' && !basicOk(req)) {
    res.writeHead(401, { 'www-authenticate': 'Basic realm="test registry"' }).end();
    return;
  }
  if (behaviour.auth === 'bearer' && req.headers.authorization !== `Bearer ${TOKEN}`) {
    const scope = url.pathname === '/v2/_catalog' ? 'registry:catalog:*' : 'repository:apps/mixed:pull';
    res.writeHead(401, { 'www-authenticate': `Bearer realm="${base}/token",service="test-registry",scope="${scope}"` }).end();
    return;
  }
  // Listings, two names per page, the next page named by a Link header as the Distribution registry does.
  const listing = url.pathname === '/v2/_catalog' ? { key: 'repositories', names: ['apps/mixed', 'apps/other', 'tools/debug'] } : url.pathname === '/v2/apps/mixed/tags/list' ? { key: 'tags', names: ['1.0', '1.1'] } : undefined;
  if (listing) {
    const last = url.searchParams.get('last');
    const start = last === null ? 0 : listing.names.indexOf(last) + 1;
    const page = listing.names.slice(start, start + 2);
    const more = start + 2 < listing.names.length;
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (more) headers.link = `<${url.pathname}?last=${encodeURIComponent(page[page.length - 1] ?? '')}&n=2>; rel="next"`;
    res.writeHead(200, headers).end(JSON.stringify({ name: 'apps/mixed', [listing.key]: page }));
    return;
  }
  const m = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(url.pathname);
  if (!m || m[1] !== 'apps/mixed') {
    res.writeHead(404).end();
    return;
  }
  const [, , kind, ref = ''] = m;
  if (kind === 'manifests') {
    if (behaviour.failFirst > 0) {
      behaviour.failFirst--;
      res.writeHead(500).end('boom');
      return;
    }
    const extra = behaviour.extraManifests.get(ref);
    if (extra) {
      res.writeHead(200, { 'content-type': extra.type, 'docker-content-digest': sha256(extra.body) }).end(extra.body);
      return;
    }
    if (ref === '1.0' || ref === image.manifestDigest) {
      res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'docker-content-digest': image.manifestDigest }).end(image.manifest);
      return;
    }
    res.writeHead(404).end();
    return;
  }
  const body = behaviour.tamper?.digest === ref ? behaviour.tamper.body : image.blobs.get(ref);
  if (!body) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(body);
}

beforeAll(async () => {
  layerTar = await makeTar([
    { name: 'etc/os-release', body: 'ID=debian\nVERSION_ID="12"\n' },
    { name: 'var/lib/dpkg/status', body: 'Package: bash\n' },
  ]);
  image = buildImage({ layers: [{ blob: gzip(layerTar), tar: layerTar }] });
  server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the test server has no TCP address');
  const port = address.port;
  host = `127.0.0.1:${port}`;
  base = `http://${host}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
afterEach(() => {
  log.length = 0;
  tokenRequests = [];
  agents = [];
});

function reset(partial: Partial<Behaviour> = {}): void {
  behaviour = { auth: 'none', failFirst: 0, extraManifests: new Map(), ...partial };
}

const reader: Cataloger = {
  id: 'reader',
  version: 1,
  matches: (p) => p === '/var/lib/dpkg/status',
  parse: (file) => ({ packages: [{ type: 'deb', name: 'bash', version: file.bytes.toString('utf8').trim(), purl: '', locations: [{ path: file.path }] }] }),
};

async function scan(options: RegistryClientOptions, ref = `${'HOST'}/apps/mixed:1.0`) {
  const client = createRegistryClient({ insecure: true, sleep: async () => {}, backoffMs: 1, ...options });
  const source = openRegistryImage(parseImageReference(ref.replace('HOST', host)), { client, platform: { os: 'linux', architecture: 'amd64' } });
  return walkImage(source, [reader]);
}

describe('registry client against a local distribution API server', () => {
  it('pulls anonymously and verifies every digest', async () => {
    reset();
    const out = await scan({});
    expect(out.info.digest).toBe(image.manifestDigest);
    expect(out.info.repoTags).toEqual([`${host}/apps/mixed:1.0`]);
    expect(out.results.get('/var/lib/dpkg/status')?.[0]?.result.packages[0]?.version).toBe('Package: bash');
    expect(log).toEqual(['GET /v2/apps/mixed/manifests/1.0', `GET /v2/apps/mixed/blobs/${image.configDigest}`, `GET /v2/apps/mixed/blobs/${image.layerDigests[0]}`]);
  });

  it('pulls by digest', async () => {
    reset();
    const out = await scan({}, `HOST/apps/mixed@${image.manifestDigest}`);
    expect(out.info.digest).toBe(image.manifestDigest);
    expect(log[0]).toBe(`GET /v2/apps/mixed/manifests/${image.manifestDigest}`);
  });

  it('answers a Basic challenge with explicit credentials, then sends them up front', async () => {
    reset({ auth: 'basic' });
    await scan({ credentials: { username: USER, password: PASS } });
    expect(log).toEqual([
      'GET /v2/apps/mixed/manifests/1.0',
      'GET /v2/apps/mixed/manifests/1.0',
      `GET /v2/apps/mixed/blobs/${image.configDigest}`,
      `GET /v2/apps/mixed/blobs/${image.layerDigests[0]}`,
    ]);
  });

  it('runs the bearer token flow with credentials from a docker config.json, one token per scope', async () => {
    reset({ auth: 'bearer' });
    const dir = mkdtempSync(path.join(tmpdir(), 'palisade-docker-'));
    try {
      const configPath = path.join(dir, 'config.json');
      writeFileSync(configPath, JSON.stringify({ auths: { [host]: { auth: Buffer.from(`${USER}:${PASS}`).toString('base64') } } }));
      await scan({ dockerConfigPath: configPath });
      expect(tokenRequests).toEqual(['test-registry repository:apps/mixed:pull']);
      expect(log.filter((l) => l.startsWith('GET /v2/'))).toHaveLength(4);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails with UNAUTHORIZED when the token endpoint refuses', async () => {
    reset({ auth: 'bearer' });
    const error: unknown = await scan({ credentials: { username: USER, password: 'wrong' } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: 'UNAUTHORIZED' });
    expect(String(error)).toMatch(/refused a token for apps\/mixed \(HTTP 401\)/);
  });

  it('fails with UNAUTHORIZED when basic auth is needed and none is given', async () => {
    reset({ auth: 'basic' });
    await expect(scan({})).rejects.toThrow(/refused access to apps\/mixed; log in/);
  });

  it('retries a 500 with backoff and then succeeds', async () => {
    reset({ failFirst: 2 });
    const delays: number[] = [];
    const out = await scan({ sleep: async (ms) => void delays.push(ms), backoffMs: 100 });
    expect(out.info.digest).toBe(image.manifestDigest);
    expect(delays).toEqual([100, 200]);
    expect(log.slice(0, 3)).toEqual(['GET /v2/apps/mixed/manifests/1.0', 'GET /v2/apps/mixed/manifests/1.0', 'GET /v2/apps/mixed/manifests/1.0']);
  });

  it('gives up after the bounded number of retries', async () => {
    reset({ failFirst: 10 });
    await expect(scan({ retries: 2 })).rejects.toThrow(/failed after 3 attempts \(the registry answered HTTP 500\)/);
  });

  it('refuses a layer whose bytes do not match the digest in the manifest, naming the layer', async () => {
    const layer = image.layerDigests[0] ?? '';
    const fake = gzip(await makeTar([{ name: 'var/lib/dpkg/status', body: 'Package: evil\n' }]));
    reset({ tamper: { digest: layer, body: Buffer.concat([fake, Buffer.alloc(Math.max(0, (image.blobs.get(layer)?.length ?? 0) - fake.length))]).subarray(0, image.blobs.get(layer)?.length ?? 0) } });
    await expect(scan({})).rejects.toThrow(new RegExp(`layer ${layer} has digest sha256:[a-f0-9]{64}, not the ${layer} its manifest names`));
  });

  it('refuses a layer with more bytes than declared, naming the layer', async () => {
    const layer = image.layerDigests[0] ?? '';
    reset({ tamper: { digest: layer, body: Buffer.concat([image.blobs.get(layer) ?? Buffer.alloc(0), Buffer.alloc(100)]) } });
    // Node answers without Content-Length here, so the size check happens while streaming
    await expect(scan({})).rejects.toThrow(new RegExp(`layer ${layer} is larger than its declared size of \\d+ bytes`));
  });

  it('refuses a manifest over 4 MB', async () => {
    reset({ extraManifests: new Map([['huge', { body: Buffer.alloc(4 * 1024 * 1024 + 1, 0x20), type: 'application/vnd.oci.image.manifest.v1+json' }]]) });
    await expect(scan({}, 'HOST/apps/mixed:huge')).rejects.toThrow(/manifest 127\.0\.0\.1:\d+\/apps\/mixed:huge is larger than the 4194304-byte limit/);
  });

  it('chooses the platform from an index', async () => {
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [
          { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256('arm'), size: 3, platform: { os: 'linux', architecture: 'arm', variant: 'v7' } },
          { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: image.manifestDigest, size: image.manifest.length, platform: { os: 'linux', architecture: 'amd64' } },
          { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256('att'), size: 3, platform: { os: 'unknown', architecture: 'unknown' } },
        ],
      }),
    );
    reset({ extraManifests: new Map([['multi', { body: index, type: 'application/vnd.oci.image.index.v1+json' }]]) });
    const out = await scan({}, 'HOST/apps/mixed:multi');
    expect(out.info.digest).toBe(image.manifestDigest);
    expect(log.slice(0, 2)).toEqual(['GET /v2/apps/mixed/manifests/multi', `GET /v2/apps/mixed/manifests/${image.manifestDigest}`]);
  });

  it('refuses a Docker schema 1 manifest as unsupported', async () => {
    const v1 = Buffer.from(JSON.stringify({ schemaVersion: 1, name: 'apps/mixed', tag: 'old', architecture: 'amd64', fsLayers: [], history: [] }));
    reset({ extraManifests: new Map([['old', { body: v1, type: 'application/vnd.docker.distribution.manifest.v1+prettyjws' }]]) });
    await expect(scan({}, 'HOST/apps/mixed:old')).rejects.toMatchObject({ code: 'UNSUPPORTED', message: expect.stringMatching(/is a Docker schema 1 manifest, which is not supported/) });
  });

  it('lists the catalogue and the tags page by page with a token per scope, saying who it is', async () => {
    reset({ auth: 'bearer' });
    const client = createRegistryClient({ insecure: true, credentials: { username: USER, password: PASS }, userAgent: 'palisade-server/0.1.0' });
    expect(await client.listRepositories(host)).toEqual(['apps/mixed', 'apps/other', 'tools/debug']);
    expect(await client.listTags({ registry: host, repository: 'apps/mixed' })).toEqual(['1.0', '1.1']);
    expect(tokenRequests).toEqual(['test-registry registry:catalog:*', 'test-registry repository:apps/mixed:pull']);
    expect(log.filter((l) => l !== 'GET /token')).toEqual(['GET /v2/_catalog', 'GET /v2/_catalog', 'GET /v2/_catalog', 'GET /v2/apps/mixed/tags/list', 'GET /v2/apps/mixed/tags/list']);
    expect(new Set(agents)).toEqual(new Set(['palisade-server/0.1.0']));
  });

  it('reports a missing tag as NOT_FOUND', async () => {
    reset();
    await expect(scan({}, 'HOST/apps/mixed:nope')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('credentials', () => {
  it.each([
    ['WWW-Authenticate Bearer', 'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"', { scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/alpine:pull' } }],
    ['WWW-Authenticate Basic', 'Basic realm="Registry Realm"', { scheme: 'basic', params: { realm: 'Registry Realm' } }],
    ['ghcr', 'Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:user/image:pull"', { scheme: 'bearer', params: { realm: 'https://ghcr.io/token', service: 'ghcr.io', scope: 'repository:user/image:pull' } }],
  ])('parses %s', (_name, header, expected) => {
    expect(parseChallenge(header)).toEqual(expected);
  });

  it('looks Docker Hub up under its legacy key', () => {
    expect(credentialKeys('docker.io')[0]).toBe('https://index.docker.io/v1/');
  });

  it('runs docker-credential-<name> from credHelpers and credsStore', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'palisade-cred-'));
    const oldPath = process.env.PATH;
    try {
      const helper = path.join(dir, 'docker-credential-palisadetest');
      writeFileSync(helper, '#!/bin/sh\nread host\nif [ "$host" = "ghcr.io" ]; then echo "{\\"ServerURL\\":\\"$host\\",\\"Username\\":\\"bot\\",\\"Secret\\":\\"pat-123\\"}"; else echo "credentials not found in native keychain" >&2; exit 1; fi\n');
      chmodSync(helper, 0o755);
      process.env.PATH = `${dir}:${oldPath ?? ''}`;
      const configPath = path.join(dir, 'config.json');
      writeFileSync(configPath, JSON.stringify({ credHelpers: { 'ghcr.io': 'palisadetest' } }));
      expect(await dockerConfigCredentials('ghcr.io', { configPath })).toEqual({ username: 'bot', password: 'pat-123' });
      writeFileSync(configPath, JSON.stringify({ credsStore: 'palisadetest', auths: { 'quay.io': {} } }));
      expect(await dockerConfigCredentials('quay.io', { configPath })).toBeUndefined();
      writeFileSync(configPath, JSON.stringify({ auths: { 'https://index.docker.io/v1/': { auth: Buffer.from('hubuser:hubpass').toString('base64') } } }));
      expect(await dockerConfigCredentials('docker.io', { configPath })).toEqual({ username: 'hubuser', password: 'hubpass' });
      expect(await dockerConfigCredentials('docker.io', { configPath: path.join(dir, 'absent.json') })).toBeUndefined();
      writeFileSync(configPath, '{ not json');
      await expect(dockerConfigCredentials('docker.io', { configPath })).rejects.toThrow(/is not valid JSON; fix or remove it/);
    } finally {
      process.env.PATH = oldPath;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

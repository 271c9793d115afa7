import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import pg from 'pg';
import tar from 'tar-stream';
import { z } from 'zod';
import { fixedClock, silentLogger, type Clock } from '../src/core/index.js';
import { importFeeds } from '../src/vulndb/import.js';

/**
 * Fixtures the server tests build themselves: a small advisory DB (OSV Debian records, a KEV
 * catalogue, an EPSS CSV) imported with the real importer, tiny Debian 12 images written as OCI
 * layouts (pushed with skopeo into the real registry), and throw-away PostgreSQL databases.
 */

export const PG_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/test';

function osv(id: string, name: string, fixed: string, vector: string, modified: string): string {
  return JSON.stringify({
    schema_version: '1.6.0',
    id,
    modified,
    published: '2024-01-26T09:15:07Z',
    aliases: [],
    summary: `${name}: ${id}`,
    affected: [{ package: { ecosystem: 'Debian:12', name }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed }] }] }],
    severity: [{ type: 'CVSS_V3', score: vector }],
  });
}

export const ADVISORIES = {
  critical: { id: 'CVE-2024-5535', vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:H', fixed: '3.0.15-1~deb12u1' },
  medium: { id: 'CVE-2024-0727', vector: 'CVSS:3.1/AV:L/AC:L/PR:N/UI:R/S:U/C:N/I:N/A:H', fixed: '3.0.13-1~deb12u1' },
  /** For mixed-app (python3-requests 2.28.1+dfsg-1 from Debian 12). */
  requests: { id: 'CVE-2024-35195', vector: 'CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:H/I:H/A:N', fixed: '2.28.1+dfsg-1+deb12u1' },
  /** Only in the updated DB: proves that a DB update re-evaluates stored package lists. */
  high: { id: 'CVE-2023-50387', vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H', fixed: '3.0.16-1~deb12u1' },
} as const;

/** Builds an advisory DB at `path`. `updated` adds one more advisory (a later feed snapshot). */
export async function buildAdvisoryDb(path: string, options: { updated?: boolean; builtAt?: string } = {}): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-feeds-'));
  mkdirSync(join(dir, 'osv'), { recursive: true });
  const list = options.updated ? [ADVISORIES.critical, ADVISORIES.medium, ADVISORIES.high] : [ADVISORIES.critical, ADVISORIES.medium];
  for (const a of list) writeFileSync(join(dir, 'osv', `${a.id}.json`), osv(a.id, 'openssl', a.fixed, a.vector, '2024-06-01T00:00:00Z'));
  const r = ADVISORIES.requests;
  writeFileSync(join(dir, 'osv', `${r.id}.json`), osv(r.id, 'requests', r.fixed, r.vector, '2024-06-01T00:00:00Z'));
  writeFileSync(
    join(dir, 'known_exploited_vulnerabilities.json'),
    JSON.stringify({
      title: 'CISA Catalog of Known Exploited Vulnerabilities',
      catalogVersion: '2024.07.01',
      count: 1,
      vulnerabilities: [{ cveID: ADVISORIES.critical.id, vendorProject: 'OpenSSL', product: 'OpenSSL', vulnerabilityName: 'OpenSSL SSL_select_next_proto buffer overread', dateAdded: '2024-07-01', shortDescription: 'fixture', requiredAction: 'Apply updates', dueDate: '2024-07-22', knownRansomwareCampaignUse: 'Unknown', notes: '' }],
    }),
  );
  writeFileSync(join(dir, 'epss_scores-2024-07-01.csv'), `#model_version:v2023.03.01,score_date:2024-07-01T00:00:00+0000\ncve,epss,percentile\n${ADVISORIES.critical.id},0.00321,0.71234\n${ADVISORIES.medium.id},0.00044,0.12000\n`);
  await importFeeds({ inputs: [dir], dbPath: path, clock: fixedClock(options.builtAt ?? (options.updated ? '2024-07-02T00:00:00Z' : '2024-07-01T00:00:00Z')), log: silentLogger });
}

function sha256(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

async function tarOf(files: Record<string, string>): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => {
    if (Buffer.isBuffer(c)) chunks.push(c);
  });
  const done = new Promise<void>((resolve, reject) => {
    pack.on('end', () => resolve());
    pack.on('error', reject);
  });
  const dirs = new Set<string>();
  for (const path of Object.keys(files)) {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  for (const d of [...dirs].sort()) pack.entry({ name: `${d}/`, type: 'directory', mode: 0o755 });
  for (const [path, content] of Object.entries(files)) pack.entry({ name: path, mode: 0o644 }, content);
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

const OS_RELEASE = `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
`;

function dpkgStatus(marker: string): string {
  return `Package: openssl
Status: install ok installed
Priority: optional
Section: utils
Installed-Size: 2286
Maintainer: Debian OpenSSL Team <pkg-openssl-devel@alioth-lists.debian.net>
Architecture: amd64
Version: 3.0.11-1~deb12u2
Depends: libc6 (>= 2.34), libssl3 (>= 3.0.9)
Description: Secure Sockets Layer toolkit - cryptographic utility

Package: libssl3
Status: install ok installed
Priority: optional
Section: libs
Installed-Size: 6244
Maintainer: Debian OpenSSL Team <pkg-openssl-devel@alioth-lists.debian.net>
Architecture: amd64
Multi-Arch: same
Source: openssl
Version: 3.0.11-1~deb12u2
Depends: libc6 (>= 2.34)
Description: Secure Sockets Layer toolkit - shared libraries

Package: palisade-fixture-${marker}
Status: install ok installed
Priority: optional
Section: misc
Installed-Size: 1
Maintainer: Palisade tests <tests@palisade.invalid>
Architecture: all
Version: 1.0-${marker}
Description: marker that makes each fixture image digest unique

`;
}

/** Writes a one-layer Debian 12 image (openssl 3.0.11-1~deb12u2) as an OCI layout; returns the `oci:DIR:tag` source for skopeo and the manifest digest. */
export async function writeFixtureImage(dir: string, marker: string, tag = 'latest'): Promise<{ source: string; digest: string }> {
  const layerTar = await tarOf({ 'etc/os-release': OS_RELEASE, 'var/lib/dpkg/status': dpkgStatus(marker) });
  const layer = gzipSync(layerTar);
  const config = Buffer.from(
    JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Env: ['PATH=/usr/bin:/bin'] }, rootfs: { type: 'layers', diff_ids: [sha256(layerTar)] }, history: [{ created_by: `palisade fixture ${marker}` }] }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(layer), size: layer.length }],
    }),
  );
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
  for (const blob of [layer, config, manifest]) writeFileSync(join(dir, 'blobs', 'sha256', sha256(blob).slice(7)), blob);
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(manifest), size: manifest.length, annotations: { 'org.opencontainers.image.ref.name': tag } }],
    }),
  );
  return { source: `oci:${dir}:${tag}`, digest: sha256(manifest) };
}

/** A clock the test moves by hand. */
export function travelClock(start: string): Clock & { set(iso: string): void } {
  let now = new Date(start);
  return { now: () => new Date(now.getTime()), set: (iso) => void (now = new Date(iso)) };
}

export async function postgresAvailable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.end();
    return true;
  } catch {
    return false;
  }
}

/** A store for a server test: an SQLite file in the test's dir, or a fresh PostgreSQL database (skipped when none answers). */
export interface StoreBackend {
  name: string;
  skip: boolean;
  open(dir: string): Promise<{ database: string; drop(): Promise<void> }>;
}

/** SQLite and PostgreSQL backends for `describe.each`; warns once, naming the suite, when PostgreSQL is absent. */
export async function storeBackends(suite: string): Promise<StoreBackend[]> {
  const pgAvailable = await postgresAvailable();
  if (!pgAvailable) console.warn(`${suite} PostgreSQL tests skipped: no PostgreSQL at 127.0.0.1:5432 (user postgres, trust auth)`);
  return [
    { name: 'SQLite', skip: false, open: async (dir) => ({ database: join(dir, 'store.sqlite'), drop: async () => undefined }) },
    {
      name: 'PostgreSQL',
      skip: !pgAvailable,
      open: async () => {
        const db = await createPgDatabase();
        return { database: db.url, drop: db.drop };
      },
    },
  ];
}

/** Creates `palisade_test_<random>`; returns its URL and a drop function. */
export async function createPgDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `palisade_test_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  return {
    url: `postgres://postgres@127.0.0.1:5432/${name}`,
    async drop() {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** Shapes of the API answers the tests read fields from (parsed, not cast). */
const findingView = z.object({
  advisoryId: z.string(),
  severity: z.string(),
  installedVersion: z.string(),
  fixedVersions: z.array(z.string()),
  package: z.object({ name: z.string() }),
  kev: z.object({ cveId: z.string() }).optional(),
  epss: z.object({ score: z.number() }).optional(),
  disabledBy: z.object({ author: z.string(), justification: z.string() }).optional(),
});
export const views = {
  findings: z.object({
    digest: z.string(),
    status: z.enum(['pending', 'done', 'failed']),
    error: z.string().optional(),
    summary: z.object({ visible: z.number(), disabled: z.number(), bySeverity: z.record(z.string(), z.number()) }),
    findings: z.array(findingView),
  }),
  /** Either a findings answer or an error answer (404 before the push is recorded). */
  status: z.object({ status: z.string().optional(), error: z.union([z.string(), z.object({ code: z.string(), message: z.string() })]).optional() }),
  scans: z.object({ scans: z.array(z.object({ kind: z.string(), status: z.string(), findings: z.number(), worker: z.string() })) }),
  detail: z.object({ packages: z.array(z.object({ name: z.string() })) }),
  imageDetail: z.object({ image: z.object({ pulledAt: z.string().optional() }) }),
  rules: z.object({ rules: z.array(z.object({ active: z.boolean() })) }),
  events: z.object({ events: z.array(z.object({ finding: z.object({ advisoryId: z.string(), severity: z.string(), package: z.string() }) })) }),
  eventLine: z.object({ finding: z.object({ package: z.string() }) }),
  error: z.object({ error: z.object({ code: z.string(), message: z.string() }) }),
  openapi: z.object({ openapi: z.string(), paths: z.record(z.string(), z.unknown()) }),
};

import { createReadStream, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createGunzip } from 'node:zlib';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import tar from 'tar-stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Package } from '../core/index.js';
import type { Cataloger } from './types.js';
import { CATALOGERS } from './registry.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const archive = path.join(path.resolve(repoRoot, '../shared'), 'images', 'mixed-app.oci.tar');
const present = existsSync(archive);
if (!present) console.warn(`skipping the mixed-app image test: ${archive} is absent (it ships in ../shared/images)`);

/** Every registered cataloger except the OS package databases (their own tests read layer 0's dpkg status). */
const OS_CATALOGERS = new Set(['dpkg', 'apk', 'rpm']);
const LANGUAGE_CATALOGERS: readonly Cataloger[] = CATALOGERS.filter((c) => !OS_CATALOGERS.has(c.id));

const indexSchema = z.object({ manifests: z.array(z.object({ digest: z.string() })).min(1) });
const manifestSchema = z.object({ layers: z.array(z.object({ digest: z.string() })) });

/** The blobs of the OCI archive by digest, and the layer digests in manifest order. */
async function readArchive(file: string): Promise<{ blobs: Map<string, Buffer>; layers: string[] }> {
  const files = new Map<string, Buffer>();
  const extract = tar.extract();
  extract.on('entry', (header, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: unknown) => {
      if (Buffer.isBuffer(c)) chunks.push(c);
    });
    stream.on('end', () => {
      files.set(header.name.replace(/^\.\//, ''), Buffer.concat(chunks));
      next();
    });
  });
  await pipeline(createReadStream(file), extract);
  const blob = (digest: string): Buffer => {
    const found = files.get(`blobs/${digest.replace(':', '/')}`);
    if (!found) throw new Error(`blob ${digest} missing from ${file}`);
    return found;
  };
  const index = indexSchema.parse(JSON.parse(files.get('index.json')?.toString('utf8') ?? '{}'));
  const manifest = manifestSchema.parse(JSON.parse(blob(index.manifests[0]?.digest ?? '').toString('utf8')));
  const blobs = new Map(manifest.layers.map((l) => [l.digest, blob(l.digest)]));
  return { blobs, layers: manifest.layers.map((l) => l.digest) };
}

/** Runs every language cataloger over the regular files of one gzip layer; packages by cataloger id. */
async function catalogLayer(gz: Buffer, layer: string): Promise<Map<string, Package[]>> {
  const found = new Map<string, Package[]>(LANGUAGE_CATALOGERS.map((c) => [c.id, []]));
  const extract = tar.extract();
  extract.on('entry', (header, stream, next) => {
    const filePath = '/' + header.name.replace(/^\.?\//, '').replace(/\/$/, '');
    const info = { size: header.size ?? 0, mode: header.mode ?? 0 };
    const wanted = header.type === 'file' ? LANGUAGE_CATALOGERS.filter((c) => c.matches(filePath, info)) : [];
    if (wanted.length === 0) {
      stream.resume();
      stream.on('end', next);
      return;
    }
    const chunks: Buffer[] = [];
    stream.on('data', (c: unknown) => {
      if (Buffer.isBuffer(c)) chunks.push(c);
    });
    stream.on('end', () => {
      const bytes = Buffer.concat(chunks);
      Promise.all(
        wanted.map(async (c) => {
          const result = await c.parse({ path: filePath, layer, bytes, ...info });
          found.get(c.id)?.push(...result.packages);
        }),
      ).then(() => next(), next);
    });
  });
  await pipeline(Readable.from(gz), createGunzip(), extract);
  return found;
}

function coordinates(packages: readonly Package[]): string[] {
  return packages.map((p) => `${p.name}@${p.version}`).sort();
}

/**
 * The installed npm packages the image README lists (`name@version [*] [ (path under node_modules)]`),
 * as `path name@version` lines.
 */
function listedNpmPackages(readme: string): string[] {
  const start = readme.indexOf('<summary>all npm packages');
  const block = readme.slice(readme.indexOf('```', start) + 3, readme.indexOf('```', readme.indexOf('```', start) + 3));
  return block
    .split('\n')
    .map((l) => /^(\S+)@(\S+)(?: \*)?(?:\s+\((\S+)\))?$/.exec(l.trim()))
    .filter((m): m is RegExpExecArray => m !== null)
    .map(([, name, version, dir]) => `/app/node_modules/${dir ?? name}/package.json ${name}@${version}`)
    .sort();
}

describe.skipIf(!present)('language catalogers over mixed-app.oci.tar', () => {
  let layers: string[] = [];
  let app = new Map<string, Package[]>();
  let base = new Map<string, Package[]>();

  beforeAll(async () => {
    const oci = await readArchive(archive);
    layers = oci.layers;
    const [layer0, layer1] = layers;
    if (!layer0 || !layer1) throw new Error('mixed-app.oci.tar has fewer than two layers');
    app = await catalogLayer(oci.blobs.get(layer1) ?? Buffer.alloc(0), layer1);
    base = await catalogLayer(oci.blobs.get(layer0) ?? Buffer.alloc(0), layer0);
  });

  it('finds the 215 installed npm packages with their versions and purls', () => {
    const installed = app.get('npm-installed') ?? [];
    const listed = listedNpmPackages(readFileSync(path.join(path.dirname(archive), 'README.md'), 'utf8'));
    expect(listed).toHaveLength(215);
    expect(installed.map((p) => `${p.locations[0]?.path} ${p.name}@${p.version}`).sort()).toEqual(listed);
    const byPath = new Map(installed.map((p) => [p.locations[0]?.path, p]));
    expect(byPath.get('/app/node_modules/@babel/code-frame/package.json')?.purl).toBe('pkg:npm/%40babel/code-frame@7.12.11');
    expect(byPath.get('/app/node_modules/@babel/highlight/node_modules/chalk/package.json')?.purl).toBe('pkg:npm/chalk@2.4.2');
    expect(byPath.get('/app/node_modules/lodash/package.json')).toMatchObject({ version: '4.17.15', purl: 'pkg:npm/lodash@4.17.15', licenses: ['MIT'] });
    expect(byPath.get('/app/node_modules/optimist/node_modules/minimist/package.json')?.version).toBe('0.0.10');
    expect(byPath.get('/app/node_modules/send/node_modules/ms/package.json')?.version).toBe('2.1.1');
    expect(byPath.get('/app/node_modules/table/node_modules/ajv/package.json')?.version).toBe('8.20.0');
    expect(installed.every((p) => p.locations[0]?.layer === layers[1])).toBe(true);
  });

  it('finds the same 215 packages in package-lock.json v3', () => {
    const locked = app.get('npm-lockfile') ?? [];
    expect(coordinates(locked)).toEqual(coordinates(app.get('npm-installed') ?? []));
    expect(new Set(locked.map((p) => p.locations[0]?.path))).toEqual(new Set(['/app/package-lock.json']));
  });

  it('reads the maven coordinates of the five jars', () => {
    expect((app.get('java-archive') ?? []).map((p) => `${p.locations[0]?.path} ${p.purl}`).sort()).toEqual([
      '/app/lib/commons-lang3-3.12.0.jar pkg:maven/org.apache.commons/commons-lang3@3.12.0',
      '/app/lib/commons-text-1.10.0.jar pkg:maven/org.apache.commons/commons-text@1.10.0',
      '/app/lib/jackson-annotations-2.14.0.jar pkg:maven/com.fasterxml.jackson.core/jackson-annotations@2.14.0',
      '/app/lib/jackson-core-2.14.1.jar pkg:maven/com.fasterxml.jackson.core/jackson-core@2.14.1',
      '/app/lib/jackson-databind-2.14.0.jar pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.14.0',
    ]);
  });

  it('reads the Go build info of /app/bin/esbuild', () => {
    expect((app.get('go-binary') ?? []).map((p) => `${p.locations[0]?.path} ${p.name}@${p.version} ${p.purl}`)).toEqual([
      '/app/bin/esbuild golang.org/x/sys@v0.0.0-20220715151400-c0bba94af5f8 pkg:golang/golang.org/x/sys@v0.0.0-20220715151400-c0bba94af5f8',
      '/app/bin/esbuild stdlib@1.20.4 pkg:golang/stdlib@1.20.4',
    ]);
  });

  it('finds no packages of ecosystems the image does not hold', () => {
    for (const id of ['yarn-lockfile', 'pnpm-lockfile', 'rust-cargo-lock', 'rust-cargo-auditable', 'dotnet-deps-json', 'php-composer-lock']) {
      expect([...(app.get(id) ?? []), ...(base.get(id) ?? [])], id).toEqual([]);
    }
    // node_modules/uri-js/yarn.lock and the Gemfile.lock / package-lock.json inside installed gems'
    // folders are their authors' development files, not what the image installs
    expect(base.get('npm-lockfile')).toEqual([]);
    expect(base.get('ruby-gemfile-lock')).toEqual([]);
  });

  it('reads the Python distributions of layer 0 (PyYAML included: whiteouts are the walker’s business)', () => {
    const python = base.get('python-installed') ?? [];
    expect(python.map((p) => `${p.locations[0]?.path} ${p.purl}`).sort()).toEqual([
      '/usr/lib/python3/dist-packages/PyYAML-6.0.dist-info/METADATA pkg:pypi/pyyaml@6.0',
      '/usr/lib/python3/dist-packages/certifi-2022.9.24.egg-info/PKG-INFO pkg:pypi/certifi@2022.9.24',
      '/usr/lib/python3/dist-packages/chardet-5.1.0.dist-info/METADATA pkg:pypi/chardet@5.1.0',
      '/usr/lib/python3/dist-packages/charset_normalizer-3.0.1.dist-info/METADATA pkg:pypi/charset-normalizer@3.0.1',
      '/usr/lib/python3/dist-packages/idna-3.3.egg-info/PKG-INFO pkg:pypi/idna@3.3',
      '/usr/lib/python3/dist-packages/requests-2.28.1.egg-info/PKG-INFO pkg:pypi/requests@2.28.1',
      '/usr/lib/python3/dist-packages/six-1.16.0.egg-info/PKG-INFO pkg:pypi/six@1.16.0',
      '/usr/lib/python3/dist-packages/urllib3-1.26.12.egg-info/PKG-INFO pkg:pypi/urllib3@1.26.12',
    ]);
    expect(python.find((p) => p.name === 'requests')?.licenses).toEqual(['Apache 2.0']);
  });

  it('reads the 92 Ruby gemspecs of layer 0', () => {
    const gems = base.get('ruby-gemspec') ?? [];
    expect(gems).toHaveLength(92);
    const at = (p: string): string | undefined => gems.find((g) => g.locations[0]?.path === p)?.purl;
    expect(at('/usr/share/rubygems-integration/all/specifications/rack-2.2.22.gemspec')).toBe('pkg:gem/rack@2.2.22');
    expect(at('/usr/lib/ruby/gems/3.1.0/specifications/default/bundler-2.3.7.gemspec')).toBe('pkg:gem/bundler@2.3.7');
    expect(at('/usr/lib/ruby/gems/3.1.0/specifications/minitest-5.15.0.gemspec')).toBe('pkg:gem/minitest@5.15.0');
  });
});

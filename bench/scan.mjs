// `palisade scan image` end to end, as a user runs it (a child process per run, peak RSS and CPU from GNU time):
//  - cold scan of mixed-app from its oci-archive (--no-cache) against the floor of `gzip -dc` of its
//    layers to /dev/null, in the same run; goal ≤ 1.5× the floor;
//  - warm re-scan (same digest, same advisory DB: cached package list and findings); goal < 200 ms.
//    Median of --runs (default 9) wall and CPU (user+sys) times, runs interleaved with bare `node -e 0`
//    (the floor any CLI pays) so both see the same machine load; CPU time is what a loaded machine
//    distorts least;
//  - peak memory of a cold scan, and of a scan of a generated image with a 1 GB layer; goal < 300 MB;
//  - a scan through a local docker-registry (pushed with skopeo): command start to report.
// Run after `npm run build`:  node bench/scan.mjs [advisory-db] [--warm-only] [--runs N] [--dist DIR] [--compare DIR]
// The advisory DB is the argument, $PALISADE_BENCH_DB, or .bench-work/vulndb.sqlite (see bench/match.mjs).
// --warm-only measures only the warm re-scan; --dist DIR measures another build than ../dist/;
// --compare DIR also measures the warm re-scan of an older build (a copy of dist/ from before a
// change), interleaved with the same runs, for before/after figures under the same load.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { fileURLToPath } from 'node:url';

const repo = resolve(fileURLToPath(new URL('.', import.meta.url)), '..');
const argv = process.argv.slice(2);
const option = (name) => {
  const at = argv.indexOf(`--${name}`);
  if (at < 0) return undefined;
  const value = argv[at + 1];
  argv.splice(at, 2);
  return value;
};
const flag = (name) => {
  const at = argv.indexOf(`--${name}`);
  if (at >= 0) argv.splice(at, 1);
  return at >= 0;
};
const warmOnly = flag('warm-only');
const runs = Number(option('runs') ?? '9');
const distDir = resolve(option('dist') ?? join(repo, 'dist'));
const compareDir = option('compare');
const cli = join(distDir, 'cli/main.js');
const image = resolve(repo, '../shared/images/mixed-app.oci.tar');
const db = resolve(argv[0] ?? process.env.PALISADE_BENCH_DB ?? join(repo, '.bench-work/vulndb.sqlite'));
if (!existsSync(cli)) throw new Error('run `npm run build` first');
if (!existsSync(image)) {
  console.log(`skipped: ${image} is absent`);
  process.exit(0);
}
if (!existsSync(db)) {
  console.log(`skipped: no advisory DB at ${db} (run bench/match.mjs or palisade db import first)`);
  process.exit(0);
}
const work = mkdtempSync(join(tmpdir(), 'palisade-bench-scan-'));
const cache = join(work, 'cache');

/** Runs a command under GNU time; returns wall ms, CPU ms (user + sys) and peak RSS MB. */
function timedCommand(command, args, env = {}) {
  const started = process.hrtime.bigint();
  const run = spawnSync('/usr/bin/time', ['-f', '%U %S %M', command, ...args], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (run.status !== 0 && run.status !== 1) throw new Error(`${command} ${args.join(' ')} failed: ${run.stderr}`);
  const [user, sys, rss] = (run.stderr.trim().split('\n').at(-1) ?? '').split(' ').map(Number);
  return { ms, cpu: (user + sys) * 1000, rss: rss / 1024 };
}

/** Runs the CLI (of `build`, default the measured one) under GNU time. */
function timed(args, env = {}, build = cli) {
  return timedCommand(process.execPath, [build, ...args], { PALISADE_CACHE_DIR: cache, ...env });
}

const best = (runs) => Math.min(...runs.map((r) => r.ms));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (ms) => `${ms.toFixed(0)} ms`;
const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const scanArgs = (ref, ...extra) => ['scan', 'image', ref, '--db', db, '--quiet', '--format', 'json', '--output', '/dev/null', ...extra];

console.log(`scan benchmark: ${image}`);
console.log(`  build: ${distDir}${compareDir ? ` (compared with ${resolve(compareDir)})` : ''}`);
console.log(`  advisory DB: ${db}`);
console.log(`  load average at start: ${load()}`);

/** Warm re-scans of `build` interleaved with `node -e 0` (and the --compare build), `runs` of each. */
function warmRuns() {
  const builds = [{ name: 'warm re-scan', cli }, ...(compareDir ? [{ name: 'warm re-scan, compared build', cli: join(resolve(compareDir), 'cli/main.js') }] : [])];
  const results = new Map(builds.map((b) => [b.name, []]));
  const bare = [];
  for (const b of builds) timed(scanArgs(`oci-archive:${image}`), { PALISADE_CACHE_DIR: `${cache}-${b.name}` }, b.cli); // fills each build's cache
  for (let i = 0; i < runs; i++) {
    for (const b of builds) results.get(b.name).push(timed(scanArgs(`oci-archive:${image}`), { PALISADE_CACHE_DIR: `${cache}-${b.name}` }, b.cli));
    bare.push(timedCommand(process.execPath, ['-e', '0']));
  }
  const line = (name, xs) =>
    console.log(`  ${`${name} (median of ${xs.length}):`.padEnd(44)} ${fmt(median(xs.map((r) => r.ms))).padStart(7)} wall, ${fmt(median(xs.map((r) => r.cpu))).padStart(7)} CPU (user+sys)`);
  for (const [name, xs] of results) line(name, xs);
  line('bare `node -e 0`', bare);
  const warm = results.get('warm re-scan');
  console.log(`  warm re-scan minus bare node:               ${fmt(median(warm.map((r) => r.ms)) - median(bare.map((r) => r.ms))).padStart(7)} wall, ${fmt(median(warm.map((r) => r.cpu)) - median(bare.map((r) => r.cpu))).padStart(7)} CPU   (goal: warm re-scan < 200 ms wall)`);
  console.log(`  load average after the warm runs: ${load()}`);
}

if (warmOnly) {
  warmRuns();
  rmSync(work, { recursive: true, force: true });
  process.exit(0);
}

// Floor: gunzip each layer blob of the archive to /dev/null.
let layerFiles = [];
const layoutDir = join(work, 'layout');
function extractLayers() {
  mkdirSync(layoutDir);
  execFileSync('tar', ['-xf', image, '-C', layoutDir]);
  const index = JSON.parse(readFileSync(join(layoutDir, 'index.json'), 'utf8'));
  const manifest = JSON.parse(readFileSync(join(layoutDir, 'blobs/sha256', index.manifests[0].digest.slice(7)), 'utf8'));
  layerFiles = manifest.layers.map((l) => join(layoutDir, 'blobs/sha256', l.digest.slice(7)));
}
function floorOnce() {
  const started = process.hrtime.bigint();
  for (const f of layerFiles) execFileSync('sh', ['-c', `gzip -dc < '${f}' > /dev/null`]);
  return { ms: Number(process.hrtime.bigint() - started) / 1e6 };
}

extractLayers();
const floor = [floorOnce(), floorOnce(), floorOnce()];
const cold = [timed(scanArgs(`oci-archive:${image}`, '--no-cache')), timed(scanArgs(`oci-archive:${image}`, '--no-cache')), timed(scanArgs(`oci-archive:${image}`, '--no-cache'))];
console.log(`  cold scan (best of 3):   ${fmt(best(cold))}   [${cold.map((r) => r.ms.toFixed(0)).join(', ')}]; CPU ${cold.map((r) => r.cpu.toFixed(0)).join(', ')} ms`);
console.log(`  floor gzip -dc (best):   ${fmt(best(floor))}`);
console.log(`  ratio:                   ${(best(cold) / best(floor)).toFixed(2)}x (goal <= 1.5x)`);
console.log(`  peak RSS cold:           ${Math.max(...cold.map((r) => r.rss)).toFixed(0)} MB (goal < 300 MB)`);

warmRuns();

// A generated image with a 1 GB layer: one 1 GiB file nobody asks for, plus a package.json.
async function writeBigImage(dir) {
  mkdirSync(join(dir, 'blobs/sha256'), { recursive: true });
  const layerPath = join(dir, 'layer.tmp');
  const size = 1024 ** 3;
  function header(name, bytes) {
    const h = Buffer.alloc(512);
    h.write(name, 0);
    h.write('0000644\0', 100);
    h.write('0000000\0', 108);
    h.write('0000000\0', 116);
    h.write(bytes.toString(8).padStart(11, '0') + '\0', 124);
    h.write('00000000000\0', 136);
    h.write('0', 156);
    h.write('ustar\x0000', 257);
    h.fill(' ', 148, 156);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
    return h;
  }
  const pkg = Buffer.from(JSON.stringify({ name: 'lodash', version: '4.17.15' }));
  const diff = createHash('sha256');
  const blob = createHash('sha256');
  let blobSize = 0;
  async function* tarStream() {
    const chunk = Buffer.alloc(1024 * 1024, 0x61);
    yield header('data/big.bin', size);
    for (let i = 0; i < size / chunk.length; i++) yield chunk;
    yield header('app/node_modules/lodash/package.json', pkg.length);
    yield Buffer.concat([pkg, Buffer.alloc(512 - (pkg.length % 512))]);
    yield Buffer.alloc(1024);
  }
  const hashTar = async function* (source) {
    for await (const c of source) {
      diff.update(c);
      yield c;
    }
  };
  const hashBlob = async function* (source) {
    for await (const c of source) {
      blob.update(c);
      blobSize += c.length;
      yield c;
    }
  };
  await pipeline(Readable.from(tarStream()), hashTar, createGzip({ level: 1 }), hashBlob, createWriteStream(layerPath));
  const layerDigest = `sha256:${blob.digest('hex')}`;
  execFileSync('mv', [layerPath, join(dir, 'blobs/sha256', layerDigest.slice(7))]);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [`sha256:${diff.digest('hex')}`] } }));
  const configDigest = `sha256:${createHash('sha256').update(config).digest('hex')}`;
  writeFileSync(join(dir, 'blobs/sha256', configDigest.slice(7)), config);
  const m = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layerDigest, size: blobSize }],
  }));
  const mDigest = `sha256:${createHash('sha256').update(m).digest('hex')}`;
  writeFileSync(join(dir, 'blobs/sha256', mDigest.slice(7)), m);
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: mDigest, size: m.length, annotations: { 'org.opencontainers.image.ref.name': 'big' } }] }));
}
const bigDir = join(work, 'big');
await writeBigImage(bigDir);
const big = timed(scanArgs(`oci-layout:${bigDir}:big`, '--no-cache'));
console.log(`  1 GB layer image:        ${fmt(big.ms)}, peak RSS ${big.rss.toFixed(0)} MB (goal < 300 MB)`);
rmSync(bigDir, { recursive: true, force: true });

// Through a local registry.
if (existsSync('/usr/bin/docker-registry') && existsSync('/usr/bin/skopeo')) {
  const port = await new Promise((r) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => r(p));
    });
  });
  const regDir = join(work, 'registry');
  mkdirSync(regDir);
  writeFileSync(join(regDir, 'config.yml'), `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${regDir}/data\nhttp:\n  addr: 127.0.0.1:${port}\n`);
  const registry = spawn('/usr/bin/docker-registry', ['serve', join(regDir, 'config.yml')], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/v2/`)).ok) break;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  execFileSync('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `oci-archive:${image}`, `docker://127.0.0.1:${port}/apps/mixed:1.0`]);
  const viaRegistry = [timed(scanArgs(`127.0.0.1:${port}/apps/mixed:1.0`, '--insecure', '--no-cache')), timed(scanArgs(`127.0.0.1:${port}/apps/mixed:1.0`, '--insecure', '--no-cache'))];
  console.log(`  via local registry:      ${fmt(best(viaRegistry))} from command start to report (cold, best of 2), peak RSS ${Math.max(...viaRegistry.map((r) => r.rss)).toFixed(0)} MB`);
  registry.kill();
}
rmSync(work, { recursive: true, force: true });

// Layer walker benchmark: walks ../shared/images/mixed-app.oci.tar from its oci-archive with every
// cataloger of src/catalog/registry.ts (plus OS detection) and compares the wall time with the floor,
// `gzip -dc` of each layer blob to /dev/null. Goal: the walk takes at most 1.5x the floor.
// Run after `npm run build`: node bench/image.mjs
import { spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { CATALOGERS } from '../dist/catalog/registry.js';
import { osReleaseCataloger } from '../dist/image/os/index.js';
import { openOciArchive } from '../dist/image/sources/oci-layout.js';
import { indexTar } from '../dist/image/sources/tar-index.js';
import { walkImage } from '../dist/image/walker.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const archive = path.resolve(repoRoot, '../shared/images/mixed-app.oci.tar');
if (!existsSync(archive)) {
  console.log(`image bench skipped: ${archive} is absent`);
  process.exit(0);
}

// Each cataloger wrapped to time its matches and parse calls (the walker's own cost is the rest).
const timing = new Map();
const catalogers = [osReleaseCataloger, ...CATALOGERS].map((c) => {
  const t = { matchMs: 0, parseMs: 0, files: 0 };
  timing.set(c.id, t);
  return {
    id: c.id,
    version: c.version,
    matches: (p, info) => {
      const start = performance.now();
      const yes = c.matches(p, info);
      t.matchMs += performance.now() - start;
      return yes;
    },
    parse: async (file) => {
      const start = performance.now();
      try {
        return await c.parse(file);
      } finally {
        t.parseMs += performance.now() - start;
        t.files++;
      }
    },
  };
});
const runs = Number(process.argv[2] ?? 3);

async function walkOnce() {
  for (const t of timing.values()) Object.assign(t, { matchMs: 0, parseMs: 0, files: 0 });
  const source = await openOciArchive(archive, { platform: { os: 'linux', architecture: 'amd64' } });
  const started = process.hrtime.bigint();
  const out = await walkImage(source, catalogers);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  await source.close();
  return { ms, out, timing: [...timing].map(([id, t]) => [id, { ...t }]) };
}

const walks = [];
for (let i = 0; i < runs; i++) walks.push(await walkOnce());
const best = walks.reduce((a, b) => (b.ms < a.ms ? b : a));
const peakRssMb = process.resourceUsage().maxRSS / 1024;

// The floor: extract the layer blobs once, then time gzip -dc of each to /dev/null.
const temp = mkdtempSync(path.join(tmpdir(), 'palisade-bench-'));
let floorMs = Infinity;
try {
  const entries = await indexTar(archive, archive);
  const files = [];
  for (const layer of best.out.info.layers) {
    const at = entries.get(`blobs/sha256/${layer.digest.slice(7)}`);
    const file = path.join(temp, layer.digest.slice(7));
    await pipeline(createReadStream(archive, { start: at.offset, end: at.offset + at.size - 1 }), createWriteStream(file));
    files.push(file);
  }
  for (let i = 0; i < runs; i++) {
    const started = process.hrtime.bigint();
    for (const file of files) {
      const r = spawnSync('sh', ['-c', `gzip -dc '${file}' > /dev/null`]);
      if (r.status !== 0) throw new Error(`gzip failed on ${file}`);
    }
    floorMs = Math.min(floorMs, Number(process.hrtime.bigint() - started) / 1e6);
  }
} finally {
  rmSync(temp, { recursive: true, force: true });
}

const s = best.out.stats;
console.log(`image walk: mixed-app.oci.tar, ${s.layers} layers, ${s.entries} entries, ${(s.uncompressedBytes / 1e6).toFixed(1)} MB uncompressed`);
console.log(`  catalogers: ${catalogers.map((c) => c.id).join(', ')}`);
console.log(`  files offered ${s.filesOffered}, read ${s.filesRead} (${(s.bytesRead / 1e6).toFixed(2)} MB), results ${best.out.results.size}`);
console.log(`  walk (best of ${runs}):  ${best.ms.toFixed(0)} ms   [${walks.map((w) => w.ms.toFixed(0)).join(', ')}]`);
console.log(`  floor gzip -dc:      ${floorMs.toFixed(0)} ms`);
console.log(`  ratio:               ${(best.ms / floorMs).toFixed(2)}x (goal <= 1.5x)`);
console.log(`  peak RSS:            ${peakRssMb.toFixed(0)} MB`);
let catalogMs = 0;
for (const [id, t] of best.timing) {
  catalogMs += t.matchMs + t.parseMs;
  if (t.files > 0 || t.matchMs > 20) console.log(`    ${id.padEnd(24)} ${String(t.files).padStart(5)} files  parse ${t.parseMs.toFixed(0).padStart(5)} ms  matches ${t.matchMs.toFixed(0).padStart(4)} ms`);
}
console.log(`  catalogers total:    ${catalogMs.toFixed(0)} ms; walker alone ${(best.ms - catalogMs).toFixed(0)} ms = ${((best.ms - catalogMs) / floorMs).toFixed(2)}x the floor`);

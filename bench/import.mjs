// Advisory DB import benchmark: builds a fresh DB from every feed in ../shared/vulndata (21 archives)
// and, in the same run, the floor: merely gunzip the same archives, stream the tar entries and
// JSON.parse the .json files. Each side runs in its own child process, which reports its wall time
// and peak RSS (VmHWM from /proc/self/status). Run after `npm run build`:
//   node bench/import.mjs [vulndata-dir]
// Targets (issue): import under 4 minutes on 2 cores, peak RSS under 1.5 GB, DB under 800 MB.
import { spawnSync } from 'node:child_process';
import { createReadStream, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { createGunzip } from 'node:zlib';

const here = fileURLToPath(new URL('.', import.meta.url));
const repoRoot = resolve(here, '..');

function peakRssMiB() {
  const status = readFileSync('/proc/self/status', 'utf8');
  const m = /VmHWM:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) / 1024 : NaN;
}

function archives(dir) {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.tar.gz'))
    .sort()
    .map((f) => join(dir, f));
}

async function childImport(dir, dbPath) {
  const { importFeeds } = await import(join(repoRoot, 'dist/vulndb/import.js'));
  const { silentLogger, systemClock } = await import(join(repoRoot, 'dist/core/index.js'));
  const started = performance.now();
  const result = await importFeeds({ inputs: archives(dir), dbPath, clock: systemClock, log: silentLogger });
  const wallMs = performance.now() - started;
  const cpu = process.cpuUsage();
  process.stdout.write(
    JSON.stringify({
      wallMs,
      cpuMs: (cpu.user + cpu.system) / 1000,
      peakRssMiB: peakRssMiB(),
      dbBytes: result.dbBytes,
      files: result.files,
      sources: result.sources.map((s) => [s.source, s.records]),
    }),
  );
}

async function childFloor(dir) {
  const tar = (await import(join(repoRoot, 'node_modules/tar-stream/index.js'))).default;
  const started = performance.now();
  let files = 0;
  let bytes = 0;
  for (const file of archives(dir)) {
    const extract = tar.extract();
    const consume = (async () => {
      for await (const entry of extract) {
        const chunks = [];
        for await (const chunk of entry) chunks.push(chunk);
        const data = Buffer.concat(chunks);
        bytes += data.length;
        if (entry.header.name.endsWith('.json')) {
          JSON.parse(data.toString('utf8'));
          files++;
        } else if (entry.header.name.endsWith('.csv')) {
          data.toString('utf8').split('\n');
          files++;
        }
      }
    })();
    await Promise.all([pipeline(createReadStream(file, { highWaterMark: 1024 * 1024 }), createGunzip({ chunkSize: 256 * 1024 }), extract), consume]);
  }
  const wallMs = performance.now() - started;
  const cpu = process.cpuUsage();
  process.stdout.write(JSON.stringify({ wallMs, cpuMs: (cpu.user + cpu.system) / 1000, peakRssMiB: peakRssMiB(), files, bytes }));
}

function runChild(args) {
  const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), ...args], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  if (child.status !== 0) throw new Error(`child ${args[0]} failed: ${child.stderr}`);
  return JSON.parse(child.stdout);
}

const [mode, ...rest] = process.argv.slice(2);
if (mode === '--child-import') {
  await childImport(rest[0], rest[1]);
} else if (mode === '--child-floor') {
  await childFloor(rest[0]);
} else {
  const dir = resolve(mode ?? join(repoRoot, '../shared/vulndata'));
  if (!existsSync(dir) || archives(dir).length === 0) {
    console.log(`bench/import: no feed archives in ${dir}; nothing to measure`);
    process.exit(0);
  }
  if (!existsSync(join(repoRoot, 'dist/vulndb/import.js'))) {
    console.error('bench/import: dist/ is missing; run `npm run build` first');
    process.exit(1);
  }
  const work = mkdtempSync(join(tmpdir(), 'palisade-bench-import-'));
  try {
    const floor = runChild(['--child-floor', dir]);
    const imp = runChild(['--child-import', dir, join(work, 'vulndb.sqlite')]);
    const s = (ms) => `${(ms / 1000).toFixed(1)} s`;
    console.log(`advisory DB import of ${archives(dir).length} archives (${imp.files} feed files)`);
    console.log(`  import: wall ${s(imp.wallMs)}, cpu ${s(imp.cpuMs)}, peak RSS ${imp.peakRssMiB.toFixed(0)} MiB, DB ${(imp.dbBytes / 1048576).toFixed(0)} MiB`);
    console.log(`  floor (gunzip + tar + JSON.parse of ${floor.files} files, ${(floor.bytes / 1048576).toFixed(0)} MiB): wall ${s(floor.wallMs)}, cpu ${s(floor.cpuMs)}, peak RSS ${floor.peakRssMiB.toFixed(0)} MiB`);
    console.log(`  ratio import/floor: wall ${(imp.wallMs / floor.wallMs).toFixed(2)}x, cpu ${(imp.cpuMs / floor.cpuMs).toFixed(2)}x`);
    console.log(`  targets: wall < 240 s ${imp.wallMs < 240_000 ? 'ok' : 'MISSED'}, RSS < 1536 MiB ${imp.peakRssMiB < 1536 ? 'ok' : 'MISSED'}, DB < 800 MiB ${imp.dbBytes < 800 * 1048576 ? 'ok' : 'MISSED'}`);
    for (const [source, records] of imp.sources) console.log(`    ${source.padEnd(24)} ${String(records).padStart(8)}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

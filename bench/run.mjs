// Runs the benchmarks one after another, each in its own process (so peak memory is its own):
//   npm run bench                 all of them
//   npm run bench -- import match only those named
// Each benchmark prints its figures and the baseline it is compared with in the same run.
import { readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2);
const all = readdirSync(here)
  .filter((name) => name.endsWith('.mjs') && name !== 'run.mjs' && !name.startsWith('_'))
  .map((name) => name.slice(0, -'.mjs'.length))
  .sort();
const chosen = wanted.length > 0 ? all.filter((name) => wanted.includes(name)) : all;
for (const name of wanted) if (!all.includes(name)) console.error(`no benchmark named ${name} (have: ${all.join(', ')})`);

let failed = 0;
for (const name of chosen) {
  console.log(`\n### bench/${name}.mjs`);
  const run = spawnSync(process.execPath, ['--expose-gc', join(here, `${name}.mjs`)], { stdio: 'inherit' });
  if (run.status !== 0) {
    failed += 1;
    console.log(`bench/${name}.mjs exited with ${run.status}`);
  }
}
process.exitCode = failed > 0 ? 1 : 0;

// The main job on embedded defaults, for a newcomer: build the advisory DB (from the frozen feeds in
// ../shared/vulndata when present, else from the live feeds) and scan the sample image.
//   npm run demo            (after npm ci && npm run build)
import { existsSync, readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

const cli = resolve('dist/cli/main.js');
const shared = resolve('..', 'shared');
const cacheBase = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
const dbPath = process.env.PALISADE_DB || join(process.env.PALISADE_CACHE_DIR || join(cacheBase, 'palisade'), 'vulndb.sqlite');

function palisade(args) {
  console.log(`\n$ palisade ${args.join(' ')}`);
  const run = spawnSync(process.execPath, [cli, ...args], { stdio: 'inherit' });
  if (run.status !== 0 && run.status !== 1) process.exit(run.status ?? 3);
}

if (!existsSync(cli)) {
  console.error('dist/ is missing: run `npm run build` first');
  process.exit(2);
}

/** The DB is (re)built when it is missing or was built by another Palisade schema version. */
async function dbIsCurrent() {
  if (!existsSync(dbPath)) return false;
  const { SCHEMA_VERSION } = await import(resolve('dist/vulndb/schema.js'));
  const status = spawnSync(process.execPath, [cli, 'db', 'status', '--json', '--db', dbPath], { encoding: 'utf8' });
  if (status.status !== 0) return false;
  try {
    return JSON.parse(status.stdout).schemaVersion === SCHEMA_VERSION;
  } catch {
    return false;
  }
}

if (!(await dbIsCurrent())) {
  const feeds = existsSync(join(shared, 'vulndata'))
    ? readdirSync(join(shared, 'vulndata')).filter((f) => f.endsWith('.tar.gz')).map((f) => join(shared, 'vulndata', f))
    : [];
  if (feeds.length > 0) palisade(['db', 'import', ...feeds, '--db', dbPath]);
  else palisade(['db', 'update', '--db', dbPath]);
}
palisade(['db', 'status', '--db', dbPath]);

const image = join(shared, 'images', 'mixed-app.oci.tar');
if (existsSync(image)) {
  palisade(['scan', 'image', `oci-archive:${image}`, '--db', dbPath, '--severity', 'critical,high']);
} else {
  console.log('\n../shared/images/mixed-app.oci.tar is absent: scan any image with `palisade scan image REF`.');
}

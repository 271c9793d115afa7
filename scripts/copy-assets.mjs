// Copies the non-TypeScript files that live beside the code (rule and policy YAML, data files)
// from src/ into dist/, so the built CLI finds them at the same relative paths.
import { cpSync, readdirSync, statSync, mkdirSync } from 'node:fs';
import { join, dirname, extname } from 'node:path';

const ASSET_EXTENSIONS = new Set(['.yaml', '.yml', '.json', '.sql', '.txt', '.csv']);

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      if (name === '__fixtures__') continue;
      walk(path, out);
    } else if (ASSET_EXTENSIONS.has(extname(name))) {
      out.push(path);
    }
  }
  return out;
}

for (const file of walk('src', [])) {
  const target = join('dist', file.slice('src/'.length));
  mkdirSync(dirname(target), { recursive: true });
  cpSync(file, target);
}

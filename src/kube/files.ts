import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { AppError, errorMessage } from '../core/index.js';
import { createInventoryBuilder, type Inventory, type InventoryBuilder } from './inventory.js';

/**
 * Offline inventory: `kubectl get -A -o json` dumps (a List or a single object), multi-document
 * YAML manifests, Helm-rendered output (`helm template`: YAML documents with `# Source:` comments),
 * and directories of them. A document that does not parse is recorded as a problem and skipped.
 */

export interface FileLimits {
  /** Largest file read, in bytes. */
  maxFileBytes: number;
  /** Most files read from the directories given. */
  maxFiles: number;
}

export const DEFAULT_FILE_LIMITS: FileLimits = { maxFileBytes: 256 * 1024 * 1024, maxFiles: 100_000 };

const MANIFEST_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

async function listFiles(path: string, limits: FileLimits, out: string[]): Promise<void> {
  const info = await stat(path).catch((error: unknown) => {
    throw new AppError('NOT_FOUND', `cannot read ${path}: ${errorMessage(error)}; pass a manifest file or a directory of them`);
  });
  if (!info.isDirectory()) {
    out.push(path);
    return;
  }
  const names = (await readdir(path)).sort();
  for (const name of names) {
    if (name.startsWith('.')) continue;
    const child = join(path, name);
    const childInfo = await stat(child);
    if (childInfo.isDirectory()) await listFiles(child, limits, out);
    else if (MANIFEST_EXTENSIONS.has(extname(name).toLowerCase())) out.push(child);
    if (out.length > limits.maxFiles) {
      throw new AppError('TOO_LARGE', `more than ${limits.maxFiles} manifest files under ${path}: point --from at a smaller directory`);
    }
  }
}

/** Adds a parsed document: a List is flattened into its items; anything else is one object. */
export function addDocument(builder: InventoryBuilder, doc: unknown, source: string): void {
  if (doc === null || doc === undefined) return;
  if (typeof doc === 'object' && !Array.isArray(doc)) {
    const kind = 'kind' in doc ? doc.kind : undefined;
    const items = 'items' in doc ? doc.items : undefined;
    if (typeof kind === 'string' && kind.endsWith('List') && Array.isArray(items)) {
      // A typed list (PodList) gives its items' kind; a v1 List's items carry their own.
      const itemKind = kind === 'List' ? undefined : kind.slice(0, -'List'.length);
      items.forEach((item: unknown, i) => builder.upsert(item, `${source}#items[${i}]`, itemKind));
      return;
    }
  }
  if (Array.isArray(doc)) {
    doc.forEach((item: unknown, i) => addDocument(builder, item, `${source}[${i}]`));
    return;
  }
  builder.upsert(doc, source);
}

/** Parses one file's text (JSON or YAML, one or many documents) into the builder. */
export function addManifestText(builder: InventoryBuilder, text: string, source: string): void {
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      addDocument(builder, JSON.parse(text), source);
      return;
    } catch {
      // Not JSON after all (a YAML flow mapping); fall through to YAML.
    }
  }
  const docs = parseAllDocuments(text);
  const list = Array.isArray(docs) ? docs : [docs];
  list.forEach((doc, i) => {
    const where = list.length > 1 ? `${source}#${i + 1}` : source;
    if (doc.errors.length > 0) {
      builder.problem(`could not read ${where}: ${doc.errors[0]?.message.split('\n')[0] ?? 'YAML error'}`);
      return;
    }
    addDocument(builder, doc.toJS({ maxAliasCount: 100 }), where);
  });
}

/** Builds one cluster's inventory from files and directories. */
export async function inventoryFromFiles(paths: readonly string[], cluster = 'offline', limits: FileLimits = DEFAULT_FILE_LIMITS): Promise<Inventory> {
  if (paths.length === 0) throw new AppError('BAD_INPUT', 'no manifest files given: pass --from FILE|DIR (kubectl get -A -o json output, YAML manifests or helm template output)');
  const builder = createInventoryBuilder(cluster);
  const files: string[] = [];
  for (const path of paths) await listFiles(path, limits, files);
  for (const file of files) {
    const info = await stat(file);
    if (info.size > limits.maxFileBytes) {
      builder.problem(`could not read ${file}: ${info.size} bytes is over the ${limits.maxFileBytes}-byte limit`);
      continue;
    }
    addManifestText(builder, await readFile(file, 'utf8'), file);
  }
  return builder.build();
}

/**
 * Test helper: reads chosen files out of one layer of an `oci-archive` tar (../shared/images), without
 * the project's image walker, so the dpkg cataloger can be tested on a real Debian database.
 */
import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { z } from 'zod';

const Index = z.object({ manifests: z.array(z.object({ digest: z.string() })).min(1) });
const Manifest = z.object({ layers: z.array(z.object({ digest: z.string() })) });

async function readEntries(
  stream: Readable,
  onEntry: (name: string, body: AsyncIterable<unknown>) => Promise<void>,
): Promise<void> {
  const extract = tar.extract();
  stream.on('error', (error) => extract.destroy(error));
  stream.pipe(extract);
  for await (const entry of extract) {
    await onEntry(entry.header.name.replace(/^\.?\//, ''), entry);
  }
}

async function collect(body: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks);
}

async function drain(body: AsyncIterable<unknown>): Promise<void> {
  for await (const _chunk of body) {
    // discard
  }
}

/** The layer digest and the wanted files (paths without the leading '/') of layer `layerIndex`. */
export async function readLayerFiles(
  archive: string,
  layerIndex: number,
  wanted: (path: string) => boolean,
): Promise<{ layer: string; files: Map<string, Buffer> }> {
  const small = new Map<string, Buffer>();
  await readEntries(createReadStream(archive), async (name, body) => {
    if (name === 'index.json' || name.startsWith('blobs/')) {
      const data = await collect(body);
      if (data.length < 1_000_000) small.set(name, data);
    } else {
      await drain(body);
    }
  });
  const blob = (digest: string): string => `blobs/${digest.replace(':', '/')}`;
  const index = Index.parse(JSON.parse(String(small.get('index.json'))));
  const manifestDigest = index.manifests[0]?.digest ?? '';
  const manifest = Manifest.parse(JSON.parse(String(small.get(blob(manifestDigest)))));
  const layer = manifest.layers[layerIndex]?.digest;
  if (!layer) throw new Error(`archive ${archive} has no layer ${layerIndex}`);

  const files = new Map<string, Buffer>();
  await readEntries(createReadStream(archive), async (name, body) => {
    if (name !== blob(layer)) return drain(body);
    await readEntries(Readable.from(body).pipe(createGunzip()), async (inner, innerBody) => {
      if (wanted(inner)) files.set(inner, await collect(innerBody));
      else await drain(innerBody);
    });
  });
  return { layer, files };
}

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildImage, gzip, makeTar, tarDirectory, writeOciLayout } from '../__fixtures__/build.js';
import { dirLayoutFiles } from './layout-files.js';
import { layoutTarget, memoizedSource, recordingFiles, replayReads, type DescribeMemo, type DescribeRecord, type SourceRead } from './memo.js';
import { createLayoutSource } from './oci-layout.js';
import { tarLayoutFiles } from './tar-index.js';
import type { ImageSource, LayoutFiles } from './types.js';

const work = mkdtempSync(path.join(tmpdir(), 'palisade-memo-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const AMD64 = { os: 'linux', architecture: 'amd64' };

function memo(): DescribeMemo & { records: Map<string, DescribeRecord> } {
  const records = new Map<string, DescribeRecord>();
  return {
    records,
    getDescribe: (key) => {
      const record = records.get(key);
      return record ? (JSON.parse(JSON.stringify(record)) as DescribeRecord) : undefined;
    },
    putDescribe: (key, record) => void records.set(key, JSON.parse(JSON.stringify(record)) as DescribeRecord),
  };
}

async function layout(name: string, body: string): Promise<string> {
  const layer = await makeTar([{ name: 'etc/hostname', body }]);
  return writeOciLayout(path.join(work, name), [{ image: buildImage({ layers: [{ blob: gzip(layer), tar: layer }] }), tag: '1.0' }]);
}

/** A source over `files` that counts how often the real source was made. */
function counted(files: LayoutFiles, m: DescribeMemo): { source: ImageSource; opened: () => number } {
  let opened = 0;
  const source = memoizedSource(
    'oci-layout',
    m,
    'key',
    layoutTarget(files, async (f) => {
      opened += 1;
      return createLayoutSource('oci-layout', f, { platform: AMD64, tag: '1.0' });
    }),
  );
  return { source, opened: () => opened };
}

describe('the describe memo', () => {
  it('records what describe read, and replays it', async () => {
    const dir = await layout('recorded', 'a');
    const reads: SourceRead[] = [];
    const files = recordingFiles(dirLayoutFiles(dir, 'test'), (read) => reads.push(read));
    const info = await createLayoutSource('oci-layout', files, { platform: AMD64, tag: '1.0' }).describe();
    expect(reads.map((r) => `${r.op} ${r.path}`)).toEqual([
      'exists index.json',
      'read index.json',
      `read blobs/sha256/${info.digest.slice(7)}`,
      `read blobs/sha256/${info.configDigest.slice(7)}`,
    ]);
    expect(await replayReads(dirLayoutFiles(dir, 'test'), reads)).toBe(true);
    writeFileSync(path.join(dir, 'index.json'), '{}');
    expect(await replayReads(dirLayoutFiles(dir, 'test'), reads)).toBe(false);
    rmSync(path.join(dir, 'index.json'));
    expect(await replayReads(dirLayoutFiles(dir, 'test'), reads)).toBe(false);
  });

  it('answers describe from the memo without making the source, and makes it for a layer', async () => {
    const dir = await layout('answered', 'b');
    const m = memo();
    const first = counted(dirLayoutFiles(dir, 'test'), m);
    const info = await first.source.describe();
    expect(first.opened()).toBe(1);

    const again = counted(dirLayoutFiles(dir, 'test'), m);
    expect(await again.source.describe()).toEqual(info);
    expect(again.opened()).toBe(0);
    const layer = info.layers[0]?.digest ?? '';
    const stream = await again.source.openLayer(layer);
    stream.resume();
    await new Promise((resolve) => stream.on('end', resolve));
    expect(again.opened()).toBe(1);
  });

  it('describes afresh (and remembers the new answer) when the files changed', async () => {
    const m = memo();
    const archive = path.join(work, 'changing.tar');
    writeFileSync(archive, await tarDirectory(await layout('one', 'one')));
    const one = await counted(await tarLayoutFiles(archive, 'test'), m).source.describe();
    writeFileSync(archive, await tarDirectory(await layout('two', 'two')));
    const changed = counted(await tarLayoutFiles(archive, 'test'), m);
    const two = await changed.source.describe();
    expect(changed.opened()).toBe(1);
    expect(two.digest).not.toBe(one.digest);
    expect(m.records.get('key')?.info.digest).toBe(two.digest);
  });
});

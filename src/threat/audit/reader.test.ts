import { appendFileSync, mkdtempSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { expandAuditPaths, followFileChunks, readFileChunks, splitLines, type LineItem } from './reader.js';

async function collect(chunks: Array<string | Buffer>, max?: number): Promise<LineItem[]> {
  async function* source(): AsyncGenerator<Buffer | string> {
    for (const c of chunks) yield c;
  }
  const out: LineItem[] = [];
  for await (const item of splitLines(source(), max)) out.push(item);
  return out;
}

const line = (text: string): LineItem => ({ kind: 'line', text });

describe('splitLines', () => {
  it.each([
    ['lines split across chunks', ['{"a":', '1}\n{"b"', ':2}\n'], [line('{"a":1}'), line('{"b":2}')]],
    ['CRLF endings and blank lines', ['{"a":1}\r\n\r\n{"b":2}\r\n'], [line('{"a":1}'), line('{"b":2}')]],
    ['a last line without newline', ['{"a":1}\n{"b":2}'], [line('{"a":1}'), line('{"b":2}')]],
    ['a multi-byte character split between chunks', [Buffer.from('{"u":"caf'), Buffer.from([0xc3]), Buffer.from([0xa9, 0x22, 0x7d, 0x0a])], [line('{"u":"café"}')]],
  ])('%s', async (_name, chunks, expected) => {
    expect(await collect(chunks)).toEqual(expected);
  });

  it('drops a line over the cap without holding it, whether it ends in the chunk or later', async () => {
    const big = 'x'.repeat(3000);
    expect(await collect(['ok1\n', big.slice(0, 1500), big.slice(1500), '\nok2\n'], 1024)).toEqual([line('ok1'), { kind: 'oversize', bytes: 3000 }, line('ok2')]);
    expect(await collect([`ok1\n${big}\nok2\n`], 1024)).toEqual([line('ok1'), { kind: 'oversize', bytes: 3000 }, line('ok2')]);
    expect(await collect(['ok1\n', big], 1024)).toEqual([line('ok1'), { kind: 'oversize', bytes: 3000 }]);
  });

  it('skips a 10 MB request object line and keeps going', async () => {
    const huge = `{"kind":"Event","requestObject":{"data":"${'A'.repeat(10 * 1024 * 1024)}"}}`;
    const items = await collect(['{"first":1}\n', huge, '\n{"last":1}\n']);
    expect(items.map((i) => (i.kind === 'line' ? i.text : `oversize ${i.bytes}`))).toEqual(['{"first":1}', `oversize ${huge.length}`, '{"last":1}']);
  });
});

describe('audit log files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-reader-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function readAll(path: string): Promise<string[]> {
    const out: string[] = [];
    for await (const item of splitLines(readFileChunks(path))) if (item.kind === 'line') out.push(item.text);
    return out;
  }

  it('reads plain and gzip files (by name or by magic bytes)', async () => {
    writeFileSync(join(dir, 'plain.log'), '{"n":1}\n{"n":2}\n');
    writeFileSync(join(dir, 'old.log.gz'), gzipSync('{"n":3}\n'));
    writeFileSync(join(dir, 'noext'), gzipSync('{"n":4}\n'));
    expect(await readAll(join(dir, 'plain.log'))).toEqual(['{"n":1}', '{"n":2}']);
    expect(await readAll(join(dir, 'old.log.gz'))).toEqual(['{"n":3}']);
    expect(await readAll(join(dir, 'noext'))).toEqual(['{"n":4}']);
  });

  it('expands a directory of rotated logs oldest first, live file last', () => {
    const rotated = mkdtempSync(join(tmpdir(), 'palisade-rotated-'));
    try {
      const files: Array<[string, number]> = [
        ['audit.log', 3000],
        ['audit-2026-11-20T08-00-00.000.log.gz', 1000],
        ['audit-2026-11-20T09-00-00.000.log', 2000],
        ['README.txt', 500],
      ];
      for (const [name, t] of files) {
        writeFileSync(join(rotated, name), '{}\n');
        utimesSync(join(rotated, name), t, t);
      }
      expect(expandAuditPaths([rotated]).map((p) => p.slice(rotated.length + 1))).toEqual([
        'audit-2026-11-20T08-00-00.000.log.gz',
        'audit-2026-11-20T09-00-00.000.log',
        'audit.log',
      ]);
    } finally {
      rmSync(rotated, { recursive: true, force: true });
    }
  });

  it('says which path is missing', () => {
    expect(() => expandAuditPaths([join(dir, 'nope.log')])).toThrow(/audit log .*nope.log does not exist/);
  });

  it('follows appends and a rotation to a new file, and stops on abort', async () => {
    const live = join(dir, 'live.log');
    writeFileSync(live, '{"n":1}\n');
    const abort = new AbortController();
    let polls = 0;
    const seen: string[] = [];
    // Each poll (the file had nothing new) moves the scenario one step on.
    const steps = [
      () => appendFileSync(live, '{"n":2}\n'),
      () => {
        renameSync(live, join(dir, 'live-rotated.log'));
        writeFileSync(live, '{"n":3}\n');
      },
      () => appendFileSync(live, '{"n":4}\n'),
      () => abort.abort(),
    ];
    const sleep = async (): Promise<void> => {
      steps[polls]?.();
      polls += 1;
    };
    for await (const item of splitLines(followFileChunks(live, { signal: abort.signal, sleep }))) {
      if (item.kind === 'line') seen.push(item.text);
    }
    expect(seen).toEqual(['{"n":1}', '{"n":2}', '{"n":3}', '{"n":4}']);
  });
});

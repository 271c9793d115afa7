import { appendFileSync, mkdtempSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { followFile } from './follow.js';
import { forEachLine } from './lines.js';

/** Lines read from a followed file, collected as they arrive, until `stop()`. */
function collect(path: string, fromStart = false): { lines: string[]; reopens: string[]; stop: () => Promise<void> } {
  const controller = new AbortController();
  const lines: string[] = [];
  const reopens: string[] = [];
  const done = forEachLine(
    followFile(path, { signal: controller.signal, pollMs: 10, fromStart, onReopen: (why) => reopens.push(why) }),
    1024,
    (line) => lines.push(line),
    () => lines.push('(oversize)'),
  );
  return {
    lines,
    reopens,
    stop: async () => {
      controller.abort();
      await done;
    },
  };
}

/** Waits until `lines` holds `count` lines (5 s at most; the poll is 10 ms). */
async function until(lines: string[], count: number): Promise<void> {
  for (let i = 0; i < 500 && lines.length < count; i++) await new Promise((r) => setTimeout(r, 10));
}

describe('followFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-follow-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('passes on what is appended after it starts, not what the file held', async () => {
    const path = join(dir, 'append.log');
    writeFileSync(path, 'old 1\nold 2\n');
    const f = collect(path);
    appendFileSync(path, 'new 1\nnew ');
    appendFileSync(path, '2\n');
    await until(f.lines, 2);
    await f.stop();
    expect(f.lines).toEqual(['new 1', 'new 2']);
  });

  it('reads the whole file first with fromStart', async () => {
    const path = join(dir, 'start.log');
    writeFileSync(path, 'a\nb\n');
    const f = collect(path, true);
    await until(f.lines, 2);
    await f.stop();
    expect(f.lines).toEqual(['a', 'b']);
  });

  it('follows a rotation: the rest of the old file, then the new one from its start', async () => {
    const path = join(dir, 'rotate.log');
    writeFileSync(path, '');
    const f = collect(path);
    appendFileSync(path, 'before\n');
    await until(f.lines, 1);
    renameSync(path, `${path}.1`);
    appendFileSync(`${path}.1`, 'late in the old file\n');
    writeFileSync(path, 'first of the new file\n');
    await until(f.lines, 3);
    appendFileSync(path, 'second of the new file\n');
    await until(f.lines, 4);
    await f.stop();
    expect(f.lines).toEqual(['before', 'late in the old file', 'first of the new file', 'second of the new file']);
    expect(f.reopens).toEqual(['rotated']);
  });

  it('starts over after a truncation, and waits for a file that does not exist yet', async () => {
    const path = join(dir, 'later.log');
    const f = collect(path);
    await new Promise((r) => setTimeout(r, 50));
    writeFileSync(path, 'one\ntwo\n');
    await until(f.lines, 2);
    truncateSync(path, 0);
    await new Promise((r) => setTimeout(r, 50));
    appendFileSync(path, 'three\n');
    await until(f.lines, 3);
    await f.stop();
    expect(f.lines).toEqual(['one', 'two', 'three']);
    expect(f.reopens).toEqual(['appeared', 'truncated']);
  });
});

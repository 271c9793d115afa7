import type { Readable } from 'node:stream';

/**
 * Splits a byte stream into lines without ever holding more than `maxLineBytes` of one line: an
 * oversize line is dropped (up to its newline) and reported through `onOversize`.
 */
export async function forEachLine(
  stream: Readable,
  maxLineBytes: number,
  onLine: (line: string) => void,
  onOversize: () => void,
): Promise<void> {
  let parts: Buffer[] = [];
  let size = 0;
  let dropping = false;
  const finish = (): void => {
    if (!dropping && size > 0) onLine(Buffer.concat(parts, size).toString('utf8'));
    parts = [];
    size = 0;
    dropping = false;
  };
  for await (const chunk of stream) {
    const buf: Buffer = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    let start = 0;
    while (start < buf.length) {
      const nl = buf.indexOf(0x0a, start);
      const end = nl < 0 ? buf.length : nl;
      if (!dropping) {
        if (size + (end - start) > maxLineBytes) {
          dropping = true;
          onOversize();
          parts = [];
          size = 0;
        } else {
          parts.push(buf.subarray(start, end));
          size += end - start;
        }
      }
      if (nl < 0) break;
      finish();
      start = nl + 1;
    }
  }
  finish();
}

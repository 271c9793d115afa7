import yauzl from 'yauzl';
import { AppError } from '../../core/index.js';

/** One archive entry: its name, declared uncompressed size, and a reader bounded by that size. */
export interface ZipEntryRef {
  name: string;
  size: number;
  read(): Promise<Buffer>;
}

function openBuffer(bytes: Buffer): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(bytes, { lazyEntries: true, validateEntrySizes: true, decodeStrings: true }, (err, zip) => {
      if (err) reject(err);
      else resolve(zip);
    });
  });
}

function readEntry(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    zip.openReadStream(entry, (err, stream) => {
      if (err) {
        reject(err);
        return;
      }
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', reject);
      // yauzl fails the stream when the data exceeds the declared size (validateEntrySizes).
      stream.on('end', () => resolve(Buffer.concat(chunks)));
    });
  });
}

/**
 * Lists the file entries of a zip held in memory. Throws a BAD_INPUT AppError when the bytes are not
 * a readable zip, or when it holds more than `maxEntries` entries.
 */
export async function listZip(bytes: Buffer, label: string, maxEntries: number): Promise<ZipEntryRef[]> {
  let zip: yauzl.ZipFile;
  try {
    zip = await openBuffer(bytes);
  } catch (cause) {
    throw new AppError('BAD_INPUT', `${label} is not a readable zip archive, so its Java packages cannot be listed`, {
      cause,
      details: { path: label },
    });
  }
  if (zip.entryCount > maxEntries) {
    throw new AppError('TOO_LARGE', `${label} holds ${zip.entryCount} entries, more than the ${maxEntries} a Java archive is read with`, {
      details: { path: label },
    });
  }
  return new Promise((resolve, reject) => {
    const entries: ZipEntryRef[] = [];
    zip.on('entry', (entry: yauzl.Entry) => {
      if (!entry.fileName.endsWith('/')) {
        entries.push({ name: entry.fileName, size: entry.uncompressedSize, read: () => readEntry(zip, entry) });
      }
      zip.readEntry();
    });
    zip.on('end', () => resolve(entries));
    zip.on('error', (cause: unknown) =>
      reject(new AppError('BAD_INPUT', `${label} has a damaged zip directory`, { cause, details: { path: label } })),
    );
    zip.readEntry();
  });
}

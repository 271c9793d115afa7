import { z } from 'zod';
import type { KevEntry } from '../../../core/index.js';
import { csvRows } from '../../csv.js';
import type { FeedFormat, FeedSink } from '../../types.js';

/**
 * CISA Known Exploited Vulnerabilities catalog
 * (https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json, or the
 * .csv beside it). Entries are keyed by CVE, so reading both the JSON and the CSV of one catalog
 * stores each CVE once.
 */
const CVE_ID = /^CVE-\d{4}-\d{4,}$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

const kevItem = z.object({
  cveID: z.string().regex(CVE_ID),
  dateAdded: z.string().regex(DATE),
  dueDate: z.string().regex(DATE).optional().nullable(),
  knownRansomwareCampaignUse: z.string().optional().nullable(),
});
const kevCatalog = z.object({ vulnerabilities: z.array(z.unknown()) });

const CSV_HEADER = /^\uFEFF?"?cveID"?,"?vendorProject"?/;

function toEntry(item: z.infer<typeof kevItem>): KevEntry {
  const entry: KevEntry = {
    cveId: item.cveID,
    dateAdded: item.dateAdded,
    knownRansomwareUse: (item.knownRansomwareCampaignUse ?? '').toLowerCase() === 'known',
  };
  if (item.dueDate) entry.dueDate = item.dueDate;
  return entry;
}

function parseJson(path: string, text: string, sink: FeedSink): void {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new Error('invalid JSON');
  }
  const catalog = kevCatalog.safeParse(doc);
  if (!catalog.success) throw new Error('not a KEV catalog: no "vulnerabilities" array');
  catalog.data.vulnerabilities.forEach((raw, index) => {
    const item = kevItem.safeParse(raw);
    if (item.success) sink.kev(toEntry(item.data));
    else sink.skip('KEV entry without a valid cveID/dateAdded', `${path}#${index}`);
  });
}

function parseCsv(path: string, text: string, sink: FeedSink): void {
  let header: string[] | undefined;
  let line = 0;
  for (const row of csvRows(text)) {
    line++;
    if (!header) {
      header = row.map((h) => h.replace(/^\uFEFF/, ''));
      continue;
    }
    const record: Record<string, string> = {};
    header.forEach((name, i) => {
      record[name] = row[i] ?? '';
    });
    const item = kevItem.safeParse({ ...record, dueDate: record['dueDate'] || undefined });
    if (item.success) sink.kev(toEntry(item.data));
    else sink.skip('KEV row without a valid cveID/dateAdded', `${path}:${line}`);
  }
}

export const kevFormat = {
  id: 'kev',
  detect(path: string, head: Buffer): boolean {
    const text = head.toString('utf8');
    // The catalog has `"catalogVersion": "2025.08.25"`; its JSON schema has the same key with an object.
    if (/\.json$/i.test(path)) return /"cveID"\s*:/.test(text) && /"catalogVersion"\s*:\s*"/.test(text);
    if (/\.csv$/i.test(path)) return CSV_HEADER.test(text);
    return false;
  },
  parseFile(path: string, data: Buffer, sink: FeedSink): void {
    const text = data.toString('utf8');
    if (/\.json$/i.test(path)) parseJson(path, text, sink);
    else parseCsv(path, text, sink);
  },
} satisfies FeedFormat;

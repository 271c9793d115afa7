import { describe, expect, it } from 'vitest';
import type { KevEntry } from '../../../core/index.js';
import type { FeedSink } from '../../types.js';
import { kevFormat } from './index.js';

function run(path: string, text: string): { entries: KevEntry[]; skips: string[] } {
  const entries: KevEntry[] = [];
  const skips: string[] = [];
  const sink: FeedSink = { advisory: () => {}, epss: () => {}, kev: (e) => entries.push(e), skip: (r) => skips.push(r) };
  kevFormat.parseFile(path, Buffer.from(text), sink);
  return { entries, skips };
}

const JSON_CATALOG = `{
    "title": "CISA Catalog of Known Exploited Vulnerabilities",
    "catalogVersion": "2025.08.25",
    "dateReleased": "2025-08-25T17:04:19.9796Z",
    "count": 3,
    "vulnerabilities": [
        {
            "cveID": "CVE-2025-48384",
            "vendorProject": "Git",
            "product": "Git",
            "vulnerabilityName": "Git Link Following Vulnerability",
            "dateAdded": "2025-08-25",
            "requiredAction": "Apply mitigations per vendor instructions.",
            "dueDate": "2025-09-15",
            "knownRansomwareCampaignUse": "Unknown",
            "cwes": ["CWE-59", "CWE-436"]
        },
        {
            "cveID": "CVE-2021-44228",
            "vendorProject": "Apache",
            "product": "Log4j2",
            "dateAdded": "2021-12-10",
            "dueDate": "2021-12-24",
            "knownRansomwareCampaignUse": "Known"
        },
        { "cveID": "not-a-cve", "dateAdded": "2021-12-10" }
    ]
}`;

const CSV_CATALOG = `cveID,vendorProject,product,vulnerabilityName,dateAdded,shortDescription,requiredAction,dueDate,knownRansomwareCampaignUse,notes,cwes
CVE-2025-48384,Git,Git,"Git Link Following Vulnerability",2025-08-25,"Git contains a link following vulnerability, ""quoted"" text.","Apply mitigations per vendor instructions.",2025-09-15,Unknown,"https://nvd.nist.gov/vuln/detail/CVE-2025-48384","CWE-59, CWE-436"
CVE-2021-44228,Apache,Log4j2,"Apache Log4j2 Remote Code Execution Vulnerability",2021-12-10,"Log4j2
spans two lines",Apply updates,2021-12-24,Known,,CWE-917
CVE-2021-1,Broken,Row,x,not-a-date,,,,,,
`;

describe('kevFormat', () => {
  it.each([
    ['cisa-kev/known_exploited_vulnerabilities.json', JSON_CATALOG.slice(0, 400), true],
    ['cisa-kev/known_exploited_vulnerabilities.csv', CSV_CATALOG.slice(0, 200), true],
    ['osv/GHSA-1.json', '{"id": "GHSA-1", "modified": "2024-01-01T00:00:00Z"}', false],
    ['cisa-kev/known_exploited_vulnerabilities_schema.json', '{"type": "object", "properties": {"catalogVersion": {"type": "string"}, "vulnerabilities": {"items": {"properties": {"cveID": {}}}}}}', false],
    ['epss/CVE_2021_EPSS.csv', 'CVE-2021-47987;0.001200000;0.021680000\n', false],
  ])('detects %s → %s', (path, head, expected) => {
    expect(kevFormat.detect(path, Buffer.from(head))).toBe(expected);
  });

  it.each([
    ['JSON', 'known_exploited_vulnerabilities.json', JSON_CATALOG],
    ['CSV', 'known_exploited_vulnerabilities.csv', CSV_CATALOG],
  ])('reads the %s catalog and skips a bad entry', (_kind, path, text) => {
    const { entries, skips } = run(path, text);
    expect(entries).toEqual([
      { cveId: 'CVE-2025-48384', dateAdded: '2025-08-25', dueDate: '2025-09-15', knownRansomwareUse: false },
      { cveId: 'CVE-2021-44228', dateAdded: '2021-12-10', dueDate: '2021-12-24', knownRansomwareUse: true },
    ]);
    expect(skips).toHaveLength(1);
  });

  it('refuses a JSON file that is not a catalog as a whole', () => {
    expect(() => run('known_exploited_vulnerabilities_schema.json', '{"$schema": "x", "properties": {"cveID": {}}}')).toThrow(/not a KEV catalog/);
  });
});

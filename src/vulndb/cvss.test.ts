import { describe, expect, it } from 'vitest';
import { cvssBaseScore, cvssScore, cvssVersionOf } from './cvss.js';

describe('cvssBaseScore', () => {
  // Worked examples of the FIRST specifications: CVSS v2 guide §3.3, CVSS v3.1 examples document,
  // CVSS v4.0 examples document.
  it.each([
    ['CVE-2002-0392 Apache chunked encoding (v2)', 'AV:N/AC:L/Au:N/C:N/I:N/A:C', 7.8],
    ['CVE-2003-0818 Microsoft ASN.1 (v2)', 'AV:N/AC:L/Au:N/C:C/I:C/A:C', 10],
    ['CVE-2003-0062 NOD32 (v2)', 'AV:L/AC:H/Au:N/C:C/I:C/A:C', 6.2],
    ['CVE-2014-0160 Heartbleed (v3.1)', 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N', 7.5],
    ['CVE-2014-6271 Shellshock (v3.1)', 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', 9.8],
    ['CVE-2013-1937 phpMyAdmin XSS (v3.1)', 'CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N', 6.1],
    ['CVE-2014-3566 POODLE (v3.1)', 'CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:N/A:N', 3.1],
    ['CVE-2013-0375 MySQL (v3.0)', 'CVSS:3.0/AV:N/AC:L/PR:L/UI:N/S:C/C:L/I:L/A:N', 6.4],
    ['CVE-2014-0160 Heartbleed (v4.0)', 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:N/VA:N/SC:N/SI:N/SA:N', 8.7],
    ['CVE-2022-41741 nginx mp4 (v4.0)', 'CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N', 8.5],
  ])('%s', (_name, vector, expected) => {
    expect(cvssBaseScore(vector)).toBe(expected);
  });

  it.each([
    ['garbage', 'not a vector'],
    ['unknown metric value', 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:Q'],
    ['base metrics missing', 'CVSS:3.1/AV:N/AC:L'],
    ['empty', ''],
    ['unsupported version', 'CVSS:5.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H'],
  ])('skips a bad vector: %s', (_name, vector) => {
    expect(cvssBaseScore(vector)).toBeUndefined();
  });
});

describe('cvssScore', () => {
  it('records version, vector, computed base score and publisher', () => {
    expect(cvssScore(' CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N ', 'nvd')).toEqual({
      version: '3.1',
      vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N',
      baseScore: 7.5,
      source: 'nvd',
    });
  });
  it.each([
    ['AV:N/AC:M/Au:N/C:P/I:P/A:P', '2.0'],
    ['CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', '3.0'],
    ['CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N', '4.0'],
  ])('detects the version of %s', (vector, version) => {
    expect(cvssVersionOf(vector)).toBe(version);
  });
});

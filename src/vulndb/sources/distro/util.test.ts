import { describe, expect, it } from 'vitest';
import { AppError } from '../../../core/errors.js';
import { cvssScore, isoDate, MAX_FEED_FILE_BYTES, parseJsonFile, rpmEvr, severityWord } from './util.js';

describe('distro feed helpers', () => {
  it.each([
    ['2024-08-09 12:00:00 UTC', '2024-08-09T12:00:00Z'],
    ['2018-04-26 17:17:00', '2018-04-26T17:17:00Z'],
    ['2014-03-10 14:11', '2014-03-10T14:11:00Z'],
    ['2024-04-08T00:00:00Z', '2024-04-08T00:00:00Z'],
    ['2024-08-09', '2024-08-09T00:00:00Z'],
    ['2024-02-30 10:00:00', undefined],
    ['unknown', undefined],
    [undefined, undefined],
  ])('isoDate(%j) = %j', (text, expected) => {
    expect(isoDate(text)).toBe(expected);
  });

  it.each([
    ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', 9.8, { version: '3.1', vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', baseScore: 9.8, source: 'nvd' }],
    ['CVSS:3.0/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N', 5.5, { version: '3.0', vector: 'CVSS:3.0/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N', baseScore: 5.5, source: 'nvd' }],
    ['AV:N/AC:M/Au:N/C:P/I:P/A:P', 6.8, { version: '2.0', vector: 'AV:N/AC:M/Au:N/C:P/I:P/A:P', baseScore: 6.8, source: 'nvd' }],
    ['', 5, undefined],
    ['CVSS:3.1/AV:N', Number.NaN, undefined],
  ])('cvssScore(%s, %s)', (vector, score, expected) => {
    expect(cvssScore(vector, score, 'nvd')).toEqual(expected);
  });

  it.each([
    ['0', '3.0.7', '27.el9', '3.0.7-27.el9'],
    ['1', '3.0.7', '27.el9', '1:3.0.7-27.el9'],
    [undefined, '8.5.0', '1.amzn2023.0.2', '8.5.0-1.amzn2023.0.2'],
    ['', '2.2.21', '1.18.amzn1', '2.2.21-1.18.amzn1'],
  ])('rpmEvr(%j, %s, %s) = %s', (epoch, version, release, expected) => {
    expect(rpmEvr(epoch, version, release)).toBe(expected);
  });

  it.each([
    ['Critical', 'critical'],
    ['Important', 'high'],
    ['Moderate', 'medium'],
    ['medium', 'medium'],
    ['Low', 'low'],
    ['negligible', 'negligible'],
    ['untriaged', undefined],
    [undefined, undefined],
  ])('severityWord(%j) = %j', (word, expected) => {
    expect(severityWord(word)).toBe(expected);
  });

  it('refuses a file above the size cap', () => {
    const data = Buffer.alloc(MAX_FEED_FILE_BYTES + 1, 0x20);
    const error: unknown = (() => {
      try {
        parseJsonFile('edge/main.json', data, 'Alpine secdb');
        return undefined;
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: 'TOO_LARGE', details: { path: 'edge/main.json', bytes: MAX_FEED_FILE_BYTES + 1 } });
  });

  it('refuses a file that is not JSON', () => {
    expect(() => parseJsonFile('2/core/ALAS2-2024-1.json', Buffer.from('<xml/>'), 'Amazon ALAS')).toThrow(
      new AppError('BAD_INPUT', 'Amazon ALAS file 2/core/ALAS2-2024-1.json is not valid JSON; re-download the feed', {
        details: { path: '2/core/ALAS2-2024-1.json' },
      }),
    );
  });
});

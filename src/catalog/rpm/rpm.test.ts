import Database from 'better-sqlite3';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../core/index.js';
import type { CatalogFile } from '../types.js';
import { buildBdbHashDb, buildNdbDb, buildSqliteDb, encodeHeader, packageHeader, type TestPackage } from './__fixtures__/rpmdb.js';
import { readBdbBlobs } from './bdb.js';
import { MAX_RPM_HEADER_BYTES, parseRpmHeader, RpmHeaderError, TAG, TYPE } from './header.js';
import { adler32, readNdbBlobs } from './ndb.js';
import { MAX_RPM_DB_BYTES, rpmCataloger, splitSourceRpm } from './index.js';
import { vendorNamespace } from './vendor.js';

const LAYER = 'sha256:9a1e2b0c7d44';

const OPENSSL_LIBS: TestPackage = {
  name: 'openssl-libs',
  epoch: 1,
  version: '3.0.7',
  release: '27.el9',
  arch: 'x86_64',
  sourceRpm: 'openssl-3.0.7-27.el9.src.rpm',
  license: 'ASL 2.0',
  vendor: 'Red Hat, Inc.',
  files: ['/etc/pki/tls/openssl.cnf', '/usr/lib64/libcrypto.so.3', '/usr/lib64/libcrypto.so.3.0.7', '/usr/lib64/libssl.so.3'],
};
const BASH: TestPackage = {
  name: 'bash',
  version: '5.1.8',
  release: '6.el9_1',
  arch: 'x86_64',
  sourceRpm: 'bash-5.1.8-6.el9_1.src.rpm',
  license: 'GPLv3+',
  vendor: 'Red Hat, Inc.',
  files: ['/usr/bin/bash', '/usr/bin/sh'],
};
const REQUESTS: TestPackage = {
  name: 'python3-requests',
  version: '2.25.1',
  release: '8.el9',
  arch: 'noarch',
  sourceRpm: 'python-requests-2.25.1-8.el9.src.rpm',
  license: 'ASL 2.0',
  vendor: 'Red Hat, Inc.',
  files: ['/usr/lib/python3.9/site-packages/requests/__init__.py', '/usr/lib/python3.9/site-packages/requests-2.25.1-py3.9.egg-info/PKG-INFO'],
};
const GPG_PUBKEY: TestPackage = { name: 'gpg-pubkey', version: 'fd431d51', release: '4ae0493b', license: 'pubkey' };

const BLOBS = [BASH, GPG_PUBKEY, OPENSSL_LIBS, REQUESTS].map(packageHeader);

function file(path: string, bytes: Buffer, size = bytes.length): CatalogFile {
  return { path, layer: LAYER, bytes, size, mode: 0o644 };
}

describe('parseRpmHeader', () => {
  it.each<[string, TestPackage, ReturnType<typeof parseRpmHeader>]>([
    [
      'RHEL 9 openssl-libs with an epoch',
      OPENSSL_LIBS,
      {
        name: 'openssl-libs',
        version: '3.0.7',
        release: '27.el9',
        epoch: 1,
        arch: 'x86_64',
        sourceRpm: 'openssl-3.0.7-27.el9.src.rpm',
        license: 'ASL 2.0',
        vendor: 'Red Hat, Inc.',
        files: ['/etc/pki/tls/openssl.cnf', '/usr/lib64/libcrypto.so.3', '/usr/lib64/libcrypto.so.3.0.7', '/usr/lib64/libssl.so.3'],
      },
    ],
    [
      'CentOS 5 bash with OLDFILENAMES',
      { name: 'bash', version: '3.2', release: '33.el5', arch: 'x86_64', vendor: 'CentOS', oldFilenames: true, files: ['/bin/bash', '/bin/sh'] },
      { name: 'bash', version: '3.2', release: '33.el5', arch: 'x86_64', vendor: 'CentOS', files: ['/bin/bash', '/bin/sh'] },
    ],
    [
      'gpg-pubkey pseudo package',
      GPG_PUBKEY,
      { name: 'gpg-pubkey', version: 'fd431d51', release: '4ae0493b', license: 'pubkey', files: [] },
    ],
  ])('%s', (_title, pkg, expected) => {
    expect(parseRpmHeader(packageHeader(pkg))).toEqual(expected);
  });

  const valid = packageHeader(BASH);
  it.each<[string, Buffer, string]>([
    ['a blob shorter than the preamble', Buffer.from([0, 0, 0]), 'rpm header of 3 bytes is too short'],
    ['a truncated blob', valid.subarray(0, valid.length - 20), `rpm header claims 11 entries and ${valid.length - 8 - 11 * 16} data bytes but holds ${valid.length - 20} bytes`],
    ['a header without NAME', encodeHeader([{ tag: TAG.VERSION, data: { type: TYPE.STRING, value: '1.0' } }]), 'rpm header lacks NAME, VERSION or RELEASE'],
    [
      'a dir index out of range',
      encodeHeader([
        { tag: TAG.NAME, data: { type: TYPE.STRING, value: 'x' } },
        { tag: TAG.VERSION, data: { type: TYPE.STRING, value: '1' } },
        { tag: TAG.RELEASE, data: { type: TYPE.STRING, value: '1' } },
        { tag: TAG.DIRINDEXES, data: { type: TYPE.INT32, value: [3] } },
        { tag: TAG.BASENAMES, data: { type: TYPE.STRING_ARRAY, value: ['x'] } },
        { tag: TAG.DIRNAMES, data: { type: TYPE.STRING_ARRAY, value: ['/usr/bin/'] } },
      ]),
      'dir index 3 is out of range',
    ],
    [
      'NAME stored as an integer',
      encodeHeader([{ tag: TAG.NAME, data: { type: TYPE.INT32, value: [7] } }]),
      'tag 1000 has type 4, expected a string',
    ],
  ])('rejects %s', (_title, blob, message) => {
    expect(() => parseRpmHeader(blob)).toThrowError(new RpmHeaderError(message));
  });

  it('rejects a header over the size limit', () => {
    expect(() => parseRpmHeader(Buffer.alloc(MAX_RPM_HEADER_BYTES + 1))).toThrowError(RpmHeaderError);
  });
});

describe('splitSourceRpm', () => {
  it.each([
    ['openssl-3.0.7-27.el9.src.rpm', { name: 'openssl', version: '3.0.7-27.el9' }],
    ['python-requests-2.25.1-8.el9.src.rpm', { name: 'python-requests', version: '2.25.1-8.el9' }],
    ['glibc-2.34-60.el9_2.7.src.rpm', { name: 'glibc', version: '2.34-60.el9_2.7' }],
    ['kernel-firmware-20230404-1.nosrc.rpm', { name: 'kernel-firmware', version: '20230404-1' }],
    ['nodash.src.rpm', undefined],
  ])('%s', (sourceRpm, expected) => {
    expect(splitSourceRpm(sourceRpm)).toEqual(expected);
  });
});

describe('vendorNamespace', () => {
  it.each([
    ['Red Hat, Inc.', 'redhat'],
    ['CentOS', 'centos'],
    ['Fedora Project', 'fedora'],
    ['Rocky Enterprise Software Foundation', 'rocky'],
    ['AlmaLinux', 'almalinux'],
    ['Oracle America', 'oracle'],
    ['Amazon Linux', 'amazon'],
    ['openSUSE', 'opensuse'],
    ['SUSE LLC <https://www.suse.com/>', 'suse'],
    ['Acme Corp', undefined],
    [undefined, undefined],
  ])('%s → %s', (vendor, expected) => {
    expect(vendorNamespace(vendor)).toBe(expected);
  });
});

describe('rpmCataloger.matches', () => {
  it.each([
    ['/var/lib/rpm/rpmdb.sqlite', true],
    ['/var/lib/rpm/Packages', true],
    ['/var/lib/rpm/Packages.db', true],
    ['/usr/lib/sysimage/rpm/rpmdb.sqlite', true],
    ['/usr/lib/sysimage/rpm/Packages.db', true],
    ['/var/lib/rpm/rpmdb.sqlite-wal', false],
    ['/var/lib/rpm/Name', false],
    ['/var/lib/rpm/__db.001', false],
  ])('%s → %s', (path, expected) => {
    expect(rpmCataloger.matches(path)).toBe(expected);
  });
});

const EXPECTED_PURLS = [
  'pkg:rpm/redhat/bash@5.1.8-6.el9_1?arch=x86_64',
  'pkg:rpm/redhat/openssl-libs@3.0.7-27.el9?arch=x86_64&epoch=1',
  'pkg:rpm/redhat/python3-requests@2.25.1-8.el9?arch=noarch',
];
const EXPECTED_OWNED = [...(BASH.files ?? []), ...(OPENSSL_LIBS.files ?? []), ...(REQUESTS.files ?? [])].sort();

describe.each<[string, string, () => Buffer]>([
  ['SQLite', '/var/lib/rpm/rpmdb.sqlite', () => buildSqliteDb(BLOBS)],
  ['SQLite in WAL mode', '/usr/lib/sysimage/rpm/rpmdb.sqlite', () => buildSqliteDb(BLOBS, { wal: true })],
  ['Berkeley DB hash, little-endian, 4 KiB pages', '/var/lib/rpm/Packages', () => buildBdbHashDb(BLOBS)],
  ['Berkeley DB hash, big-endian, 512-byte pages (multi-page overflow chains)', '/var/lib/rpm/Packages', () => buildBdbHashDb(BLOBS, { pageSize: 512, bigEndian: true })],
  ['ndb', '/var/lib/rpm/Packages.db', () => buildNdbDb(BLOBS)],
])('rpmCataloger.parse of a %s database', (_format, dbPath, build) => {
  const result = rpmCataloger.parse(file(dbPath, build()));

  it('lists the packages without gpg-pubkey, sorted, with their purls', () => {
    expect(result.packages.map((p) => p.purl)).toEqual(EXPECTED_PURLS);
  });

  it('returns the full package for openssl-libs', () => {
    expect(result.packages.find((p) => p.name === 'openssl-libs')).toEqual({
      type: 'rpm',
      name: 'openssl-libs',
      version: '1:3.0.7-27.el9',
      purl: 'pkg:rpm/redhat/openssl-libs@3.0.7-27.el9?arch=x86_64&epoch=1',
      source: { name: 'openssl', version: '1:3.0.7-27.el9' },
      arch: 'x86_64',
      licenses: ['ASL 2.0'],
      locations: [{ path: dbPath, layer: LAYER }],
    });
  });

  it('source of python3-requests is python-requests', () => {
    expect(result.packages.find((p) => p.name === 'python3-requests')?.source).toEqual({ name: 'python-requests', version: '2.25.1-8.el9' });
  });

  it('owns every installed file', () => {
    expect(result.ownedFiles).toEqual(EXPECTED_OWNED);
  });
});

describe('rpm ndb with a SUSE package', () => {
  it('uses the suse namespace', () => {
    const zypper: TestPackage = {
      name: 'zypper',
      version: '1.14.68',
      release: '150500.3.6.1',
      arch: 'x86_64',
      sourceRpm: 'zypper-1.14.68-150500.3.6.1.src.rpm',
      license: 'GPL-2.0-or-later',
      vendor: 'SUSE LLC <https://www.suse.com/>',
      files: ['/usr/bin/zypper'],
    };
    const { packages } = rpmCataloger.parse(file('/usr/lib/sysimage/rpm/Packages.db', buildNdbDb([packageHeader(zypper)])));
    expect(packages.map((p) => [p.purl, p.version, p.source])).toEqual([
      ['pkg:rpm/suse/zypper@1.14.68-150500.3.6.1?arch=x86_64', '1.14.68-150500.3.6.1', { name: 'zypper', version: '1.14.68-150500.3.6.1' }],
    ]);
  });
});

describe('rpm epochs', () => {
  it.each<[string, number | undefined, string, string]>([
    ['no EPOCH tag', undefined, '1.4.3-1.amzn2023.0.3', 'pkg:rpm/amazon/libgcrypt@1.10.2-1.amzn2023.0.3?arch=x86_64'],
    ['EPOCH 0 is left out', 0, '1.4.3-1.amzn2023.0.3', 'pkg:rpm/amazon/libgcrypt@1.10.2-1.amzn2023.0.3?arch=x86_64'],
    ['EPOCH 1 is kept', 1, '1:1.4.3-1.amzn2023.0.3', 'pkg:rpm/amazon/libgcrypt@1.10.2-1.amzn2023.0.3?arch=x86_64&epoch=1'],
  ])('%s', (_title, epoch, sourceVersion, purl) => {
    const pkg: TestPackage = {
      name: 'libgcrypt',
      version: '1.10.2',
      release: '1.amzn2023.0.3',
      arch: 'x86_64',
      vendor: 'Amazon Linux',
      sourceRpm: 'libgcrypt-1.4.3-1.amzn2023.0.3.src.rpm',
      ...(epoch === undefined ? {} : { epoch }),
    };
    const [found] = rpmCataloger.parse(file('/var/lib/rpm/rpmdb.sqlite', buildSqliteDb([packageHeader(pkg)]))).packages;
    expect([found?.version, found?.purl, found?.source?.version]).toEqual([
      `${epoch ? `${epoch}:` : ''}1.10.2-1.amzn2023.0.3`,
      purl,
      sourceVersion,
    ]);
  });
});

describe('damaged rpm databases', () => {
  it('BDB: a broken overflow chain is counted and the other records survive', () => {
    const db = buildBdbHashDb([packageHeader(BASH), packageHeader(REQUESTS)], { pageSize: 1024 });
    // Page 2 starts the first overflow chain: turn it into a page of another type.
    db[2 * 1024 + 25] = 13;
    const list = readBdbBlobs(db);
    expect(list.bad).toBe(1);
    expect(list.blobs.map((b) => parseRpmHeader(b).name)).toEqual(['python3-requests']);
  });

  it.each<[string, (db: Buffer) => void]>([
    ['a slot pointing past the end of the file', (db) => db.writeUInt32LE(0xffff, 32 + 8)],
    ['a slot pointing into the slot pages', (db) => db.writeUInt32LE(2, 32 + 8)],
    ['a blob whose bytes changed (Adler-32 mismatch)', (db) => void (db[4096 + 16 + 40] = 0x58)],
    ['a blob head with another package index', (db) => db.writeUInt32LE(9, 4096 + 4)],
    ['a slot with a bad magic', (db) => db.write('Slxt', 32, 'latin1')],
  ])('ndb: %s is counted and the other record survives', (_title, damage) => {
    const db = buildNdbDb([packageHeader(BASH), packageHeader(REQUESTS)]);
    damage(db);
    const list = readNdbBlobs(db);
    expect(list.bad).toBe(1);
    expect(list.blobs.map((b) => parseRpmHeader(b).name)).toEqual(['python3-requests']);
  });

  it.each([
    ['', 1],
    ['a', 0x00620062],
    ['Wikipedia', 0x11e60398],
  ])('adler32(%j)', (text, expected) => {
    expect(adler32(Buffer.from(text))).toBe(expected);
  });

  it('a database whose only record is unreadable is a BAD_INPUT error', () => {
    const broken = packageHeader(BASH).subarray(0, 40);
    expect(() => rpmCataloger.parse(file('/var/lib/rpm/rpmdb.sqlite', buildSqliteDb([broken])))).toThrowError(
      /rpm sqlite database \/var\/lib\/rpm\/rpmdb.sqlite has 1 unreadable records and no readable package/,
    );
  });

  it.each<[string, string, CatalogFile]>([
    ['an unknown format', 'UNSUPPORTED', file('/var/lib/rpm/Packages', Buffer.alloc(4096, 7))],
    ['a SQLite file without a Packages table', 'BAD_INPUT', file('/var/lib/rpm/rpmdb.sqlite', buildSqliteDbWithoutTable())],
    ['an ndb file with its slot pages cut off', 'BAD_INPUT', file('/var/lib/rpm/Packages.db', buildNdbDb([]).subarray(0, 100))],
    ['a file the walker reports over the size limit', 'TOO_LARGE', file('/var/lib/rpm/Packages', Buffer.alloc(16), MAX_RPM_DB_BYTES + 1)],
  ])('%s → %s', (_title, code, input) => {
    let caught: unknown;
    try {
      rpmCataloger.parse(input);
    } catch (error) {
      caught = error;
    }
    expect(caught instanceof AppError && caught.code).toBe(code);
  });
});

describe('rpm databases written by rpm 4.18 and Berkeley DB 5.3 themselves', () => {
  const fixture = (name: string): Buffer => readFileSync(new URL(`./__fixtures__/${name}`, import.meta.url));
  const header = fixture('hello-palisade.header');
  const expectedFiles = ['/usr/bin/hello', '/usr/share/hello', ...Array.from({ length: 40 }, (_, i) => `/usr/share/hello/file-with-a-rather-long-name-${i + 1}.txt`)];

  it('parses the header blob rpm wrote', () => {
    const parsed = parseRpmHeader(header);
    expect({ ...parsed, files: [...parsed.files].sort() }).toEqual({
      name: 'hello-palisade',
      version: '1.2.3',
      release: '4.el9',
      epoch: 2,
      arch: 'x86_64',
      sourceRpm: 'hello-palisade-1.2.3-4.el9.src.rpm',
      license: 'MIT AND ASL 2.0',
      vendor: 'Red Hat, Inc.',
      files: [...expectedFiles].sort(),
    });
  });

  it.each([
    ['Packages.hash-le-4096', 'little-endian, 4 KiB pages'],
    ['Packages.hash-be-512', 'big-endian, 512-byte pages'],
  ])('reads %s (%s)', (name) => {
    const result = rpmCataloger.parse(file('/var/lib/rpm/Packages', fixture(name)));
    expect(result.packages).toEqual([
      {
        type: 'rpm',
        name: 'hello-palisade',
        version: '2:1.2.3-4.el9',
        purl: 'pkg:rpm/redhat/hello-palisade@1.2.3-4.el9?arch=x86_64&epoch=2',
        source: { name: 'hello-palisade', version: '2:1.2.3-4.el9' },
        arch: 'x86_64',
        licenses: ['MIT AND ASL 2.0'],
        locations: [{ path: '/var/lib/rpm/Packages', layer: LAYER }],
      },
    ]);
    expect(result.ownedFiles).toEqual([...expectedFiles].sort());
    expect(readBdbBlobs(fixture(name)).blobs[0]?.equals(header)).toBe(true);
  });
});

function buildSqliteDbWithoutTable(): Buffer {
  const db = new Database(':memory:');
  db.exec('CREATE TABLE Basenames (key TEXT NOT NULL, hnum INTEGER NOT NULL, idx INTEGER NOT NULL)');
  const bytes = db.serialize();
  db.close();
  return bytes;
}

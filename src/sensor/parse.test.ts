import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { containerFromCgroup } from './cgroup.js';
import { forEachLine } from './lines.js';
import { decodeAddress, parseSocketActivity, parseSocketTable } from './net.js';
import { ignoresHangup, parseLoadavg, parseStat, parseStatus, stdioType } from './procfs.js';
import { indexPodList } from './pods.js';

const ID = '4c5b2d2f7ad1f0c0d8e9a1b2c3d4e5f60718293a4b5c6d7e8f9012a3b4c5d6e7';

describe('container id from /proc/PID/cgroup', () => {
  it.each([
    ['containerd, systemd driver, cgroup v2', `0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod9a1b2c3d_4e5f_4a6b_8c7d_0e1f2a3b4c5d.slice/cri-containerd-${ID}.scope\n`, { id: ID, runtime: 'containerd', podUid: '9a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d' }],
    ['CRI-O, systemd driver, cgroup v2', `0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod11112222_3333_4444_5555_666677778888.slice/crio-${ID}.scope\n`, { id: ID, runtime: 'cri-o', podUid: '11112222-3333-4444-5555-666677778888' }],
    ['containerd in kind (cgroupfs path with systemd names)', `0::/system.slice/containerd.service/kubepods-burstable-pod9a1b2c3d_4e5f_4a6b_8c7d_0e1f2a3b4c5d.slice:cri-containerd:${ID}\n`, { id: ID, runtime: 'containerd', podUid: '9a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d' }],
    ['cgroupfs driver, cgroup v1', `12:pids:/kubepods/burstable/pod9a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d/${ID}\n11:memory:/kubepods/burstable/pod9a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d/${ID}\n`, { id: ID, runtime: 'unknown', podUid: '9a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d' }],
    ['Docker, cgroup v1', `12:pids:/docker/${ID}\n11:memory:/docker/${ID}\n0::/\n`, { id: ID, runtime: 'docker', podUid: '' }],
    ['Docker, systemd driver, cgroup v2', `0::/system.slice/docker-${ID}.scope\n`, { id: ID, runtime: 'docker', podUid: '' }],
    ['Podman', `0::/machine.slice/libpod-${ID}.scope/container\n`, { id: ID, runtime: 'podman', podUid: '' }],
  ])('%s', (_name, text, expected) => {
    expect(containerFromCgroup(text)).toEqual(expected);
  });

  it.each([
    ['the kubelet (host)', '0::/system.slice/kubelet.service\n'],
    ['a login session (host)', '0::/user.slice/user-1000.slice/session-3.scope\n'],
    ['CRI-O conmon (host side of a container)', `0::/kubepods.slice/kubepods-besteffort.slice/crio-conmon-${ID}.scope\n`],
    ['a v1 host process', '9:name=systemd:/\n4:memory:/process_api/529cd27856554ced0dffc3600657a45a\n0::/\n'],
    ['garbage', 'not a cgroup file'],
  ])('%s is a host process', (_name, text) => {
    expect(containerFromCgroup(text)).toBeUndefined();
  });
});

describe('socket tables', () => {
  it.each([
    ['0100007F', '127.0.0.1'],
    ['E0BA0F33', '51.15.186.224'],
    ['0000000000000000FFFF00000100007F', '127.0.0.1'],
    ['00000000000000000000000001000000', '::1'],
    ['B80D0120000000000000000005000000', '2001:db8::5'],
    ['00000000000000000000000000000000', '::'],
    ['zz', ''],
  ])('decodes %s', (hex, ip) => {
    expect(decodeAddress(hex)).toBe(ip);
  });

  it('parses /proc/net/tcp with a listener, an outbound connection and a malformed line', () => {
    const text = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 0100007F:0CEA 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 31337 1 0000000000000000 100 0 0 10 0',
      '   1: 0B01A8C0:A1B2 E0BA0F33:0D05 01 00000000:00000000 02:000A7B1C 00000000  1000        0 48211 2 0000000000000000 20 4 30 10 -1',
      '   2: garbage',
      '',
    ].join('\n');
    expect(parseSocketTable(text, 'tcp', 4)).toEqual({
      entries: [
        { protocol: 'tcp', family: 4, localIP: '127.0.0.1', localPort: 3306, remoteIP: '', remotePort: 0, state: 'listen', uid: 0, inode: 31337 },
        { protocol: 'tcp', family: 4, localIP: '192.168.1.11', localPort: 41394, remoteIP: '51.15.186.224', remotePort: 3333, state: 'established', uid: 1000, inode: 48211 },
      ],
      bad: 1,
    });
  });

  it('parses /proc/net/udp6 bound and connected sockets', () => {
    const text = [
      '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops',
      '  123: 00000000000000000000000000000000:14E9 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000   101        0 20412 2 0000000000000000 0',
      '  124: 0000000000000000FFFF00000B01A8C0:9C41 0000000000000000FFFF00000A00600A:0035 01 00000000:00000000 00:00000000 00000000     0        0 20999 2 0000000000000000 0',
    ].join('\n');
    expect(parseSocketTable(text, 'udp', 6).entries).toEqual([
      { protocol: 'udp', family: 6, localIP: '::', localPort: 5353, remoteIP: '', remotePort: 0, state: 'bound', uid: 101, inode: 20412 },
      { protocol: 'udp', family: 6, localIP: '192.168.1.11', localPort: 40001, remoteIP: '10.96.0.10', remotePort: 53, state: 'established', uid: 0, inode: 20999 },
    ]);
  });
});

describe('socket activity of a network namespace', () => {
  const snmp = [
    'Ip: Forwarding DefaultTTL InReceives',
    'Ip: 1 64 1174189',
    'Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails EstabResets CurrEstab InSegs OutSegs RetransSegs InErrs OutRsts InCsumErrors',
    'Tcp: 1 200 120000 -1 6508 5551 900 1135 2 1174189 1171065 467 0 2090 0',
    'Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors',
    'Udp: 10 0 0 10 0 0 0 0 0',
  ].join('\n');
  const sockstat = 'sockets: used 38\nTCP: inuse 11 orphan 0 tw 6 alloc 14 mem 108\nUDP: inuse 0 mem 0\nUDPLITE: inuse 0\nRAW: inuse 0\n';
  const sockstat6 = 'TCP6: inuse 2\nUDP6: inuse 1\nUDPLITE6: inuse 0\n';

  it.each([
    ['as read', snmp, sockstat, sockstat6, '6508 5551 11 0 2 1'],
    ['no IPv6', snmp, sockstat, '', '6508 5551 11 0 - -'],
    ['one more listener', snmp, sockstat.replace('inuse 11', 'inuse 12'), sockstat6, '6508 5551 12 0 2 1'],
    ['no Tcp line', 'Ip: 1\nIp: 2\n', sockstat, sockstat6, undefined],
  ])('%s', (_name, a, b, c, expected) => {
    expect(parseSocketActivity(a, b, c)).toEqual(expected);
  });
});

describe('/proc/PID files', () => {
  it.each([
    ['4242 (xmrig) S 4200 4242 4200 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 4 0 123456 1000 10 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0', { comm: 'xmrig', state: 'S', ppid: 4200, startTicks: 123456, execKey: '' }],
    ['77 (tmux: server) S 1 77 77 0 -1 4194624 1 0 0 0 0 0 0 0 20 0 1 0 999 1 1 1 1 1 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0', { comm: 'tmux: server', state: 'S', ppid: 1, startTicks: 999, execKey: '' }],
    ['88 (a) b) (c) R 5 88 88 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 4321 1 1', { comm: 'a) b) (c', state: 'R', ppid: 5, startTicks: 4321, execKey: '' }],
    // As root sees it (Linux 6.x): code, stack and argv/env addresses give the image key.
    [
      '482 (cat) R 466 466 5913 0 -1 4194304 101 0 0 0 0 0 0 0 20 0 1 0 168971 3133440 390 18446744073709551615 94670445060096 94670445079977 140727274375408 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 94670445095984 94670445097600 94670545850368 140727274383892 140727274383912 140727274383912 140727274385387 0',
      { comm: 'cat', state: 'R', ppid: 466, startTicks: 168971, execKey: '94670445060096 94670445079977 140727274375408 140727274383892 140727274383912 140727274383912 140727274385387' },
    ],
    // A zombie: no memory map, no key.
    ['90 (sh) Z 1 90 90 0 -1 4227148 0 0 0 0 0 0 0 0 20 0 1 0 777 0 0 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0', { comm: 'sh', state: 'Z', ppid: 1, startTicks: 777, execKey: '' }],
  ])('stat %#', (text, expected) => {
    expect(parseStat(text)).toEqual(expected);
  });

  it('stat of garbage is undefined', () => {
    expect(parseStat('garbage')).toBeUndefined();
  });

  it.each([
    ['0.52 0.58 0.59 2/1253 27057\n', { lastPid: 27057, tasks: 1253 }],
    ['0.00 0.00 0.00 1/90 1', { lastPid: 1, tasks: 90 }],
    ['0.00 0.00 0.00', undefined],
    ['garbage', undefined],
  ])('loadavg %#', (text, expected) => {
    expect(parseLoadavg(text)).toEqual(expected);
  });

  it('status gives effective uid/gid, CapEff and SigIgn', () => {
    const text = 'Name:\tsleep\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t4242\nPid:\t4242\nUid:\t1000\t0\t0\t0\nGid:\t1000\t1000\t1000\t1000\nCapInh:\t0000000000000000\nCapEff:\t000001ffffffffff\nSigIgn:\t0000000000000001\n';
    expect(parseStatus(text)).toEqual({ tgid: 4242, uid: 0, gid: 1000, capEff: '000001ffffffffff', sigIgn: '0000000000000001' });
  });

  it.each([
    ['0000000000000001', true],
    ['0000000000001000', false],
    ['0000000000384004', false],
    ['0000000001001003', true],
    ['', false],
  ])('SigIgn %s ignores SIGHUP: %s', (mask, expected) => {
    expect(ignoresHangup(mask)).toBe(expected);
  });

  it.each([
    ['socket:[48211]', 'socket'],
    ['pipe:[1200]', 'pipe'],
    ['/dev/pts/0', 'tty'],
    ['/dev/null', 'null'],
    ['/var/log/app.log', 'file'],
    ['', 'none'],
    ['anon_inode:[eventpoll]', 'unknown'],
  ])('stdio %s is %s', (target, type) => {
    expect(stdioType(target)).toBe(type);
  });
});

describe('kubelet /pods', () => {
  it('indexes container ids with pod, image and digest; skips bad pods', () => {
    const list = {
      kind: 'PodList',
      apiVersion: 'v1',
      items: [
        {
          metadata: { name: 'api-7c9d8b7f5-x2k4q', namespace: 'shop', uid: 'u1', labels: { app: 'api' } },
          status: {
            containerStatuses: [
              { name: 'api', containerID: `containerd://${ID}`, image: 'registry.example.com/shop/api:2.14.1', imageID: 'registry.example.com/shop/api@sha256:3f1a9c0d2b4e6f8a0c2e4a6b8d0f2a4c6e8b0d2f4a6c8e0b2d4f6a8c0e2b4d6f' },
              { name: 'waiting', image: 'busybox' },
            ],
          },
        },
        { metadata: { namespace: 'broken' } },
      ],
    };
    const { containers, skipped } = indexPodList(list);
    expect(skipped).toBe(1);
    expect([...containers.values()]).toEqual([
      {
        containerId: ID,
        containerName: 'api',
        podNamespace: 'shop',
        podName: 'api-7c9d8b7f5-x2k4q',
        podUid: 'u1',
        image: 'registry.example.com/shop/api:2.14.1',
        imageDigest: 'sha256:3f1a9c0d2b4e6f8a0c2e4a6b8d0f2a4c6e8b0d2f4a6c8e0b2d4f6a8c0e2b4d6f',
        labels: { app: 'api' },
      },
    ]);
  });

  it('refuses an answer that is not a PodList', () => {
    expect(() => indexPodList({ message: 'Unauthorized' })).toThrow('the kubelet /pods answer is not a PodList: check the kubelet URL');
  });
});

describe('bounded line reader', () => {
  it('splits lines across chunks and drops an oversize line', async () => {
    const lines: string[] = [];
    let oversize = 0;
    const stream = Readable.from([Buffer.from('{"a":1}\n{"b"'), Buffer.from(':2}\n'), Buffer.from('x'.repeat(100)), Buffer.from('y'.repeat(100) + '\nlast')]);
    await forEachLine(stream, 64, (l) => lines.push(l), () => (oversize += 1));
    expect(lines).toEqual(['{"a":1}', '{"b":2}', 'last']);
    expect(oversize).toBe(1);
  });
});

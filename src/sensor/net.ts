import { readText, readWhole } from './procfs.js';

/**
 * Socket tables of a network namespace (`/proc/PID/net/{tcp,tcp6,udp,udp6}`, read through any
 * process of that namespace). Addresses are hex in host byte order per 32-bit word.
 */
export interface SocketEntry {
  protocol: 'tcp' | 'udp';
  family: 4 | 6;
  localIP: string;
  localPort: number;
  remoteIP: string;
  remotePort: number;
  /** Lower-case kernel state name; `bound` for an unconnected UDP socket. */
  state: string;
  uid: number;
  inode: number;
}

const TCP_STATES: Record<string, string> = {
  '01': 'established',
  '02': 'syn-sent',
  '03': 'syn-recv',
  '04': 'fin-wait1',
  '05': 'fin-wait2',
  '06': 'time-wait',
  '07': 'close',
  '08': 'close-wait',
  '09': 'last-ack',
  '0A': 'listen',
  '0B': 'closing',
  '0C': 'new-syn-recv',
};

function wordToBytes(hex: string): number[] {
  const n = parseInt(hex, 16);
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
}

/** `0100007F` → `127.0.0.1`; 32 hex digits → an IPv6 address (an IPv4-mapped one as IPv4). */
export function decodeAddress(hex: string): string {
  if (hex.length === 8) return wordToBytes(hex).join('.');
  if (hex.length !== 32) return '';
  const bytes: number[] = [];
  for (let i = 0; i < 32; i += 8) bytes.push(...wordToBytes(hex.slice(i, i + 8)));
  const mapped = bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  if (mapped) return bytes.slice(12).join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  // Compress the longest run of zero groups (RFC 5952).
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i += 1;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j += 1;
    if (j - i > bestLen && j - i > 1) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestStart < 0) return groups.join(':');
  return `${groups.slice(0, bestStart).join(':')}::${groups.slice(bestStart + bestLen).join(':')}`;
}

function splitEndpoint(text: string): [string, number] | undefined {
  const i = text.indexOf(':');
  if (i < 0) return undefined;
  const port = parseInt(text.slice(i + 1), 16);
  const ip = decodeAddress(text.slice(0, i));
  if (ip === '' || !Number.isInteger(port)) return undefined;
  return [ip, port];
}

/** Parses one table; malformed lines are skipped and counted in `bad`. */
export function parseSocketTable(text: string, protocol: 'tcp' | 'udp', family: 4 | 6): { entries: SocketEntry[]; bad: number } {
  const entries: SocketEntry[] = [];
  let bad = 0;
  const lines = text.split('\n');
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]?.trim() ?? '';
    if (line === '') continue;
    const f = line.split(/\s+/);
    const local = splitEndpoint(f[1] ?? '');
    const remote = splitEndpoint(f[2] ?? '');
    const st = f[3] ?? '';
    const uid = Number(f[7]);
    const inode = Number(f[9]);
    if (!local || !remote || !Number.isInteger(inode)) {
      bad += 1;
      continue;
    }
    let state = TCP_STATES[st] ?? st.toLowerCase();
    if (protocol === 'udp') state = st === '01' ? 'established' : 'bound';
    const unspecified = remote[0] === '0.0.0.0' || remote[0] === '::';
    entries.push({
      protocol,
      family,
      localIP: local[0],
      localPort: local[1],
      remoteIP: unspecified && remote[1] === 0 ? '' : remote[0],
      remotePort: remote[1],
      state,
      uid,
      inode,
    });
  }
  return { entries, bad };
}

export const SOCKET_TABLES = [
  { file: 'tcp', protocol: 'tcp', family: 4 },
  { file: 'tcp6', protocol: 'tcp', family: 6 },
  { file: 'udp', protocol: 'udp', family: 4 },
  { file: 'udp6', protocol: 'udp', family: 6 },
] as const;

/** All four tables of the namespace `pid` is in; undefined when none could be read (the process is gone). */
export function readSocketTables(procRoot: string, pid: number): { entries: SocketEntry[]; bad: number } | undefined {
  const entries: SocketEntry[] = [];
  let bad = 0;
  let read = 0;
  for (const t of SOCKET_TABLES) {
    const text = readWhole(`${procRoot}/${pid}/net/${t.file}`);
    if (text === undefined) continue;
    read += 1;
    const parsed = parseSocketTable(text, t.protocol, t.family);
    for (const e of parsed.entries) entries.push(e);
    bad += parsed.bad;
  }
  return read === 0 ? undefined : { entries, bad };
}

/**
 * The socket activity of a network namespace in a few numbers: TCP active and passive opens
 * (/proc/PID/net/snmp) and the TCP/UDP sockets in use, v4 and v6 (sockstat, sockstat6). A
 * connect, an accept, a new listener or a new UDP socket changes it, unless another socket closed
 * in the same interval and no connection was opened (a listener balanced by a close). Reading these
 * costs microseconds, while generating /proc/net/tcp walks the kernel's whole TCP hash table
 * (shared by all namespaces) for each namespace. Undefined when the files cannot be read.
 */
const INUSE = { tcp: /^TCP: inuse (\d+)/m, udp: /^UDP: inuse (\d+)/m, tcp6: /^TCP6: inuse (\d+)/m, udp6: /^UDP6: inuse (\d+)/m };

export function parseSocketActivity(snmp: string, sockstat: string, sockstat6: string): string | undefined {
  const tcp = snmp.split('\n').filter((line) => line.startsWith('Tcp:'));
  const names = tcp[0]?.split(' ') ?? [];
  const values = tcp[1]?.split(' ') ?? [];
  const active = values[names.indexOf('ActiveOpens')];
  const passive = values[names.indexOf('PassiveOpens')];
  if (active === undefined || passive === undefined) return undefined;
  const inuse = (text: string, re: RegExp): string => re.exec(text)?.[1] ?? '-';
  return [active, passive, inuse(sockstat, INUSE.tcp), inuse(sockstat, INUSE.udp), inuse(sockstat6, INUSE.tcp6), inuse(sockstat6, INUSE.udp6)].join(' ');
}

export function readSocketActivity(procRoot: string, pid: number): string | undefined {
  const snmp = readText(`${procRoot}/${pid}/net/snmp`, 16 * 1024);
  const sockstat = readText(`${procRoot}/${pid}/net/sockstat`, 4096);
  if (snmp === undefined || sockstat === undefined) return undefined;
  return parseSocketActivity(snmp, sockstat, readText(`${procRoot}/${pid}/net/sockstat6`, 4096) ?? '');
}

import { readWhole } from './procfs.js';

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

/** All four tables of the namespace `pid` is in (empty when the process is gone). */
export function readSocketTables(procRoot: string, pid: number): { entries: SocketEntry[]; bad: number } {
  const entries: SocketEntry[] = [];
  let bad = 0;
  for (const t of SOCKET_TABLES) {
    const text = readWhole(`${procRoot}/${pid}/net/${t.file}`);
    if (text === undefined) continue;
    const parsed = parseSocketTable(text, t.protocol, t.family);
    entries.push(...parsed.entries);
    bad += parsed.bad;
  }
  return { entries, bad };
}

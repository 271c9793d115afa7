import { closeSync, openSync, readdirSync, readFileSync, readlinkSync, readSync } from 'node:fs';

/**
 * Readers of /proc. Every one of them tolerates the process vanishing between two reads
 * (ENOENT, ESRCH) and entries it may not read (EACCES): they return undefined or an empty value,
 * and the caller counts it. Nothing here throws for a missing or unreadable entry.
 */

export interface ProcStat {
  comm: string;
  state: string;
  ppid: number;
  /** Start time in clock ticks after boot. */
  startTicks: number;
  /**
   * Where the program image sits: start/end of code, start of stack and the argv/environment
   * addresses (stat fields 26–28 and 48–51). An exec replaces all of them (ASLR randomises the
   * stack and a PIE's code even for the same program), so a change means an exec in place without
   * reading the command line. '' when the kernel hides them (a reader without ptrace access sees
   * 0 or 1) or the process has no memory map (zombie, kernel thread).
   */
  execKey: string;
}

export interface ProcStatus {
  /** Thread-group id: equals the pid for a process, differs for a thread (whose /proc/TID also answers). */
  tgid: number;
  uid: number;
  gid: number;
  capEff: string;
  sigIgn: string;
}

export interface FdInfo {
  stdin: string;
  stdout: string;
  stderr: string;
  /** Socket inodes the process holds. */
  sockets: number[];
  /** Absolute paths of open regular files (not /dev, /proc, pipes or sockets), capped. */
  files: string[];
  /** The fd table had more entries than were read. */
  truncated: boolean;
}

/** The namespaces that matter for escapes and isolation (uts, ipc and cgroup are left out to save reads). */
export const NAMESPACE_TYPES = ['net', 'mnt', 'pid', 'user'] as const;
export type NamespaceIds = Partial<Record<(typeof NAMESPACE_TYPES)[number], string>>;

/** USER_HZ: 100 on every Linux architecture Kubernetes runs on (x86-64, arm64, ppc64le, s390x). */
export const CLOCK_TICKS_PER_SECOND = 100;

export function readText(path: string, maxBytes = 64 * 1024): string | undefined {
  try {
    if (maxBytes <= 0) return readFileSync(path, 'utf8');
    const { text } = readCapped(path, maxBytes);
    return text;
  } catch {
    return undefined;
  }
}

let cappedBuffer = Buffer.allocUnsafe(64 * 1024);

/**
 * Reads at most `maxBytes` of a /proc file (cmdline of a process can be megabytes), into a reused
 * buffer. A short read is the end: the single-record files read here (stat, status, cmdline,
 * cgroup, loadavg) hand over everything that fits in one read(), which saves the second read()
 * that only confirms the end. Not for multi-record tables (see readWhole).
 */
export function readCapped(path: string, maxBytes: number): { text: string; truncated: boolean } {
  if (cappedBuffer.length < maxBytes + 1) cappedBuffer = Buffer.allocUnsafe(maxBytes + 1);
  const buf = cappedBuffer;
  const fd = openSync(path, 'r');
  try {
    let total = 0;
    while (total < maxBytes + 1) {
      const want = maxBytes + 1 - total;
      const n = readSync(fd, buf, total, want, null);
      total += n;
      if (n < want) break;
    }
    const truncated = total > maxBytes;
    return { text: buf.toString('utf8', 0, Math.min(total, maxBytes)), truncated };
  } finally {
    closeSync(fd);
  }
}

let wholeBuffer = Buffer.allocUnsafe(256 * 1024);

/**
 * Reads a generated /proc file in one read() when it fits: seq_file tables such as /proc/net/tcp
 * walk the kernel's hash table again on every read() call, so reading in small chunks (what
 * readFileSync does) costs several walks. The buffer is reused and grows up to `maxBytes`.
 */
export function readWhole(path: string, maxBytes = 32 * 1024 * 1024): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return undefined;
  }
  try {
    let total = 0;
    for (;;) {
      if (total === wholeBuffer.length) {
        if (wholeBuffer.length >= maxBytes) break;
        const bigger = Buffer.allocUnsafe(Math.min(maxBytes, wholeBuffer.length * 2));
        wholeBuffer.copy(bigger, 0, 0, total);
        wholeBuffer = bigger;
      }
      const n = readSync(fd, wholeBuffer, total, wholeBuffer.length - total, null);
      if (n === 0) break;
      total += n;
    }
    return wholeBuffer.toString('utf8', 0, total);
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

function readLink(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return '';
  }
}

/** Numeric entries of /proc: the pids (thread-group leaders). */
export function listPids(procRoot: string): number[] {
  let names: string[];
  try {
    names = readdirSync(procRoot);
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const name of names) {
    const c = name.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    const pid = Number(name);
    if (Number.isInteger(pid)) out.push(pid);
  }
  return out;
}

/** `/proc/PID/stat`: the comm sits in parentheses and may itself hold spaces and parentheses. */
export function parseStat(text: string): ProcStat | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  // rest[i] is field i + 3 of proc(5).
  const rest = text.slice(close + 2).split(' ');
  const ppid = Number(rest[1]);
  const startTicks = Number(rest[19]);
  if (!Number.isFinite(ppid) || !Number.isFinite(startTicks)) return undefined;
  const startCode = rest[23] ?? '';
  const execKey = startCode.length > 1 ? `${startCode} ${rest[24]} ${rest[25]} ${rest[45] ?? ''} ${rest[46] ?? ''} ${rest[47] ?? ''} ${rest[48] ?? ''}` : '';
  return { comm: text.slice(open + 1, close), state: rest[0] ?? '', ppid, startTicks, execKey };
}

export function readStat(procRoot: string, pid: number): ProcStat | undefined {
  const text = readText(`${procRoot}/${pid}/stat`, 4096);
  return text === undefined ? undefined : parseStat(text);
}

export function parseStatus(text: string): ProcStatus {
  const out: ProcStatus = { tgid: -1, uid: -1, gid: -1, capEff: '', sigIgn: '' };
  for (const line of text.split('\n')) {
    if (line.startsWith('Tgid:')) out.tgid = Number(line.slice(5).trim());
    else if (line.startsWith('Uid:')) out.uid = Number(line.slice(4).trim().split(/\s+/)[1] ?? -1);
    else if (line.startsWith('Gid:')) out.gid = Number(line.slice(4).trim().split(/\s+/)[1] ?? -1);
    else if (line.startsWith('CapEff:')) out.capEff = line.slice(7).trim();
    else if (line.startsWith('SigIgn:')) out.sigIgn = line.slice(7).trim();
  }
  return out;
}

export function readStatus(procRoot: string, pid: number): ProcStatus | undefined {
  const text = readText(`${procRoot}/${pid}/status`, 16 * 1024);
  return text === undefined ? undefined : parseStatus(text);
}

/** SIGHUP is signal 1: bit 0 of the SigIgn mask. */
export function ignoresHangup(sigIgn: string): boolean {
  const last = sigIgn.slice(-1);
  return last !== '' && (parseInt(last, 16) & 1) === 1;
}

/** argv from `/proc/PID/cmdline` (NUL-separated), cut at `maxBytes`. */
export function readArgv(procRoot: string, pid: number, maxBytes: number): { args: string[]; truncated: boolean } | undefined {
  let read: { text: string; truncated: boolean };
  try {
    read = readCapped(`${procRoot}/${pid}/cmdline`, maxBytes);
  } catch {
    return undefined;
  }
  let text = read.text;
  if (text.endsWith('\0')) text = text.slice(0, -1);
  return { args: text === '' ? [] : text.split('\0'), truncated: read.truncated };
}

export function readExe(procRoot: string, pid: number): string {
  return readLink(`${procRoot}/${pid}/exe`);
}

export function readCwd(procRoot: string, pid: number): string {
  return readLink(`${procRoot}/${pid}/cwd`);
}

export function readNamespaces(procRoot: string, pid: number): NamespaceIds {
  const out: NamespaceIds = {};
  for (const type of NAMESPACE_TYPES) {
    const link = readLink(`${procRoot}/${pid}/ns/${type}`);
    if (link !== '') out[type] = link;
  }
  return out;
}

const SOCKET_LINK = /^socket:\[(\d+)\]$/;

export function socketInode(target: string): number | undefined {
  const m = SOCKET_LINK.exec(target);
  return m ? Number(m[1]) : undefined;
}

function isPlainFile(target: string): boolean {
  return target.startsWith('/') && !target.startsWith('/dev/') && !target.startsWith('/proc/') && !target.startsWith('/sys/');
}

/** The fd table: stdio targets, socket inodes and open files, reading at most `maxFds` entries. */
export function readFds(procRoot: string, pid: number, maxFds: number, maxFiles: number): FdInfo | undefined {
  let names: string[];
  try {
    names = readdirSync(`${procRoot}/${pid}/fd`);
  } catch {
    return undefined;
  }
  const info: FdInfo = { stdin: '', stdout: '', stderr: '', sockets: [], files: [], truncated: names.length > maxFds };
  let n = 0;
  for (const name of names) {
    if (n >= maxFds) break;
    n += 1;
    const target = readLink(`${procRoot}/${pid}/fd/${name}`);
    if (target === '') continue;
    if (name === '0') info.stdin = target;
    else if (name === '1') info.stdout = target;
    else if (name === '2') info.stderr = target;
    const inode = socketInode(target);
    if (inode !== undefined) info.sockets.push(inode);
    else if (info.files.length < maxFiles && isPlainFile(target)) info.files.push(target);
  }
  return info;
}

/** Only the socket inodes of a process (for attributing a connection that appeared later). */
export function readSocketInodes(procRoot: string, pid: number, maxFds: number): number[] | undefined {
  let names: string[];
  try {
    names = readdirSync(`${procRoot}/${pid}/fd`);
  } catch {
    return undefined;
  }
  const out: number[] = [];
  let n = 0;
  for (const name of names) {
    if (n >= maxFds) break;
    n += 1;
    const inode = socketInode(readLink(`${procRoot}/${pid}/fd/${name}`));
    if (inode !== undefined) out.push(inode);
  }
  return out;
}

/** `/proc/loadavg`: the last pid handed out (in the reader's pid namespace) and the number of tasks. */
export function parseLoadavg(text: string): { lastPid: number; tasks: number } | undefined {
  const f = text.trim().split(' ');
  const tasks = Number(f[3]?.slice(f[3].indexOf('/') + 1));
  const lastPid = Number(f[4]);
  return Number.isInteger(lastPid) && lastPid > 0 && Number.isInteger(tasks) ? { lastPid, tasks } : undefined;
}

export function readLoadavg(procRoot: string): { lastPid: number; tasks: number } | undefined {
  const text = readText(`${procRoot}/loadavg`, 256);
  return text === undefined ? undefined : parseLoadavg(text);
}

/**
 * True when `procRoot` shows the pid namespace this process runs in (its `self` link is our own
 * pid): only then does /proc/loadavg's last pid count the pids that `procRoot` lists.
 */
export function showsOwnPidNamespace(procRoot: string, ownPid: number): boolean {
  return readLink(`${procRoot}/self`) === String(ownPid);
}

export function readBootTimeMs(procRoot: string): number | undefined {
  const text = readText(`${procRoot}/stat`, 0);
  const m = text === undefined ? null : /^btime (\d+)$/m.exec(text);
  return m ? Number(m[1]) * 1000 : undefined;
}

export type StdioType = 'socket' | 'pipe' | 'tty' | 'file' | 'null' | 'none' | 'unknown';

export function stdioType(target: string): StdioType {
  if (target === '') return 'none';
  if (target.startsWith('socket:')) return 'socket';
  if (target.startsWith('pipe:')) return 'pipe';
  if (target === '/dev/null') return 'null';
  if (target.startsWith('/dev/pts/') || target.startsWith('/dev/tty') || target === '/dev/console') return 'tty';
  if (target.startsWith('/')) return 'file';
  return 'unknown';
}

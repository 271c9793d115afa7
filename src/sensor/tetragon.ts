import { z } from 'zod';
import type { ContainerInfo, Connection, RuntimeProcess } from '../threat/runtime/index.js';
import type { NormaliseResult } from './falco.js';

/**
 * Tetragon's JSON export (`tetragon --export-filename`, or `kubectl logs ds/tetragon -c export-stdout`),
 * one event per line: `process_exec`, `process_exit`, and `process_kprobe` from the TracingPolicies
 * a site runs (tcp_connect, inet_csk_listen_start, inet_csk_accept for sockets; fd_install or
 * security_file_permission for files; sys_kill for signals). Other kinds are skipped and counted.
 */

const tetragonProcessSchema = z.looseObject({
  pid: z.number().int().nonnegative().optional(),
  uid: z.number().int().optional(),
  cwd: z.string().optional(),
  binary: z.string().optional(),
  arguments: z.string().optional(),
  start_time: z.string().optional(),
  docker: z.string().optional(),
  cap: z.looseObject({ effective: z.array(z.string()).optional() }).optional(),
  process_credentials: z.looseObject({ gid: z.number().int().optional() }).optional(),
  pod: z
    .looseObject({
      namespace: z.string().optional(),
      name: z.string().optional(),
      container: z
        .looseObject({
          id: z.string().optional(),
          name: z.string().optional(),
          image: z.looseObject({ id: z.string().optional(), name: z.string().optional() }).optional(),
        })
        .optional(),
      pod_labels: z.record(z.string(), z.string()).optional(),
    })
    .optional(),
});
type TetragonProcess = z.infer<typeof tetragonProcessSchema>;

const sockArgSchema = z.looseObject({
  family: z.string().optional(),
  protocol: z.string().optional(),
  saddr: z.string().optional(),
  daddr: z.string().optional(),
  sport: z.number().int().optional(),
  dport: z.number().int().optional(),
  state: z.string().optional(),
});
const kprobeArgSchema = z.looseObject({
  sock_arg: sockArgSchema.optional(),
  file_arg: z.looseObject({ path: z.string().optional() }).optional(),
  path_arg: z.looseObject({ path: z.string().optional() }).optional(),
  int_arg: z.number().int().optional(),
});

const bodySchema = z.looseObject({
  process: tetragonProcessSchema,
  parent: tetragonProcessSchema.optional(),
  ancestors: z.array(tetragonProcessSchema).optional(),
  function_name: z.string().optional(),
  args: z.array(kprobeArgSchema).optional(),
  status: z.number().int().optional(),
});

const lineSchema = z.looseObject({
  process_exec: bodySchema.optional(),
  process_exit: bodySchema.optional(),
  process_kprobe: bodySchema.optional(),
  node_name: z.string().optional(),
  time: z.string(),
});

function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

function splitArguments(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)) out.push(m[1] ?? m[2] ?? '');
  return out;
}

const CAP_BITS: Record<string, number> = { CAP_SYS_ADMIN: 21, CAP_NET_ADMIN: 12, CAP_SYS_PTRACE: 19, CAP_NET_RAW: 13, CAP_SYS_MODULE: 16, CAP_DAC_READ_SEARCH: 2 };

function capMask(caps: readonly string[] | undefined): string {
  if (caps === undefined) return '';
  let mask = 0n;
  for (const c of caps) {
    const bit = CAP_BITS[c];
    if (bit !== undefined) mask |= 1n << BigInt(bit);
  }
  return mask.toString(16).padStart(16, '0');
}

function toProcess(p: TetragonProcess, parent: TetragonProcess | undefined, ancestors: readonly TetragonProcess[]): RuntimeProcess | undefined {
  if (p.pid === undefined || p.binary === undefined) return undefined;
  const args = [p.binary, ...splitArguments(p.arguments ?? '')];
  const process: RuntimeProcess = {
    pid: p.pid,
    ppid: parent?.pid ?? 0,
    name: baseName(p.binary),
    exe: p.binary,
    args,
    cmdline: args.join(' '),
    cwd: p.cwd ?? '',
    uid: p.uid ?? -1,
    gid: p.process_credentials?.gid ?? -1,
    startTime: p.start_time ?? '',
    capEff: capMask(p.cap?.effective),
    ancestors: [parent, ...ancestors]
      .filter((a): a is TetragonProcess => a !== undefined && a.pid !== undefined)
      .map((a) => ({ pid: a.pid ?? 0, name: baseName(a.binary ?? ''), exe: a.binary ?? '', cmdline: `${a.binary ?? ''} ${a.arguments ?? ''}`.trim() })),
    stdin: { type: 'unknown', target: '', remote: '' },
    stdout: { type: 'unknown', target: '', remote: '' },
    openFiles: [],
    netns: '',
    nsChanged: [],
    ignoresHangup: false,
    truncated: false,
  };
  const pod = p.pod;
  const rawId = pod?.container?.id ?? p.docker ?? '';
  const id = rawId.replace(/^[a-z-]+:\/\//, '');
  if (id !== '') {
    const c: ContainerInfo = {
      id,
      runtime: rawId.startsWith('containerd://') ? 'containerd' : rawId.startsWith('cri-o://') ? 'cri-o' : rawId.startsWith('docker://') ? 'docker' : 'unknown',
      name: pod?.container?.name ?? '',
      podNamespace: pod?.namespace ?? '',
      podName: pod?.name ?? '',
      podUid: '',
      image: pod?.container?.image?.name ?? '',
      imageDigest: /sha256:[0-9a-f]{64}/.exec(pod?.container?.image?.id ?? '')?.[0] ?? '',
      labels: { ...(pod?.pod_labels ?? {}) },
    };
    process.container = c;
  }
  return process;
}

function connectionOf(sock: z.infer<typeof sockArgSchema>): Connection | undefined {
  if (sock.saddr === undefined || sock.sport === undefined) return undefined;
  const family = sock.family === 'AF_INET6' ? 6 : 4;
  return {
    protocol: sock.protocol === 'IPPROTO_UDP' ? 'udp' : 'tcp',
    family,
    localIP: sock.saddr,
    localPort: sock.sport,
    remoteIP: sock.daddr ?? '',
    remotePort: sock.dport ?? 0,
    state: (sock.state ?? '').replace(/^TCP_/, '').toLowerCase().replace('_', '-'),
  };
}

const CONNECT_FUNCTIONS = new Set(['tcp_connect', 'tcp_v4_connect', 'tcp_v6_connect', 'ip4_datagram_connect']);
const LISTEN_FUNCTIONS = new Set(['inet_csk_listen_start']);
const ACCEPT_FUNCTIONS = new Set(['inet_csk_accept']);
const FILE_FUNCTIONS = new Set(['fd_install', 'security_file_permission', 'security_file_open', 'security_mmap_file', 'do_sys_open', 'sys_openat', '__x64_sys_openat']);
const KILL_FUNCTIONS = new Set(['sys_kill', '__x64_sys_kill', '__arm64_sys_kill', 'kill_something_info']);

export function normaliseTetragon(value: unknown, node: string): NormaliseResult {
  const parsed = lineSchema.safeParse(value);
  if (!parsed.success) return { ok: false, reason: 'tetragon: not a Tetragon export event' };
  const line = parsed.data;
  if (Number.isNaN(Date.parse(line.time))) return { ok: false, reason: 'tetragon: bad time' };
  const time = new Date(Date.parse(line.time)).toISOString();
  const body = line.process_exec ?? line.process_exit ?? line.process_kprobe;
  if (body === undefined) return { ok: false, reason: 'tetragon: event kind is not used' };
  const process = toProcess(body.process, body.parent, body.ancestors ?? []);
  if (process === undefined) return { ok: false, reason: 'tetragon: process without pid or binary' };
  const base = { time, node: line.node_name || node, source: 'tetragon' as const, process };
  if (line.process_exec) return { ok: true, event: { kind: 'exec', ...base } };
  if (line.process_exit) return { ok: true, event: { kind: 'exit', ...base, exitCode: body.status ?? 0 } };
  const fn = body.function_name ?? '';
  const args = body.args ?? [];
  const sock = args.find((a) => a.sock_arg)?.sock_arg;
  if (sock && (CONNECT_FUNCTIONS.has(fn) || LISTEN_FUNCTIONS.has(fn) || ACCEPT_FUNCTIONS.has(fn))) {
    const connection = connectionOf(sock);
    if (connection === undefined) return { ok: false, reason: 'tetragon: socket argument without addresses' };
    if (LISTEN_FUNCTIONS.has(fn)) return { ok: true, event: { kind: 'listen', ...base, connection: { ...connection, remoteIP: '', remotePort: 0, state: 'listen' } } };
    return { ok: true, event: { kind: ACCEPT_FUNCTIONS.has(fn) ? 'accept' : 'connect', ...base, connection } };
  }
  if (FILE_FUNCTIONS.has(fn)) {
    const path = args.find((a) => a.file_arg?.path)?.file_arg?.path ?? args.find((a) => a.path_arg?.path)?.path_arg?.path;
    if (path === undefined || !path.startsWith('/')) return { ok: false, reason: 'tetragon: file kprobe without a path' };
    return { ok: true, event: { kind: 'open', ...base, file: { path, write: false } } };
  }
  if (KILL_FUNCTIONS.has(fn)) {
    const ints = args.map((a) => a.int_arg).filter((n): n is number => n !== undefined);
    const [targetPid, signal] = ints;
    if (targetPid === undefined || signal === undefined) return { ok: false, reason: 'tetragon: kill kprobe without pid and signal' };
    return { ok: true, event: { kind: 'signal', ...base, target: { pid: targetPid, name: '', exe: '', cmdline: '' }, signal } };
  }
  return { ok: false, reason: `tetragon: kprobe ${fn || '(unnamed)'} is not used` };
}


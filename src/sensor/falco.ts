import { z } from 'zod';
import type { ContainerInfo, RuntimeEvent, RuntimeProcess } from '../threat/runtime/index.js';

/**
 * Falco's JSON output (`json_output: true`; file, stdout or program output), one alert per line,
 * normalised to runtime events: Falco hears syscalls, so a site running it gets every execve, not
 * only those a poll catches. The fields read are in `output_fields`; which ones are present depends
 * on the Falco rule's output string, so everything is optional and defaults to empty.
 */

const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const falcoLineSchema = z.looseObject({
  time: z.string().optional(),
  rule: z.string().optional(),
  hostname: z.string().optional(),
  output_fields: z.record(z.string(), scalar),
});

export type NormaliseResult = { ok: true; event: RuntimeEvent } | { ok: false; reason: string };

function str(fields: Record<string, z.infer<typeof scalar>>, key: string): string {
  const v = fields[key];
  return v === undefined || v === null ? '' : String(v);
}

function num(fields: Record<string, z.infer<typeof scalar>>, key: string, fallback: number): number {
  const v = fields[key];
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;
  return Number.isFinite(n) ? n : fallback;
}

/** Splits a command line on spaces, keeping quoted parts together (Falco gives no argv array). */
export function splitCommandLine(text: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (const m of text.matchAll(re)) out.push(m[1] ?? m[2] ?? m[3] ?? '');
  return out;
}

const EXEC_TYPES = new Set(['execve', 'execveat']);
const OPEN_TYPES = new Set(['open', 'openat', 'openat2', 'creat']);

function eventTime(line: z.infer<typeof falcoLineSchema>): string | undefined {
  const fields = line.output_fields;
  const ns = fields['evt.time'];
  if (typeof ns === 'number' && ns > 0) return new Date(Math.floor(ns / 1e6)).toISOString();
  if (line.time && !Number.isNaN(Date.parse(line.time))) return new Date(Date.parse(line.time)).toISOString();
  return undefined;
}

export function normaliseFalco(value: unknown, node: string): NormaliseResult {
  const parsed = falcoLineSchema.safeParse(value);
  if (!parsed.success) return { ok: false, reason: 'falco: not a Falco JSON alert (no output_fields)' };
  const line = parsed.data;
  const f = line.output_fields;
  const time = eventTime(line);
  if (time === undefined) return { ok: false, reason: 'falco: no usable time' };
  const type = str(f, 'evt.type');
  const pid = num(f, 'proc.pid', -1);
  const name = str(f, 'proc.name');
  if (name === '' || pid < 0) return { ok: false, reason: 'falco: no proc.name or proc.pid in output_fields' };
  const cmdline = str(f, 'proc.cmdline') || name;
  const args = f['proc.args'] !== undefined ? [name, ...splitCommandLine(str(f, 'proc.args'))] : splitCommandLine(cmdline);
  const tty = num(f, 'proc.tty', 0);
  const process: RuntimeProcess = {
    pid,
    ppid: num(f, 'proc.ppid', 0),
    name,
    exe: str(f, 'proc.exepath') || str(f, 'proc.exe'),
    args,
    cmdline,
    cwd: str(f, 'proc.cwd'),
    uid: num(f, 'user.uid', -1),
    gid: num(f, 'group.gid', -1),
    startTime: '',
    capEff: '',
    ancestors: [],
    stdin: tty > 0 ? { type: 'tty', target: `tty ${tty}`, remote: '' } : { type: 'unknown', target: '', remote: '' },
    stdout: { type: 'unknown', target: '', remote: '' },
    openFiles: [],
    netns: '',
    nsChanged: [],
    ignoresHangup: false,
    truncated: false,
  };
  const pname = str(f, 'proc.pname');
  if (pname !== '') process.ancestors.push({ pid: num(f, 'proc.ppid', 0), name: pname, exe: str(f, 'proc.pexepath'), cmdline: str(f, 'proc.pcmdline') });
  const containerId = str(f, 'container.id');
  if (containerId !== '' && containerId !== 'host') {
    const repo = str(f, 'container.image.repository');
    const tag = str(f, 'container.image.tag');
    const c: ContainerInfo = {
      id: containerId,
      runtime: 'unknown',
      name: str(f, 'k8s.container.name') || str(f, 'container.name'),
      podNamespace: str(f, 'k8s.ns.name'),
      podName: str(f, 'k8s.pod.name'),
      podUid: str(f, 'k8s.pod.uid'),
      image: repo === '' ? str(f, 'container.image') : tag === '' ? repo : `${repo}:${tag}`,
      imageDigest: /sha256:[0-9a-f]{64}/.exec(str(f, 'container.image.digest'))?.[0] ?? '',
      labels: {},
    };
    process.container = c;
  }
  const base = { time, node: line.hostname || node, source: 'falco' as const, process };
  const proto = str(f, 'fd.l4proto') === 'udp' ? 'udp' : 'tcp';
  const remoteIP = str(f, 'fd.rip') || str(f, 'fd.sip');
  const connection = {
    protocol: proto,
    family: (remoteIP.includes(':') ? 6 : 4) as 4 | 6,
    localIP: str(f, 'fd.lip') || str(f, 'fd.cip'),
    localPort: num(f, 'fd.lport', num(f, 'fd.cport', 0)),
    remoteIP,
    remotePort: num(f, 'fd.rport', num(f, 'fd.sport', 0)),
    state: '',
  } as const;
  if (EXEC_TYPES.has(type) || (type === '' && f['fd.name'] === undefined)) return { ok: true, event: { kind: 'exec', ...base } };
  if (type === 'connect') return { ok: true, event: { kind: 'connect', ...base, connection: { ...connection, state: 'established' } } };
  if (type === 'accept' || type === 'accept4') return { ok: true, event: { kind: 'accept', ...base, connection: { ...connection, state: 'established' } } };
  if (type === 'listen') {
    return { ok: true, event: { kind: 'listen', ...base, connection: { ...connection, localIP: str(f, 'fd.sip') || connection.localIP, localPort: num(f, 'fd.sport', connection.localPort), remoteIP: '', remotePort: 0, state: 'listen' } } };
  }
  if (OPEN_TYPES.has(type) || (type === '' && f['fd.name'] !== undefined)) {
    const path = str(f, 'fd.name');
    if (!path.startsWith('/')) return { ok: false, reason: 'falco: open event without a file path' };
    const flags = str(f, 'evt.arg.flags');
    return { ok: true, event: { kind: 'open', ...base, file: { path, write: /O_WRONLY|O_RDWR|O_TRUNC|O_CREAT/.test(flags) } } };
  }
  if (type === 'kill' || type === 'tkill' || type === 'tgkill') {
    const sig = str(f, 'evt.arg.sig');
    const signal = /^\d+$/.test(sig) ? Number(sig) : (SIGNALS[sig] ?? -1);
    return { ok: true, event: { kind: 'signal', ...base, target: { pid: num(f, 'evt.arg.pid', 0), name: str(f, 'evt.arg.pid.name') || '', exe: '', cmdline: '' }, signal } };
  }
  return { ok: false, reason: `falco: event type ${type} is not used` };
}

export const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15, SIGSTOP: 19, SIGUSR1: 10, SIGUSR2: 12 };

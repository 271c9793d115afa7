import type { ContainerRuntime } from '../threat/runtime/index.js';

/**
 * Container attribution from `/proc/PID/cgroup`. The container id is the 64-hex segment that the
 * runtime names the cgroup after, in all the layouts kubelets and runtimes produce:
 *
 * - cgroup v2, systemd driver:  `0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid>.slice/cri-containerd-<id>.scope`
 *                               (`crio-<id>.scope` for CRI-O, `docker-<id>.scope` for Docker, `libpod-<id>.scope` for Podman)
 * - cgroup v1/v2, cgroupfs driver: `/kubepods/burstable/pod<uid>/<id>`, `/docker/<id>`, `/system.slice/containerd.service/kubepods-…:cri-containerd:<id>`
 * - Docker with cgroup v1:        `12:pids:/docker/<id>`
 *
 * CRI-O's `crio-conmon-<id>.scope` is the monitor process on the host, not the container.
 */
export interface CgroupContainer {
  id: string;
  runtime: ContainerRuntime;
  /** Pod UID from a `pod<uid>` segment (systemd writes its dashes as underscores). */
  podUid: string;
}

const ID = '([0-9a-f]{64})';
const PATTERNS: Array<{ re: RegExp; runtime: ContainerRuntime }> = [
  { re: new RegExp(`cri-containerd[-:]${ID}`), runtime: 'containerd' },
  { re: new RegExp(`crio-${ID}`), runtime: 'cri-o' },
  { re: new RegExp(`docker-${ID}\\.scope`), runtime: 'docker' },
  { re: new RegExp(`libpod-${ID}`), runtime: 'podman' },
  { re: new RegExp(`/docker/${ID}`), runtime: 'docker' },
  { re: new RegExp(`/pod[0-9a-f_-]{36}/${ID}`), runtime: 'unknown' },
  { re: new RegExp(`/${ID}(?:\\.scope)?$`), runtime: 'unknown' },
];
const POD_UID = /pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})/;

/** The container of a process from its cgroup file text, or undefined for a host process. */
export function containerFromCgroup(text: string): CgroupContainer | undefined {
  for (const line of text.split('\n')) {
    const path = line.slice(line.indexOf(':', line.indexOf(':') + 1) + 1);
    if (path === '' || path === '/' || path.includes('crio-conmon-')) continue;
    for (const { re, runtime } of PATTERNS) {
      const m = re.exec(path);
      if (!m || m[1] === undefined) continue;
      const pod = POD_UID.exec(path);
      return { id: m[1], runtime, podUid: pod?.[1]?.replaceAll('_', '-') ?? '' };
    }
  }
  return undefined;
}

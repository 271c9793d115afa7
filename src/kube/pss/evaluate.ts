import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { parse as parseYaml } from 'yaml';
import { AppError } from '../../core/index.js';
import type { Container, Handler, PodLike, SecurityContext } from '../model.js';

/**
 * Pod Security Standards (baseline and restricted) for every policy version v1.0 … latest, as the
 * Kubernetes PodSecurity admission plugin evaluates them. Each check has one implementation per
 * policy version where its rule changed; a version uses the newest implementation not newer than
 * itself. Titles and remediation text are data (checks.yaml); `evaluatePodSecurity` is what the
 * posture checks and the admission webhook call.
 */

export const PSS_LEVELS = ['privileged', 'baseline', 'restricted'] as const;
export type PssLevel = (typeof PSS_LEVELS)[number];

/** The newest policy version this evaluator knows; `latest` means this one. */
export const LATEST_PSS_MINOR = 37;

export const PSS_CHECK_IDS = [
  'hostNamespaces',
  'privileged',
  'capabilities_baseline',
  'hostPathVolumes',
  'hostPorts',
  'appArmorProfile',
  'seLinuxOptions',
  'procMount',
  'seccompProfile_baseline',
  'sysctls',
  'windowsHostProcess',
  'hostProbesAndHostLifecycle',
  'restrictedVolumes',
  'allowPrivilegeEscalation',
  'runAsNonRoot',
  'runAsUser',
  'seccompProfile_restricted',
  'capabilities_restricted',
  'procMount_restricted',
] as const;
export type PssCheckId = (typeof PSS_CHECK_IDS)[number];

export interface PssViolation {
  check: PssCheckId;
  /** The level that introduced the check (a restricted evaluation also reports baseline checks). */
  level: 'baseline' | 'restricted';
  /** Short reason, as Kubernetes words it: "host namespaces", "privileged" … */
  reason: string;
  /** `reason (detail)`. */
  message: string;
  /** Field paths that violate the check, e.g. `spec.containers[0].securityContext.privileged`. */
  paths: string[];
}

interface Found {
  reason: string;
  detail: string;
  paths: string[];
}

type CheckFn = (pod: PodLike) => Found | undefined;
interface VersionedCheck {
  /** Minor version of the first policy version using this implementation (1.N). */
  since: number;
  check: CheckFn;
}

// ---------------------------------------------------------------------------------------------
// helpers

interface VisitedContainer {
  container: Container;
  path: string;
}

function containersOf(pod: PodLike): VisitedContainer[] {
  const out: VisitedContainer[] = [];
  const add = (list: Container[] | undefined, field: string): void => {
    (list ?? []).forEach((container, i) => out.push({ container, path: `spec.${field}[${i}]` }));
  };
  add(pod.spec.initContainers, 'initContainers');
  add(pod.spec.containers, 'containers');
  add(pod.spec.ephemeralContainers, 'ephemeralContainers');
  return out;
}

function quoteList(names: readonly string[]): string {
  return names.map((n) => `"${n}"`).join(', ');
}

function containerWord(n: number): string {
  return n === 1 ? 'container' : 'containers';
}

/** Checks one container property; collects the offending containers and their field paths. */
function perContainer(
  pod: PodLike,
  reason: string,
  test: (sc: SecurityContext | undefined, c: Container) => { bad: boolean; field: string } | undefined,
  describe: (names: string) => string,
): Found | undefined {
  const names: string[] = [];
  const paths: string[] = [];
  for (const { container, path } of containersOf(pod)) {
    const result = test(container.securityContext, container);
    if (result?.bad) {
      names.push(container.name);
      paths.push(`${path}.${result.field}`);
    }
  }
  if (names.length === 0) return undefined;
  return { reason, detail: `${containerWord(names.length)} ${quoteList(names)} ${describe(names.join())}`, paths };
}

function isWindows(pod: PodLike): boolean {
  return pod.spec.os?.name === 'windows';
}

function inUserNamespace(pod: PodLike): boolean {
  return pod.spec.hostUsers === false;
}

// ---------------------------------------------------------------------------------------------
// baseline

const hostNamespaces: CheckFn = (pod) => {
  const set: string[] = [];
  for (const field of ['hostNetwork', 'hostPID', 'hostIPC'] as const) if (pod.spec[field] === true) set.push(field);
  if (set.length === 0) return undefined;
  return { reason: 'host namespaces', detail: set.map((f) => `${f}=true`).join(', '), paths: set.map((f) => `spec.${f}`) };
};

const privileged: CheckFn = (pod) =>
  perContainer(
    pod,
    'privileged',
    (sc) => ({ bad: sc?.privileged === true, field: 'securityContext.privileged' }),
    () => 'must not set securityContext.privileged=true',
  );

const BASELINE_CAPABILITIES = new Set([
  'AUDIT_WRITE',
  'CHOWN',
  'DAC_OVERRIDE',
  'FOWNER',
  'FSETID',
  'KILL',
  'MKNOD',
  'NET_BIND_SERVICE',
  'SETFCAP',
  'SETGID',
  'SETPCAP',
  'SETUID',
  'SYS_CHROOT',
]);

const capabilitiesBaseline: CheckFn = (pod) => {
  const forbidden = new Set<string>();
  const found = perContainer(
    pod,
    'non-default capabilities',
    (sc) => {
      const bad = (sc?.capabilities?.add ?? []).filter((c) => !BASELINE_CAPABILITIES.has(c));
      for (const c of bad) forbidden.add(c);
      return { bad: bad.length > 0, field: 'securityContext.capabilities.add' };
    },
    () => '',
  );
  if (found === undefined) return undefined;
  return { ...found, detail: `${found.detail}must not include ${quoteList([...forbidden].sort())} in securityContext.capabilities.add` };
};

const hostPathVolumes: CheckFn = (pod) => {
  const names: string[] = [];
  const paths: string[] = [];
  (pod.spec.volumes ?? []).forEach((v, i) => {
    if (v.hostPath !== undefined && v.hostPath !== null) {
      names.push(v.name);
      paths.push(`spec.volumes[${i}].hostPath`);
    }
  });
  if (names.length === 0) return undefined;
  return { reason: 'hostPath volumes', detail: `${names.length === 1 ? 'volume' : 'volumes'} ${quoteList(names)}`, paths };
};

const hostPorts: CheckFn = (pod) => {
  const ports = new Set<number>();
  const found = perContainer(
    pod,
    'hostPort',
    (_sc, c) => {
      const bad = (c.ports ?? []).filter((p) => (p.hostPort ?? 0) !== 0);
      for (const p of bad) ports.add(p.hostPort ?? 0);
      return { bad: bad.length > 0, field: 'ports' };
    },
    () => '',
  );
  if (found === undefined) return undefined;
  return { ...found, detail: `${found.detail}uses ${ports.size === 1 ? 'hostPort' : 'hostPorts'} ${[...ports].sort((a, b) => a - b).join(', ')}` };
};

const APPARMOR_ANNOTATION = 'container.apparmor.security.beta.kubernetes.io/';

function appArmorTypeAllowed(type: string | undefined): boolean {
  return type === undefined || type === 'RuntimeDefault' || type === 'Localhost';
}

const appArmorProfile: CheckFn = (pod) => {
  const bad: string[] = [];
  const paths: string[] = [];
  for (const [key, value] of Object.entries(pod.metadata?.annotations ?? {}).sort()) {
    if (!key.startsWith(APPARMOR_ANNOTATION)) continue;
    if (value === '' || value === 'runtime/default' || value.startsWith('localhost/')) continue;
    bad.push(`${key}="${value}"`);
    paths.push(`metadata.annotations["${key}"]`);
  }
  const podType = pod.spec.securityContext?.appArmorProfile?.type;
  if (!appArmorTypeAllowed(podType)) {
    bad.push(`pod must not set securityContext.appArmorProfile.type to "${podType}"`);
    paths.push('spec.securityContext.appArmorProfile.type');
  }
  for (const { container, path } of containersOf(pod)) {
    const type = container.securityContext?.appArmorProfile?.type;
    if (appArmorTypeAllowed(type)) continue;
    bad.push(`container "${container.name}" must not set securityContext.appArmorProfile.type to "${type}"`);
    paths.push(`${path}.securityContext.appArmorProfile.type`);
  }
  if (bad.length === 0) return undefined;
  return { reason: bad.length === 1 ? 'forbidden AppArmor profile' : 'forbidden AppArmor profiles', detail: bad.join(', '), paths };
};

function seLinuxOptions(allowedTypes: ReadonlySet<string>): CheckFn {
  return (pod) => {
    const bad: string[] = [];
    const paths: string[] = [];
    const inspect = (opts: { user?: string; role?: string; type?: string } | undefined, where: string, who: string): void => {
      if (opts === undefined) return;
      if (opts.type !== undefined && !allowedTypes.has(opts.type)) {
        bad.push(`${who} set forbidden securityContext.seLinuxOptions type "${opts.type}"`);
        paths.push(`${where}.seLinuxOptions.type`);
      }
      if (opts.user !== undefined && opts.user !== '') {
        bad.push(`${who} set forbidden securityContext.seLinuxOptions user "${opts.user}"`);
        paths.push(`${where}.seLinuxOptions.user`);
      }
      if (opts.role !== undefined && opts.role !== '') {
        bad.push(`${who} set forbidden securityContext.seLinuxOptions role "${opts.role}"`);
        paths.push(`${where}.seLinuxOptions.role`);
      }
    };
    inspect(pod.spec.securityContext?.seLinuxOptions, 'spec.securityContext', 'pod');
    for (const { container, path } of containersOf(pod)) {
      inspect(container.securityContext?.seLinuxOptions, `${path}.securityContext`, `container "${container.name}"`);
    }
    if (bad.length === 0) return undefined;
    return { reason: 'seLinuxOptions', detail: bad.join('; '), paths };
  };
}

const SELINUX_TYPES_1_0 = new Set(['', 'container_t', 'container_init_t', 'container_kvm_t']);
const SELINUX_TYPES_1_31 = new Set([...SELINUX_TYPES_1_0, 'container_engine_t']);

function procMountCheck(relaxForUserNamespaces: boolean): CheckFn {
  return (pod) => {
    if (relaxForUserNamespaces && inUserNamespace(pod)) return undefined;
    const types = new Set<string>();
    const found = perContainer(
      pod,
      'procMount',
      (sc) => {
        const bad = sc?.procMount !== undefined && sc.procMount !== 'Default';
        if (bad && sc?.procMount !== undefined) types.add(sc.procMount);
        return { bad, field: 'securityContext.procMount' };
      },
      () => '',
    );
    if (found === undefined) return undefined;
    return { ...found, detail: `${found.detail}must not set securityContext.procMount to ${quoteList([...types].sort())}` };
  };
}

const SECCOMP_POD_ANNOTATION = 'seccomp.security.alpha.kubernetes.io/pod';
const SECCOMP_CONTAINER_ANNOTATION = 'container.seccomp.security.alpha.kubernetes.io/';

const seccompBaselineAnnotations: CheckFn = (pod) => {
  const bad: string[] = [];
  const paths: string[] = [];
  for (const [key, value] of Object.entries(pod.metadata?.annotations ?? {}).sort()) {
    if ((key === SECCOMP_POD_ANNOTATION || key.startsWith(SECCOMP_CONTAINER_ANNOTATION)) && value === 'unconfined') {
      bad.push(`${key}="${value}"`);
      paths.push(`metadata.annotations["${key}"]`);
    }
  }
  if (bad.length === 0) return undefined;
  return { reason: 'seccompProfile', detail: `forbidden annotations ${bad.join(', ')}`, paths };
};

const seccompBaselineFields: CheckFn = (pod) => {
  const bad: string[] = [];
  const paths: string[] = [];
  if (pod.spec.securityContext?.seccompProfile?.type === 'Unconfined') {
    bad.push('pod must not set securityContext.seccompProfile.type to "Unconfined"');
    paths.push('spec.securityContext.seccompProfile.type');
  }
  for (const { container, path } of containersOf(pod)) {
    if (container.securityContext?.seccompProfile?.type !== 'Unconfined') continue;
    bad.push(`container "${container.name}" must not set securityContext.seccompProfile.type to "Unconfined"`);
    paths.push(`${path}.securityContext.seccompProfile.type`);
  }
  if (bad.length === 0) return undefined;
  return { reason: 'seccompProfile', detail: bad.join('; '), paths };
};

const SYSCTLS_1_0 = ['kernel.shm_rmid_forced', 'net.ipv4.ip_local_port_range', 'net.ipv4.tcp_syncookies', 'net.ipv4.ping_group_range', 'net.ipv4.ip_unprivileged_port_start'];
const SYSCTLS_1_27 = [...SYSCTLS_1_0, 'net.ipv4.ip_local_reserved_ports'];
const SYSCTLS_1_29 = [...SYSCTLS_1_27, 'net.ipv4.tcp_keepalive_time', 'net.ipv4.tcp_fin_timeout', 'net.ipv4.tcp_keepalive_intvl', 'net.ipv4.tcp_keepalive_probes'];
const SYSCTLS_1_32 = [...SYSCTLS_1_29, 'net.ipv4.tcp_rmem', 'net.ipv4.tcp_wmem'];
const SYSCTLS_1_37 = [...SYSCTLS_1_32, 'net.ipv4.tcp_slow_start_after_idle', 'net.ipv4.tcp_notsent_lowat'];

function sysctls(allowed: readonly string[]): CheckFn {
  const set = new Set(allowed);
  return (pod) => {
    const bad: string[] = [];
    const paths: string[] = [];
    (pod.spec.securityContext?.sysctls ?? []).forEach((s, i) => {
      if (set.has(s.name)) return;
      bad.push(s.name);
      paths.push(`spec.securityContext.sysctls[${i}].name`);
    });
    if (bad.length === 0) return undefined;
    return { reason: 'forbidden sysctls', detail: bad.join(', '), paths };
  };
}

const windowsHostProcess: CheckFn = (pod) => {
  const paths: string[] = [];
  if (pod.spec.securityContext?.windowsOptions?.hostProcess === true) paths.push('spec.securityContext.windowsOptions.hostProcess');
  const names: string[] = [];
  for (const { container, path } of containersOf(pod)) {
    if (container.securityContext?.windowsOptions?.hostProcess !== true) continue;
    names.push(container.name);
    paths.push(`${path}.securityContext.windowsOptions.hostProcess`);
  }
  if (paths.length === 0) return undefined;
  const parts: string[] = [];
  if (pod.spec.securityContext?.windowsOptions?.hostProcess === true) parts.push('pod');
  if (names.length > 0) parts.push(`${containerWord(names.length)} ${quoteList(names)}`);
  return { reason: 'hostProcess', detail: `${parts.join(' and ')} must not set securityContext.windowsOptions.hostProcess=true`, paths };
};

const HANDLERS = ['livenessProbe', 'readinessProbe', 'startupProbe'] as const;

const hostProbesAndHostLifecycle: CheckFn = (pod) => {
  const bad: string[] = [];
  const paths: string[] = [];
  const inspect = (handler: Handler | undefined, where: string, name: string): void => {
    if (handler === undefined) return;
    for (const kind of ['httpGet', 'tcpSocket'] as const) {
      const host = handler[kind]?.host;
      if (host === undefined || host === '') continue;
      bad.push(`container "${name}" uses host "${host}" in ${where.split('.').slice(-1)[0] ?? where}`);
      paths.push(`${where}.${kind}.host`);
    }
  };
  for (const { container, path } of containersOf(pod)) {
    for (const probe of HANDLERS) inspect(container[probe], `${path}.${probe}`, container.name);
    inspect(container.lifecycle?.postStart, `${path}.lifecycle.postStart`, container.name);
    inspect(container.lifecycle?.preStop, `${path}.lifecycle.preStop`, container.name);
  }
  if (bad.length === 0) return undefined;
  return { reason: 'probe or lifecycle host', detail: bad.join('; '), paths };
};

// ---------------------------------------------------------------------------------------------
// restricted

const ALLOWED_VOLUME_SOURCES = new Set(['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret']);

const restrictedVolumes: CheckFn = (pod) => {
  const bad: string[] = [];
  const types = new Set<string>();
  const paths: string[] = [];
  (pod.spec.volumes ?? []).forEach((volume, i) => {
    for (const [key, value] of Object.entries(volume)) {
      if (key === 'name' || value === undefined || value === null || ALLOWED_VOLUME_SOURCES.has(key)) continue;
      bad.push(volume.name);
      types.add(key);
      paths.push(`spec.volumes[${i}].${key}`);
    }
  });
  if (bad.length === 0) return undefined;
  return {
    reason: 'restricted volume types',
    detail: `${bad.length === 1 ? 'volume' : 'volumes'} ${quoteList(bad)} ${bad.length === 1 ? 'uses' : 'use'} restricted volume ${types.size === 1 ? 'type' : 'types'} ${quoteList([...types].sort())}`,
    paths,
  };
};

function allowPrivilegeEscalation(skipWindows: boolean): CheckFn {
  return (pod) => {
    if (skipWindows && isWindows(pod)) return undefined;
    return perContainer(
      pod,
      'allowPrivilegeEscalation != false',
      (sc) => ({ bad: sc?.allowPrivilegeEscalation !== false, field: 'securityContext.allowPrivilegeEscalation' }),
      () => 'must set securityContext.allowPrivilegeEscalation=false',
    );
  };
}

function runAsNonRoot(relaxForUserNamespaces: boolean): CheckFn {
  return (pod) => {
    if (relaxForUserNamespaces && inUserNamespace(pod)) return undefined;
    const podValue = pod.spec.securityContext?.runAsNonRoot;
    const explicit: string[] = [];
    const implicit: string[] = [];
    const paths: string[] = [];
    let podBad = false;
    if (podValue === false) {
      podBad = true;
      paths.push('spec.securityContext.runAsNonRoot');
    }
    for (const { container, path } of containersOf(pod)) {
      const value = container.securityContext?.runAsNonRoot;
      if (value === false) {
        explicit.push(container.name);
        paths.push(`${path}.securityContext.runAsNonRoot`);
      } else if (value === undefined && podValue !== true) {
        implicit.push(container.name);
        paths.push(`${path}.securityContext.runAsNonRoot`);
      }
    }
    if (!podBad && explicit.length === 0 && implicit.length === 0) return undefined;
    const parts: string[] = [];
    if (podBad) parts.push('pod must not set securityContext.runAsNonRoot=false');
    if (explicit.length > 0) parts.push(`${containerWord(explicit.length)} ${quoteList(explicit)} must not set securityContext.runAsNonRoot=false`);
    if (implicit.length > 0) {
      parts.push(`pod or ${containerWord(implicit.length)} ${quoteList(implicit)} must set securityContext.runAsNonRoot=true`);
    }
    return { reason: 'runAsNonRoot != true', detail: parts.join('; '), paths };
  };
}

function runAsUser(relaxForUserNamespaces: boolean): CheckFn {
  return (pod) => {
    if (relaxForUserNamespaces && inUserNamespace(pod)) return undefined;
    const parts: string[] = [];
    const paths: string[] = [];
    if (pod.spec.securityContext?.runAsUser === 0) {
      parts.push('pod must not set runAsUser=0');
      paths.push('spec.securityContext.runAsUser');
    }
    const found = perContainer(
      pod,
      'runAsUser=0',
      (sc) => ({ bad: sc?.runAsUser === 0, field: 'securityContext.runAsUser' }),
      () => 'must not set runAsUser=0',
    );
    if (found !== undefined) {
      parts.push(found.detail);
      paths.push(...found.paths);
    }
    if (paths.length === 0) return undefined;
    return { reason: 'runAsUser=0', detail: parts.join(' and '), paths };
  };
}

function seccompRestricted(skipWindows: boolean): CheckFn {
  const valid = (type: string | undefined): boolean => type === 'RuntimeDefault' || type === 'Localhost';
  return (pod) => {
    if (skipWindows && isWindows(pod)) return undefined;
    const podType = pod.spec.securityContext?.seccompProfile?.type;
    const parts: string[] = [];
    const paths: string[] = [];
    if (podType !== undefined && !valid(podType)) {
      parts.push(`pod must not set securityContext.seccompProfile.type to "${podType}"`);
      paths.push('spec.securityContext.seccompProfile.type');
    }
    const explicit: string[] = [];
    const implicit: string[] = [];
    for (const { container, path } of containersOf(pod)) {
      const type = container.securityContext?.seccompProfile?.type;
      if (type !== undefined) {
        if (!valid(type)) {
          explicit.push(container.name);
          paths.push(`${path}.securityContext.seccompProfile.type`);
        }
      } else if (!valid(podType)) {
        implicit.push(container.name);
        paths.push(`${path}.securityContext.seccompProfile.type`);
      }
    }
    if (explicit.length > 0) parts.push(`${containerWord(explicit.length)} ${quoteList(explicit)} must not set securityContext.seccompProfile.type to "Unconfined"`);
    if (implicit.length > 0) {
      parts.push(`pod or ${containerWord(implicit.length)} ${quoteList(implicit)} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"`);
    }
    if (paths.length === 0) return undefined;
    return { reason: 'seccompProfile', detail: parts.join('; '), paths };
  };
}

function capabilitiesRestricted(skipWindows: boolean): CheckFn {
  return (pod) => {
    if (skipWindows && isWindows(pod)) return undefined;
    const noDrop: string[] = [];
    const added = new Set<string>();
    const addNames: string[] = [];
    const paths: string[] = [];
    for (const { container, path } of containersOf(pod)) {
      const caps = container.securityContext?.capabilities;
      if (!(caps?.drop ?? []).includes('ALL')) {
        noDrop.push(container.name);
        paths.push(`${path}.securityContext.capabilities.drop`);
      }
      const bad = (caps?.add ?? []).filter((c) => c !== 'NET_BIND_SERVICE');
      if (bad.length > 0) {
        addNames.push(container.name);
        for (const c of bad) added.add(c);
        paths.push(`${path}.securityContext.capabilities.add`);
      }
    }
    if (paths.length === 0) return undefined;
    const parts: string[] = [];
    if (noDrop.length > 0) parts.push(`${containerWord(noDrop.length)} ${quoteList(noDrop)} must set securityContext.capabilities.drop=["ALL"]`);
    if (addNames.length > 0) {
      parts.push(`${containerWord(addNames.length)} ${quoteList(addNames)} must not include ${quoteList([...added].sort())} in securityContext.capabilities.add`);
    }
    return { reason: 'unrestricted capabilities', detail: parts.join('; '), paths };
  };
}

// ---------------------------------------------------------------------------------------------
// the registry: one entry per check id, the compiler demands them all

const IMPLEMENTATIONS: Record<PssCheckId, readonly VersionedCheck[]> = {
  hostNamespaces: [{ since: 0, check: hostNamespaces }],
  privileged: [{ since: 0, check: privileged }],
  capabilities_baseline: [{ since: 0, check: capabilitiesBaseline }],
  hostPathVolumes: [{ since: 0, check: hostPathVolumes }],
  hostPorts: [{ since: 0, check: hostPorts }],
  appArmorProfile: [{ since: 0, check: appArmorProfile }],
  seLinuxOptions: [
    { since: 0, check: seLinuxOptions(SELINUX_TYPES_1_0) },
    { since: 31, check: seLinuxOptions(SELINUX_TYPES_1_31) },
  ],
  procMount: [
    { since: 0, check: procMountCheck(false) },
    { since: 35, check: procMountCheck(true) },
  ],
  seccompProfile_baseline: [
    { since: 0, check: seccompBaselineAnnotations },
    { since: 19, check: seccompBaselineFields },
  ],
  sysctls: [
    { since: 0, check: sysctls(SYSCTLS_1_0) },
    { since: 27, check: sysctls(SYSCTLS_1_27) },
    { since: 29, check: sysctls(SYSCTLS_1_29) },
    { since: 32, check: sysctls(SYSCTLS_1_32) },
    { since: 37, check: sysctls(SYSCTLS_1_37) },
  ],
  windowsHostProcess: [{ since: 0, check: windowsHostProcess }],
  hostProbesAndHostLifecycle: [{ since: 34, check: hostProbesAndHostLifecycle }],
  restrictedVolumes: [{ since: 0, check: restrictedVolumes }],
  allowPrivilegeEscalation: [
    { since: 8, check: allowPrivilegeEscalation(false) },
    { since: 25, check: allowPrivilegeEscalation(true) },
  ],
  runAsNonRoot: [
    { since: 0, check: runAsNonRoot(false) },
    { since: 35, check: runAsNonRoot(true) },
  ],
  runAsUser: [
    { since: 23, check: runAsUser(false) },
    { since: 35, check: runAsUser(true) },
  ],
  seccompProfile_restricted: [
    { since: 19, check: seccompRestricted(false) },
    { since: 25, check: seccompRestricted(true) },
  ],
  capabilities_restricted: [
    { since: 22, check: capabilitiesRestricted(false) },
    { since: 25, check: capabilitiesRestricted(true) },
  ],
  procMount_restricted: [{ since: 35, check: procMountCheck(false) }],
};

// ---------------------------------------------------------------------------------------------
// metadata (checks.yaml)

const PssCheckMetaSchema = z.object({
  id: z.enum(PSS_CHECK_IDS),
  level: z.enum(['baseline', 'restricted']),
  title: z.string().min(1),
  remediation: z.string().min(1),
});
export type PssCheckMeta = z.infer<typeof PssCheckMetaSchema>;

let metaCache: Map<PssCheckId, PssCheckMeta> | undefined;

/** Titles, levels and remediation of the checks, read once from checks.yaml. */
export function pssCheckMeta(): Map<PssCheckId, PssCheckMeta> {
  if (metaCache !== undefined) return metaCache;
  const parsed = z
    .object({ checks: z.array(PssCheckMetaSchema) })
    .parse(parseYaml(readFileSync(new URL('./checks.yaml', import.meta.url), 'utf8')));
  const map = new Map(parsed.checks.map((c) => [c.id, c]));
  for (const id of PSS_CHECK_IDS) {
    if (!map.has(id)) throw new AppError('INTERNAL', `pss/checks.yaml has no entry for check ${id}`);
  }
  metaCache = map;
  return map;
}

// ---------------------------------------------------------------------------------------------
// evaluation

/** Parses "v1.25", "1.25" or "latest" into the minor version. */
export function parsePssVersion(version: string): number {
  if (version === 'latest') return LATEST_PSS_MINOR;
  const m = /^v?1\.(\d+)$/.exec(version);
  if (m === null) throw new AppError('BAD_INPUT', `unknown Pod Security Standards version "${version}": use "latest" or v1.0 … v1.${LATEST_PSS_MINOR}`);
  return Math.min(Number(m[1]), LATEST_PSS_MINOR);
}

/** Every policy version: ['v1.0', …, 'v1.37']. */
export function pssVersions(): string[] {
  return Array.from({ length: LATEST_PSS_MINOR + 1 }, (_, i) => `v1.${i}`);
}

function implementationFor(id: PssCheckId, minor: number): CheckFn | undefined {
  let chosen: CheckFn | undefined;
  for (const impl of IMPLEMENTATIONS[id]) if (impl.since <= minor) chosen = impl.check;
  return chosen;
}

/**
 * Evaluates a pod (or pod template) against a Pod Security Standards level at a policy version
 * and returns the violated checks, in check order, with field paths and messages. Empty means
 * allowed. `privileged` allows everything.
 */
export function evaluatePodSecurity(pod: PodLike, level: PssLevel, version: string = 'latest'): PssViolation[] {
  if (level === 'privileged') return [];
  const minor = parsePssVersion(version);
  const meta = pssCheckMeta();
  const out: PssViolation[] = [];
  for (const id of PSS_CHECK_IDS) {
    const checkLevel = meta.get(id)?.level ?? 'baseline';
    if (level === 'baseline' && checkLevel === 'restricted') continue;
    const check = implementationFor(id, minor);
    const found = check?.(pod);
    if (found === undefined) continue;
    out.push({ check: id, level: checkLevel, reason: found.reason, message: `${found.reason} (${found.detail})`, paths: found.paths });
  }
  return out;
}

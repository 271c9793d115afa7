import { describe, expect, it } from 'vitest';
import { KIND_SCHEMAS } from '../model.js';
import { evaluatePodSecurity, parsePssVersion, pssVersions } from './evaluate.js';

function pod(spec: unknown, annotations?: Record<string, string>) {
  return KIND_SCHEMAS.Pod.parse({ kind: 'Pod', metadata: { name: 'p', annotations }, spec });
}

const restrictedOk = {
  securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
  containers: [{ name: 'app', image: 'nginx', securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } }],
};

describe('evaluatePodSecurity', () => {
  it.each([
    ['a hardened pod', restrictedOk, 'restricted', 'latest', []],
    [
      'a privileged container on the host network',
      { hostNetwork: true, containers: [{ name: 'app', securityContext: { privileged: true } }] },
      'baseline',
      'latest',
      [
        ['hostNamespaces', 'host namespaces (hostNetwork=true)', ['spec.hostNetwork']],
        ['privileged', 'privileged (container "app" must not set securityContext.privileged=true)', ['spec.containers[0].securityContext.privileged']],
      ],
    ],
    [
      'SYS_ADMIN and an unsafe sysctl',
      { securityContext: { sysctls: [{ name: 'kernel.msgmax', value: '65536' }] }, containers: [{ name: 'app', securityContext: { capabilities: { add: ['SYS_ADMIN', 'CHOWN'] } } }] },
      'baseline',
      'v1.24',
      [
        ['capabilities_baseline', 'non-default capabilities (container "app" must not include "SYS_ADMIN" in securityContext.capabilities.add)', ['spec.containers[0].securityContext.capabilities.add']],
        ['sysctls', 'forbidden sysctls (kernel.msgmax)', ['spec.securityContext.sysctls[0].name']],
      ],
    ],
    [
      'a root init container and a hostPath volume at restricted',
      { ...restrictedOk, initContainers: [{ name: 'init', securityContext: { runAsUser: 0, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } }], volumes: [{ name: 'root', hostPath: { path: '/' } }] },
      'restricted',
      'v1.30',
      [
        ['hostPathVolumes', 'hostPath volumes (volume "root")', ['spec.volumes[0].hostPath']],
        ['restrictedVolumes', 'restricted volume types (volume "root" uses restricted volume type "hostPath")', ['spec.volumes[0].hostPath']],
        ['runAsUser', 'runAsUser=0 (container "init" must not set runAsUser=0)', ['spec.initContainers[0].securityContext.runAsUser']],
      ],
    ],
  ])('%s at %s %s', (_name, spec, level, version, expected) => {
    const violations = evaluatePodSecurity(pod(spec), level === 'restricted' ? 'restricted' : 'baseline', version);
    expect(violations.map((v) => [v.check, v.message, v.paths])).toEqual(expected);
  });

  it('reads annotations from the pod metadata', () => {
    const violations = evaluatePodSecurity(pod({ containers: [{ name: 'app' }] }, { 'container.apparmor.security.beta.kubernetes.io/app': 'unconfined' }), 'baseline', 'v1.0');
    expect(violations.map((v) => v.message)).toEqual(['forbidden AppArmor profile (container.apparmor.security.beta.kubernetes.io/app="unconfined")']);
  });

  it('the privileged level allows everything', () => {
    expect(evaluatePodSecurity(pod({ hostPID: true, containers: [{ name: 'a', securityContext: { privileged: true } }] }), 'privileged')).toEqual([]);
  });

  it('knows v1.0 … v1.37 and refuses other versions with a hint', () => {
    expect(pssVersions()).toHaveLength(38);
    expect(parsePssVersion('latest')).toBe(37);
    expect(parsePssVersion('v1.99')).toBe(37);
    expect(() => parsePssVersion('2.0')).toThrow('unknown Pod Security Standards version "2.0": use "latest" or v1.0 … v1.37');
  });
});

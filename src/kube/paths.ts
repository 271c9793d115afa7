import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { severityRank, SEVERITIES, type Severity } from '../core/index.js';
import type { ImageFinding } from './findings.js';
import type { Exposure, KubeGraph, PodView } from './graph.js';

/**
 * Attack paths computed from the graph: chains of nodes and edges from the internet to what an
 * attacker gains. Four kinds (paths.yaml): an exposed pod with a network-exploitable High/Critical
 * vulnerability, the same on the host network, an exposed pod whose service account can read
 * secrets / create pods / bind roles, and a privileged or hostPath pod reachable from the internet.
 */

export const PATH_TYPES = ['exposed-vulnerable-pod', 'exposed-vulnerable-host-network-pod', 'exposed-pod-risky-service-account', 'exposed-node-takeover'] as const;
export type PathType = (typeof PATH_TYPES)[number];

export type PathNode = { id: string; kind: string; label: string };
export type PathEdge = { from: string; to: string; type: string };

export interface AttackPath {
  type: PathType;
  title: string;
  severity: Severity;
  cluster: string;
  /** The workload the path runs through: "Deployment/shop/web". */
  resource: string;
  nodes: PathNode[];
  edges: PathEdge[];
  /** Why this path exists, in one line (the vulnerabilities, permissions or settings). */
  evidence: string;
  remediation: string;
}

const PathSpecSchema = z.object({ type: z.enum(PATH_TYPES), title: z.string(), severity: z.enum(SEVERITIES), remediation: z.string() });
type PathSpec = z.infer<typeof PathSpecSchema>;
let specs: Map<PathType, PathSpec> | undefined;
function pathSpecs(): Map<PathType, PathSpec> {
  if (specs === undefined) {
    const parsed = z.object({ paths: z.array(PathSpecSchema) }).parse(parseYaml(readFileSync(new URL('./paths.yaml', import.meta.url), 'utf8')));
    specs = new Map(parsed.paths.map((p) => [p.type, p]));
  }
  return specs;
}

const INTERNET: PathNode = { id: 'internet', kind: 'internet', label: 'Internet' };

function exposureNodes(pod: PodView, exposure: Exposure): { nodes: PathNode[]; edges: PathEdge[] } {
  const viaId = `${pod.cluster}/${exposure.via}`;
  if (exposure.type === 'hostNetwork' || exposure.type === 'hostPort') {
    const node: PathNode = { id: `${pod.cluster}/Node/${pod.node || '*'}`, kind: 'node', label: `node ${pod.node || '(any)'} (${exposure.type})` };
    return { nodes: [node], edges: [{ from: INTERNET.id, to: node.id, type: 'reaches' }, { from: node.id, to: pod.id, type: exposure.type === 'hostNetwork' ? 'shares-network' : 'forwards-host-port' }] };
  }
  const node: PathNode = { id: viaId, kind: exposure.type === 'Ingress' ? 'ingress' : 'service', label: `${exposure.via} (${exposure.type})` };
  return { nodes: [node], edges: [{ from: INTERNET.id, to: node.id, type: 'reaches' }, { from: node.id, to: pod.id, type: 'routes-to' }] };
}

function podNode(pod: PodView): PathNode {
  return { id: pod.id, kind: 'pod', label: pod.owner };
}

function isSeriousNetworkFinding(f: ImageFinding): boolean {
  return f.network && (f.severity === 'critical' || f.severity === 'high');
}

function firstInternetExposure(pod: PodView): Exposure | undefined {
  const order: Exposure['type'][] = ['Ingress', 'LoadBalancer', 'NodePort', 'hostNetwork', 'hostPort'];
  return [...pod.exposures].filter((e) => e.internet).sort((a, b) => order.indexOf(a.type) - order.indexOf(b.type) || (a.via < b.via ? -1 : 1))[0];
}

export function computeAttackPaths(graph: KubeGraph): AttackPath[] {
  const meta = pathSpecs();
  const out = new Map<string, AttackPath>();
  const add = (type: PathType, pod: PodView, nodes: PathNode[], edges: PathEdge[], evidence: string): void => {
    const key = `${type}\u0000${pod.cluster}\u0000${pod.owner}`;
    if (out.has(key)) return;
    const spec = meta.get(type);
    out.set(key, {
      type,
      title: spec?.title ?? type,
      severity: spec?.severity ?? 'high',
      cluster: pod.cluster,
      resource: pod.owner,
      nodes,
      edges,
      evidence,
      remediation: spec?.remediation ?? '',
    });
  };

  for (const pod of graph.pods) {
    const exposure = firstInternetExposure(pod);
    if (exposure === undefined) continue;
    const head = exposureNodes(pod, exposure);
    const base = [INTERNET, ...head.nodes, podNode(pod)];

    // 1 and 2: vulnerable image
    for (const container of pod.containers) {
      const bad = container.imageRef.findings.filter(isSeriousNetworkFinding).sort((a, b) => severityRank(b.severity) - severityRank(a.severity) || (a.id < b.id ? -1 : 1));
      if (bad.length === 0) continue;
      const cNode: PathNode = { id: container.id, kind: 'container', label: `container ${container.name}` };
      const iNode: PathNode = { id: container.imageRef.id, kind: 'image', label: container.imageRef.ref.includes('@') || !container.imageRef.digest ? container.imageRef.ref : `${container.imageRef.ref}@${container.imageRef.digest}` };
      const vNodes: PathNode[] = bad.map((f) => ({ id: `vulnerability/${f.id}`, kind: 'vulnerability', label: `${f.id} (${f.severity}, ${f.package} ${f.installed})` }));
      const nodes = [...base, cNode, iNode, ...vNodes];
      const edges = [...head.edges, { from: pod.id, to: cNode.id, type: 'runs' }, { from: cNode.id, to: iNode.id, type: 'uses-image' }, ...vNodes.map((v) => ({ from: iNode.id, to: v.id, type: 'has-vulnerability' }))];
      const evidence = bad.map((f) => `${f.id} ${f.severity} ${f.vector}`).join('; ');
      add('exposed-vulnerable-pod', pod, nodes, edges, evidence);
      if (pod.hostNetwork) add('exposed-vulnerable-host-network-pod', pod, nodes, edges, evidence);
    }

    // 3: risky service account (only when its token is mounted)
    const sa = pod.serviceAccount;
    const powers: string[] = [];
    if (sa.readSecrets) powers.push(sa.readSecretsClusterWide ? 'read secrets cluster-wide' : 'read secrets');
    if (sa.createPods) powers.push('create pods');
    if (sa.exec) powers.push('exec into pods');
    if (sa.bind || sa.escalate) powers.push('bind or escalate roles');
    if (sa.impersonate) powers.push('impersonate');
    if (sa.clusterAdmin) powers.unshift('cluster-admin');
    if (powers.length > 0 && pod.automountToken) {
      const saNode: PathNode = { id: `${pod.cluster}/ServiceAccount/${sa.namespace}/${sa.name}`, kind: 'serviceAccount', label: `ServiceAccount ${sa.namespace}/${sa.name}` };
      const bindingNodes: PathNode[] = sa.bindings.map((b) => ({ id: `${pod.cluster}/${b}`, kind: 'binding', label: b }));
      const roleNodes: PathNode[] = sa.roles.map((r) => ({ id: `${pod.cluster}/${r}`, kind: 'role', label: r }));
      const edges: PathEdge[] = [...head.edges, { from: pod.id, to: saNode.id, type: 'uses-service-account' }];
      for (const b of bindingNodes) edges.push({ from: saNode.id, to: b.id, type: 'bound-by' });
      const grantsByBinding = new Map<string, string>();
      for (const sv of graph.serviceAccounts) {
        if (sv.cluster !== pod.cluster || sv.namespace !== sa.namespace || sv.name !== sa.name) continue;
        for (const g of sv.grants) grantsByBinding.set(`${pod.cluster}/${g.binding}`, `${pod.cluster}/${g.role}`);
      }
      for (const [b, r] of [...grantsByBinding].sort()) edges.push({ from: b, to: r, type: 'grants' });
      add('exposed-pod-risky-service-account', pod, [...base, saNode, ...bindingNodes, ...roleNodes], edges, `service account can ${powers.join(', ')}`);
    }

    // 4: node takeover
    const reasons: string[] = [];
    if (pod.privileged) reasons.push('privileged container');
    if (pod.hostPathVolumes.length > 0) reasons.push(`hostPath ${pod.hostPathVolumes.join(', ')}`);
    if (pod.hostPID) reasons.push('hostPID');
    if (reasons.length > 0) {
      const hostNode: PathNode = { id: `${pod.cluster}/Node/${pod.node || '*'}/host`, kind: 'host', label: `host of node ${pod.node || '(any)'}` };
      add('exposed-node-takeover', pod, [...base, hostNode], [...head.edges, { from: pod.id, to: hostNode.id, type: 'controls' }], reasons.join('; '));
    }
  }
  return [...out.values()].sort(
    (a, b) => severityRank(b.severity) - severityRank(a.severity) || PATH_TYPES.indexOf(a.type) - PATH_TYPES.indexOf(b.type) || (a.cluster + a.resource < b.cluster + b.resource ? -1 : 1),
  );
}

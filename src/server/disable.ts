import { severityRank, type Finding } from '../core/index.js';
import type { DisableRule } from '../store/index.js';

/**
 * Disable rules hide findings from lists, counts, events and the gate. They never delete: every
 * finding stays stored and comes back marked with the rule that hides it. A rule matches when every
 * criterion it sets matches; expired and revoked rules match nothing.
 */
export interface MarkedFinding extends Finding {
  firstSeenAt: string;
  disabledBy?: { ruleId: string; name: string; justification: string; author: string; expiresAt?: string };
}

export function ruleActive(rule: DisableRule, now: Date): boolean {
  if (rule.revokedAt) return false;
  return rule.expiresAt === undefined || Date.parse(rule.expiresAt) > now.getTime();
}

export function ruleMatches(rule: DisableRule, finding: Finding, image: { digest: string; repository: string; registry: string }): boolean {
  const c = rule.criteria;
  if (c.cves && !c.cves.some((id) => id === finding.advisoryId || finding.aliases.includes(id))) return false;
  if (c.digests && !c.digests.includes(image.digest)) return false;
  if (c.repositories && !c.repositories.some((r) => r === image.repository || r === `${image.registry}/${image.repository}`)) return false;
  if (c.osReleases && !c.osReleases.includes(finding.namespace)) return false;
  if (c.severityBelow && !(severityRank(finding.severity) < severityRank(c.severityBelow))) return false;
  if (c.fixStates && !c.fixStates.includes(finding.fixState)) return false;
  return true;
}

export function markFindings(
  findings: readonly { finding: Finding; firstSeenAt: string }[],
  image: { digest: string; repository: string; registry: string },
  rules: readonly DisableRule[],
  now: Date,
): MarkedFinding[] {
  const active = rules.filter((r) => ruleActive(r, now));
  return findings.map(({ finding, firstSeenAt }) => {
    const rule = active.find((r) => ruleMatches(r, finding, image));
    const marked: MarkedFinding = { ...finding, firstSeenAt };
    if (rule) {
      marked.disabledBy = { ruleId: rule.id, name: rule.name, justification: rule.justification, author: rule.author };
      if (rule.expiresAt) marked.disabledBy.expiresAt = rule.expiresAt;
    }
    return marked;
  });
}

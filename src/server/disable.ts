import type { Finding } from '../core/index.js';
import type { DisableRule } from '../store/index.js';
import { hidingRule, ruleActive, ruleMatches } from '../store/store.js';

/**
 * Disable rules hide findings from lists, counts, events and the gate. They never delete: every
 * finding stays stored and comes back marked with the rule that hides it. A rule matches when every
 * criterion it sets matches; expired and revoked rules match nothing. The store keeps the marks on
 * stored findings (so lists and counts reflect them); this marks findings as read, at this second.
 */
export { ruleActive, ruleMatches };

export interface MarkedFinding extends Finding {
  firstSeenAt: string;
  disabledBy?: { ruleId: string; name: string; justification: string; author: string; expiresAt?: string };
}

export function markFindings(
  findings: readonly { finding: Finding; firstSeenAt: string }[],
  image: { digest: string; repository: string; registry: string },
  rules: readonly DisableRule[],
  now: Date,
): MarkedFinding[] {
  const active = rules.filter((r) => ruleActive(r, now));
  return findings.map(({ finding, firstSeenAt }) => {
    const rule = hidingRule(active, finding, image);
    const marked: MarkedFinding = { ...finding, firstSeenAt };
    if (rule) {
      marked.disabledBy = { ruleId: rule.id, name: rule.name, justification: rule.justification, author: rule.author };
      if (rule.expiresAt) marked.disabledBy.expiresAt = rule.expiresAt;
    }
    return marked;
  });
}

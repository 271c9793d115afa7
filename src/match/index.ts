export { createMatcher, compareFindings, evaluateRecord } from './matcher.js';
export { groupByVulnerability, isCveId, type MatchedRecord, type VulnerabilityGroup } from './dedup.js';
export { lookupFor, type Lookup } from './lookup.js';
export { chooseCvss, chooseSeverity, severityFromScore } from './severity.js';
export type { Matcher, MatcherDeps, MatchResult, UnmatchedPackage, UnmatchedReason } from './types.js';

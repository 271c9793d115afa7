import { describe, expect, it } from 'vitest';
import type { Finding } from '../core/index.js';
import type { DisableRule } from '../store/index.js';
import { markFindings, ruleActive, ruleMatches } from './disable.js';

const finding: Finding = {
  advisoryId: 'CVE-2024-5535',
  aliases: ['DSA-5764-1'],
  package: { type: 'deb', name: 'libssl3', version: '3.0.11-1~deb12u2', purl: 'pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12', locations: [] },
  installedVersion: '3.0.11-1~deb12u2',
  fixedVersions: ['3.0.15-1~deb12u1'],
  fixState: 'fixed',
  severity: 'critical',
  severitySource: 'cvss',
  dataSource: 'osv:Debian',
  namespace: 'debian:12',
};
const image = { digest: `sha256:${'c'.repeat(64)}`, registry: 'registry.example.com', repository: 'shop/api' };

function rule(criteria: DisableRule['criteria'], extra: Partial<DisableRule> = {}): DisableRule {
  return { id: 'r1', name: 'rule', criteria, justification: 'accepted', author: 'alice', createdAt: '2026-01-01T00:00:00.000Z', ...extra };
}

describe('disable rules', () => {
  it.each([
    ['CVE id', { cves: ['CVE-2024-5535'] }, true],
    ['alias', { cves: ['DSA-5764-1'] }, true],
    ['other CVE', { cves: ['CVE-2024-0727'] }, false],
    ['digest', { digests: [image.digest] }, true],
    ['repository', { repositories: ['shop/api'] }, true],
    ['registry/repository', { repositories: ['registry.example.com/shop/api'] }, true],
    ['other repository', { repositories: ['shop/web'] }, false],
    ['OS release', { osReleases: ['debian:12'] }, true],
    ['other OS release', { osReleases: ['alpine:3.19'] }, false],
    ['severity below high (finding is critical)', { severityBelow: 'high' as const }, false],
    ['fix state unfixed (finding is fixed)', { fixStates: ['unfixed' as const] }, false],
    ['all criteria must match', { cves: ['CVE-2024-5535'], repositories: ['shop/web'] }, false],
  ])('matches by %s', (_name, criteria, expected) => {
    expect(ruleMatches(rule(criteria), finding, image)).toBe(expected);
  });

  it.each([
    ['no expiry', {}, true],
    ['expires later', { expiresAt: '2026-06-01T00:00:00.000Z' }, true],
    ['expired', { expiresAt: '2026-04-30T23:59:59.000Z' }, false],
    ['revoked', { revokedAt: '2026-02-01T00:00:00.000Z', revokedBy: 'bob' }, false],
  ])('is active when %s', (_name, extra, expected) => {
    expect(ruleActive(rule({ cves: ['CVE-2024-5535'] }, extra), new Date('2026-05-01T00:00:00Z'))).toBe(expected);
  });

  it('marks, never drops, hidden findings', () => {
    const marked = markFindings([{ finding, firstSeenAt: '2026-01-02T00:00:00.000Z' }], image, [rule({ osReleases: ['debian:12'] }, { expiresAt: '2026-06-01T00:00:00.000Z' })], new Date('2026-05-01T00:00:00Z'));
    expect(marked).toHaveLength(1);
    expect(marked[0]?.disabledBy).toEqual({ ruleId: 'r1', name: 'rule', justification: 'accepted', author: 'alice', expiresAt: '2026-06-01T00:00:00.000Z' });
  });
});

import type { Distro, Finding, FixState, Package, Severity } from '../core/index.js';
import type { Alert, AlertSeverity, AlertSource, AlertStatus } from '../threat/alert.js';
import type { AdmissionBatch, AdmissionBatchResult, AdmissionViolationFilter, StoredAdmissionViolation } from './admission.js';
import type { Dialect } from './driver.js';

/** What the server keeps: images and their package lists, findings, scan history, the job queue, running digests, disable rules, usage. */
export type ImageStatus = 'pending' | 'done' | 'failed';
export type JobKind = 'scan' | 'rematch';
export type JobState = 'queued' | 'running' | 'done' | 'failed';
export type ScanKind = 'pull' | 'rematch';

export interface SeverityCounts {
  critical: number;
  high: number;
  medium: number;
  low: number;
  other: number;
}

export interface ImageRecord {
  digest: string;
  registry: string;
  repository: string;
  tags: string[];
  firstSeenAt: string;
  pushedAt?: string;
  pulledAt?: string;
  status: ImageStatus;
  error?: string;
  distro?: string;
  platform?: string;
  packageCount: number;
  scannedAt?: string;
  evaluatedAt?: string;
  /** Findings by severity: those no disable rule hides, or all of them when read with `includeDisabled`. */
  counts: SeverityCounts;
  /** Findings with a fixed version, counted the same way. */
  fixable: number;
  /** Findings hidden by disable rules (stored and marked, never deleted). */
  disabled: number;
  running: boolean;
}

export interface StoredFinding {
  finding: Finding;
  firstSeenAt: string;
  /** Id of the disable rule that hides it, as the store last applied the rules. */
  disabledBy?: string;
}

export interface ScanRecord {
  id: string;
  digest: string;
  kind: ScanKind;
  status: 'done' | 'failed';
  worker: string;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  findings: number;
  dbBuiltAt?: string;
  error?: string;
}

export interface Job {
  id: string;
  kind: JobKind;
  digest: string;
  registry: string;
  repository: string;
  forcePull: boolean;
  state: JobState;
  attempts: number;
  leaseOwner?: string;
  leaseUntil?: string;
  createdAt: string;
  lastError?: string;
}

export interface JobRequest {
  kind: JobKind;
  digest: string;
  registry: string;
  repository: string;
  forcePull?: boolean;
}

export interface ImageFilter {
  registry?: string;
  repository?: string;
  tag?: string;
  /** Images with at least one finding this severe or worse. */
  minSeverity?: Severity;
  fixAvailable?: boolean;
  running?: boolean;
  status?: ImageStatus;
  /** Count and filter over every finding, also those disable rules hide. */
  includeDisabled?: boolean;
  limit: number;
  offset: number;
}

export interface VulnerabilityFilter {
  severity?: Severity;
  kev?: boolean;
  /** Count findings that disable rules hide too. */
  includeDisabled?: boolean;
  limit: number;
  offset: number;
}

export interface VulnerabilitySummary {
  advisoryId: string;
  severity: Severity;
  kev: boolean;
  epss?: number;
  images: number;
  packages: string[];
}

export interface AdvisoryImage {
  digest: string;
  repository: string;
  registry: string;
  package: string;
  installed: string;
  severity: Severity;
  /** Id of the disable rule that hides this finding. */
  disabledBy?: string;
}

/** What applying the disable rules changed: findings whose mark changed, images whose counts changed. */
export interface DisableApplication {
  findings: number;
  images: number;
}

export interface ScanResultInput {
  kind: ScanKind;
  worker: string;
  startedAt: string;
  /** Set for a pull: the package list to keep for later re-matches. */
  sbom?: { distro?: Distro; platform?: string; packages: Package[] };
  findings: Finding[];
  dbBuiltAt?: string;
}

export interface ScanCommit {
  committed: boolean;
  /** Findings whose (advisory, package) was not stored for this digest before. */
  newFindings: Finding[];
}

export interface RunningImage {
  cluster: string;
  namespace: string;
  pod: string;
  container: string;
  image: string;
  digest: string;
}

export interface NodeCores {
  name: string;
  cores: number;
}

export interface DisableCriteria {
  cves?: string[];
  digests?: string[];
  repositories?: string[];
  /** Namespaces of the OS release, e.g. 'debian:12', 'alpine:3.19'. */
  osReleases?: string[];
  /** Hide findings less severe than this. */
  severityBelow?: Severity;
  fixStates?: FixState[];
}

/**
 * A disable rule hides the findings that match every criterion it sets, while it is active (not
 * revoked, not expired). The store marks matching findings with the first active rule (oldest
 * first) when a scan stores them, when a rule is created or revoked, and when applyDisableRules
 * runs (the scheduler: expired rules let go of their findings).
 */
export interface DisableRule {
  id: string;
  name: string;
  criteria: DisableCriteria;
  justification: string;
  author: string;
  createdAt: string;
  expiresAt?: string;
  revokedAt?: string;
  revokedBy?: string;
}

/** A threat alert as stored: the shared alert model plus who last moved its status, and when it arrived. */
export interface StoredAlert extends Alert {
  receivedAt: string;
  statusChangedAt?: string;
  statusChangedBy?: string;
}

export interface AlertInsertOptions {
  /** A new alert whose group key matches a stored `new` alert first seen within this window joins it (count, lastSeen, evidence). */
  windowMs: number;
  /** Evidence events kept per stored alert. */
  maxEvidence: number;
  receivedAt: Date;
}

export interface AlertInsertResult {
  /** Alerts stored as new rows. */
  inserted: number;
  /** Alerts merged into a stored alert of the same group. */
  merged: number;
  /** Alerts whose id was stored before (a resent batch or event). */
  duplicates: number;
}

export interface AlertFilter {
  rule?: string;
  severity?: AlertSeverity;
  status?: AlertStatus;
  cluster?: string;
  source?: AlertSource;
  /** Runtime alerts of this node (`target.node`). */
  node?: string;
  /** Alerts seen (last repeat) at or after this time. */
  since?: Date;
  limit: number;
  offset: number;
}

export interface Store {
  readonly dialect: Dialect;
  /** Records a pushed reference; a digest never seen becomes a pending image. Returns true when the digest is new. */
  recordPush(ref: { registry: string; repository: string; tag?: string; digest: string }, at: Date): Promise<boolean>;
  recordPull(digest: string, at: Date): Promise<boolean>;
  enqueue(job: JobRequest, now: Date): Promise<{ id: string; created: boolean }>;
  /** Leases the oldest runnable job (queued, or running with an expired lease). Jobs past maxAttempts are failed instead. */
  claim(owner: string, leaseMs: number, now: Date, maxAttempts: number): Promise<Job | undefined>;
  extendLease(jobId: string, owner: string, until: Date): Promise<boolean>;
  /** Stores a finished scan and completes the job in one transaction, only while the lease is still the caller's. */
  finishScan(job: Job, owner: string, result: ScanResultInput, now: Date): Promise<ScanCommit>;
  /** Records a failed attempt: retried at `retryAt`, or failed for good (visible on the image) when undefined. */
  failAttempt(job: Job, owner: string, error: string, startedAt: string, now: Date, retryAt: Date | undefined): Promise<void>;
  queueDepth(): Promise<Record<JobState, number>>;
  job(id: string): Promise<Job | undefined>;
  activeJob(digest: string): Promise<Job | undefined>;
  getImage(digest: string, options?: { includeDisabled?: boolean }): Promise<ImageRecord | undefined>;
  getSbom(digest: string): Promise<{ distro?: Distro; packages: Package[] } | undefined>;
  listImages(filter: ImageFilter): Promise<{ total: number; items: ImageRecord[] }>;
  findings(digest: string): Promise<StoredFinding[]>;
  scans(digest: string): Promise<ScanRecord[]>;
  resolveTag(registry: string, repository: string, tag: string): Promise<string | undefined>;
  knownDigests(registry: string, repository: string): Promise<Set<string>>;
  vulnerabilities(filter: VulnerabilityFilter): Promise<{ total: number; items: VulnerabilitySummary[] }>;
  /** Every stored finding of the advisory, hidden ones marked with their rule. */
  imagesWithAdvisory(advisoryId: string): Promise<AdvisoryImage[]>;
  severityTotals(options?: { includeDisabled?: boolean }): Promise<Record<Severity, number>>;
  /** Sums of the images' stored counts: findings shown (by severity, fixable) and hidden by rules. */
  findingTotals(): Promise<{ visible: SeverityCounts; fixable: number; disabled: number }>;
  /** Digests with a stored package list pushed since `pushedSince`, pulled since `pulledSince`, or running. */
  reevaluationCandidates(pushedSince: Date, pulledSince: Date): Promise<{ digest: string; registry: string; repository: string }[]>;
  replaceRunning(cluster: string, items: RunningImage[], now: Date): Promise<void>;
  listRunning(): Promise<RunningImage[]>;
  isRunning(digest: string): Promise<boolean>;
  replaceNodes(cluster: string, nodes: NodeCores[], now: Date): Promise<void>;
  discoveredCores(): Promise<number | undefined>;
  recordCoreUsage(month: string, cores: number): Promise<void>;
  coreUsage(month: string): Promise<number | undefined>;
  /** Distinct image digests with a successful scan (pull or re-match) finished in [from, to). */
  distinctDigestsScanned(from: Date, to: Date): Promise<number>;
  scanTotals(): Promise<{ kind: ScanKind; status: string; count: number; durationMs: number }[]>;
  /** Stores the rule and marks the findings it hides, in one transaction. */
  createDisableRule(rule: DisableRule, now: Date): Promise<DisableApplication>;
  listDisableRules(): Promise<DisableRule[]>;
  /** Revokes the rule and lifts its marks (another active rule may take them over); undefined when it was revoked before or does not exist. */
  revokeDisableRule(id: string, by: string, at: Date): Promise<DisableApplication | undefined>;
  /**
   * Brings the marks up to date at `now`: rules that expired let go of their findings; the first
   * call after the schema gained marks (migration 3) marks every stored finding. Idempotent.
   */
  applyDisableRules(now: Date): Promise<DisableApplication & { released: string[]; full: boolean }>;
  /** Stores alerts once each (by id), merging repeats of a group within the window. */
  insertAlerts(alerts: readonly Alert[], options: AlertInsertOptions): Promise<AlertInsertResult>;
  /**
   * Stores a sender's batch once per idempotency key, in one transaction with its alerts:
   * `duplicate` is true (and nothing is written) when the key was stored before.
   */
  insertAlertBatch(
    batch: { sender: string; key: string; node: string; alerts: readonly Alert[] },
    options: AlertInsertOptions,
  ): Promise<AlertInsertResult & { duplicate: boolean }>;
  /** Newest first (first seen, then id). */
  listAlerts(filter: AlertFilter): Promise<{ total: number; items: StoredAlert[] }>;
  getAlert(id: string): Promise<StoredAlert | undefined>;
  /** Moves an alert's status; undefined when there is no such alert. */
  setAlertStatus(id: string, status: AlertStatus, by: string, at: Date): Promise<StoredAlert | undefined>;
  /** Stores a webhook's record batch (src/store/admission.ts): once per (sender, key), each violation once. */
  insertAdmissionBatch(batch: AdmissionBatch, receivedAt: Date): Promise<AdmissionBatchResult>;
  listAdmissionViolations(filter: AdmissionViolationFilter): Promise<{ total: number; items: StoredAdmissionViolation[] }>;
  /** Deletes admission violations reviewed (and batch keys received) before `before`; returns the violations deleted. */
  pruneAdmissionViolations(before: Date): Promise<number>;
  metaGet(key: string): Promise<string | undefined>;
  metaSet(key: string, value: string): Promise<void>;
  /** Inserts the key only if absent: true for the one caller that got it (used so one replica runs the daily re-evaluation). */
  metaClaim(key: string, value: string): Promise<boolean>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export * from './model.js';
export * from './inventory.js';
export * from './files.js';
export * from './graph.js';
export * from './rbac.js';
export * from './findings.js';
export * from './paths.js';
export * from './posture/posture.js';
export { evaluatePodSecurity, pssVersions, parsePssVersion, pssCheckMeta, PSS_CHECK_IDS, PSS_LEVELS, LATEST_PSS_MINOR, type PssLevel, type PssViolation, type PssCheckId } from './pss/evaluate.js';

export { configSchema, registrySchema, tokenSchema, senderTokenSchema, type ServerConfig, type RegistryConfig, type AlertsConfig, type SenderToken } from './schema.js';
export { clusterSchema, clusterPolicySchema, type ClusterConfig, type ClusterPolicyConfig, type AdmissionConfig } from './schema.js';
export { loadConfig, parseConfig, applyEnvOverrides, ENV_PREFIX } from './load.js';

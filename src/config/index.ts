export { configSchema, registrySchema, tokenSchema, type ServerConfig, type RegistryConfig } from './schema.js';
export { loadConfig, parseConfig, applyEnvOverrides, ENV_PREFIX } from './load.js';

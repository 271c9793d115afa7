// What the CLI and the server use from src/kube (one import point).
export * from './index.js';
export { connectionFromKubeconfig, inClusterConnection, inClusterConnectionFromEnv, kubeconfigContexts, type KubeConnection } from './kubeconfig.js';
export { createLiveCollector, createTransport, apiResources, resourcePath, type LiveCollector, type Transport, type WatchEvent } from './live.js';
export { compileQuery, renderQueryResult, QUERY_VARIABLES, type QueryValue } from './query.js';
export { renderInventoryTable, inventoryJson, renderPostureTable, postureSarif, renderPathsTable } from './render.js';

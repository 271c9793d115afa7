export * from './schema.js';
export * from './load.js';
export * from './cel.js';
export * from './match.js';
export * from './engine.js';
export * from './samples.js';

export * from './types.js';
export * from './errors.js';
export * from './clock.js';
export * from './logger.js';
export * from './namespaces.js';
export * from './schemas.js';

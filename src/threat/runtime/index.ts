export * from './event.js';
export * from './engine.js';
export * from './detectors.js';
export * from './analyzer.js';
export * from './samples.js';

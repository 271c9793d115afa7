import type { Cataloger } from './types.js';

/**
 * Every cataloger, listed explicitly (no registration by import side effect). Order does not matter:
 * the walker offers each file to all of them.
 */
export const CATALOGERS: readonly Cataloger[] = [];

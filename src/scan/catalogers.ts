import { CATALOGERS } from '../catalog/registry.js';
import type { Cataloger } from '../catalog/types.js';
import { osReleaseCataloger } from '../image/os/index.js';

/** What an image scan offers every file to: OS detection plus every package cataloger. */
export const SCAN_CATALOGERS: readonly Cataloger[] = [osReleaseCataloger, ...CATALOGERS];

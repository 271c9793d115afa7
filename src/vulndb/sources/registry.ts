import type { FeedFormat } from '../types.js';
import { DISTRO_FEED_FORMATS } from './distro/registry.js';
import { epssFormat } from './epss/index.js';
import { kevFormat } from './kev/index.js';
import { osvFormat } from './osv/index.js';

/**
 * Every feed format the importer knows, in detection order: the first whose `detect` accepts a
 * file parses it. OSV comes first because its detection is the strictest (an `id` plus `modified`,
 * `affected` or `schema_version` key), then the CISA/FIRST enrichments, then the distro formats.
 */
export const FEED_FORMATS: readonly FeedFormat[] = [osvFormat, kevFormat, epssFormat, ...DISTRO_FEED_FORMATS];

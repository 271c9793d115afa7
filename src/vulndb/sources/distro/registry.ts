import type { FeedFormat } from '../../types.js';
import { alpineSecdb } from './alpine-secdb/index.js';
import { amazonAlas } from './amazon-alas/index.js';
import { redhatApi } from './redhat-api/index.js';
import { ubuntuTracker } from './ubuntu-tracker/index.js';

/** The native distro feed formats, one folder each beside this file (a test checks the two agree). */
export const DISTRO_FEED_FORMATS: readonly FeedFormat[] = [alpineSecdb, ubuntuTracker, redhatApi, amazonAlas];

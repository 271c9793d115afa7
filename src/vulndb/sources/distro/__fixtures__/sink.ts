import type { Advisory } from '../../../../core/types.js';
import type { FeedSink } from '../../../types.js';

/** Test helper: a sink that keeps what a parser sends. */
export interface CollectingSink extends FeedSink {
  advisories: Advisory[];
  skips: { reason: string; ref: string }[];
}

export function collectingSink(): CollectingSink {
  const advisories: Advisory[] = [];
  const skips: { reason: string; ref: string }[] = [];
  return {
    advisories,
    skips,
    advisory: (advisory) => advisories.push(advisory),
    kev: () => {
      throw new Error('a distro feed produced a KEV entry');
    },
    epss: () => {
      throw new Error('a distro feed produced an EPSS score');
    },
    skip: (reason, ref) => skips.push({ reason, ref }),
  };
}

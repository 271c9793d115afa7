/**
 * Palisade's version, as package.json gives it (a test keeps the two equal). It names the tool in
 * reports and user agents, and keys what the scan cache keeps of matching: a release that matches
 * differently does not serve the findings an older one cached.
 */
export const PALISADE_VERSION = '0.1.0';

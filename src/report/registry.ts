import type { FormatId, Formatter } from './types.js';
import { tableFormatter } from './table/index.js';
import { jsonFormatter } from './json/index.js';
import { sarifFormatter } from './sarif/index.js';
import { cyclonedxFormatter } from './cyclonedx/index.js';
import { spdxFormatter } from './spdx/index.js';

/** Every output format of `palisade scan --format`, one per id (the compiler demands each). */
export const FORMATTERS: Record<FormatId, Formatter> = {
  table: tableFormatter,
  json: jsonFormatter,
  sarif: sarifFormatter,
  cyclonedx: cyclonedxFormatter,
  spdx: spdxFormatter,
};

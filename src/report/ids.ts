import { createHash } from 'node:crypto';

/**
 * Ids the writers derive from content (SPDXIDs, bom-refs, fingerprints, document UUIDs): the same
 * report gives the same ids. Apart from order.ts so that the table and JSON writers load no crypto.
 */

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** A UUID (version-5 layout) derived from text, for ids that must be unique yet reproducible. */
export function stableUuid(text: string): string {
  const hex = sha256Hex(text);
  const variant = ((parseInt(hex.slice(16, 17), 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/**
 * Debian control-file stanzas (deb822 / RFC 822 style) as dpkg writes them in /var/lib/dpkg/status:
 * `Field: value` lines, continuation lines starting with a space or tab, stanzas separated by blank
 * lines. Field names are case-insensitive, so they are returned lower-cased.
 */
export type Stanza = ReadonlyMap<string, string>;

export function parseStanzas(text: string): Stanza[] {
  const stanzas: Stanza[] = [];
  let current = new Map<string, string>();
  let lastField: string | undefined;

  const flush = (): void => {
    if (current.size > 0) stanzas.push(current);
    current = new Map<string, string>();
    lastField = undefined;
  };

  for (const rawLine of text.split('\n')) {
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    if (line.trim() === '') {
      flush();
      continue;
    }
    if (line.startsWith('#')) continue;
    if (line.startsWith(' ') || line.startsWith('\t')) {
      // Continuation of the previous field; a stray continuation with no field is ignored.
      if (lastField !== undefined) current.set(lastField, `${current.get(lastField) ?? ''}\n${line.slice(1)}`);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) {
      lastField = undefined;
      continue;
    }
    const field = line.slice(0, colon).trim().toLowerCase();
    current.set(field, line.slice(colon + 1).trim());
    lastField = field;
  }
  flush();
  return stanzas;
}

/**
 * A small RFC 4180 reader: quoted fields, doubled quotes, CR/LF, a chosen separator. Feeds (KEV,
 * EPSS) are a few MB, so rows are produced from one string.
 */
export function* csvRows(text: string, separator = ','): Generator<string[]> {
  let field = '';
  let row: string[] = [];
  let quoted = false;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i++;
        continue;
      }
      field += c;
      i++;
      continue;
    }
    if (c === '"' && field.length === 0) {
      quoted = true;
      i++;
    } else if (c === separator) {
      row.push(field);
      field = '';
      i++;
    } else if (c === '\n' || c === '\r') {
      row.push(field);
      field = '';
      if (c === '\r' && text[i + 1] === '\n') i++;
      i++;
      if (row.length > 1 || row[0] !== '') yield row;
      row = [];
    } else {
      field += c;
      i++;
    }
  }
  if (field.length > 0 || row.length > 0) {
    row.push(field);
    yield row;
  }
}

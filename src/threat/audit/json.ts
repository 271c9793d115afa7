/** JSON as JSON.parse returns it. Audit events stay in this form for CEL, which takes JSON-like input. */
export type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

/** JSON.parse with its real result type (JSON.parse is declared as returning `any`). */
export function parseJson(text: string): JsonValue {
  return JSON.parse(text);
}

export function isJsonObject(v: JsonValue | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function jsonString(v: JsonValue | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export function jsonChild(v: JsonValue | undefined, key: string): JsonValue | undefined {
  return isJsonObject(v) ? v[key] : undefined;
}

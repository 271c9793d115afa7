import { z } from 'zod';

/**
 * The JSON-schema subset that policy parameters are declared in (the shape Azure Policy and
 * Gatekeeper ConstraintTemplates use): `type` (object, array, string, integer, number, boolean),
 * `properties`, `required`, `additionalProperties: false`, `items`, `enum`, `pattern`, `minimum`,
 * `maximum`, `minItems`, `default` and `description`. `applyDefaults` fills defaults, then
 * `validate` lists every problem as `path: what is wrong`.
 */

export interface ParamSchema {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  description?: string;
  properties?: Record<string, ParamSchema>;
  required?: string[];
  additionalProperties?: boolean;
  items?: ParamSchema;
  enum?: Array<string | number | boolean>;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  default?: unknown;
}

export const paramSchemaSchema: z.ZodType<ParamSchema> = z.lazy(() =>
  z.strictObject({
    type: z.enum(['object', 'array', 'string', 'integer', 'number', 'boolean']).optional(),
    description: z.string().optional(),
    properties: z.record(z.string(), paramSchemaSchema).optional(),
    required: z.array(z.string()).optional(),
    additionalProperties: z.boolean().optional(),
    items: paramSchemaSchema.optional(),
    enum: z.array(z.union([z.string(), z.number(), z.boolean()])).optional(),
    pattern: z.string().optional(),
    minimum: z.number().optional(),
    maximum: z.number().optional(),
    minItems: z.number().int().nonnegative().optional(),
    default: z.unknown().optional(),
  }),
);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A copy of `value` with the schema's defaults filled in where a value is absent. */
export function applyDefaults(schema: ParamSchema, value: unknown): unknown {
  const base = value === undefined ? structuredClone(schema.default) : value;
  if (schema.type === 'object' || schema.properties) {
    if (base !== undefined && !isRecord(base)) return base;
    const obj: Record<string, unknown> = isRecord(base) ? { ...base } : {};
    for (const [key, sub] of Object.entries(schema.properties ?? {})) {
      const filled = applyDefaults(sub, obj[key]);
      if (filled !== undefined) obj[key] = filled;
    }
    return obj;
  }
  if (schema.type === 'array' && Array.isArray(base) && schema.items) {
    const items = schema.items;
    return base.map((item: unknown) => applyDefaults(items, item));
  }
  return base;
}

function typeOk(type: ParamSchema['type'], value: unknown): boolean {
  switch (type) {
    case undefined:
      return true;
    case 'object':
      return isRecord(value);
    case 'array':
      return Array.isArray(value);
    case 'string':
      return typeof value === 'string';
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'boolean':
      return typeof value === 'boolean';
  }
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${JSON.stringify(value)}`;
}

/** Every problem of `value` against `schema`, as `path: message`; empty when it fits. */
export function validate(schema: ParamSchema, value: unknown, path = 'parameters'): string[] {
  const problems: string[] = [];
  if (!typeOk(schema.type, value)) {
    problems.push(`${path}: expected ${schema.type === 'integer' || schema.type === 'array' || schema.type === 'object' ? 'an' : 'a'} ${schema.type}, got ${describe(value)}`);
    return problems;
  }
  if (schema.enum && !schema.enum.some((e) => e === value)) {
    problems.push(`${path}: ${JSON.stringify(value)} is not one of ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}`);
  }
  if (typeof value === 'string' && schema.pattern !== undefined && !new RegExp(schema.pattern).test(value)) {
    problems.push(`${path}: '${value}' does not match the pattern ${schema.pattern}`);
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) problems.push(`${path}: ${value} is below the minimum ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum) problems.push(`${path}: ${value} is above the maximum ${schema.maximum}`);
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) problems.push(`${path}: needs at least ${schema.minItems} items, has ${value.length}`);
    const items = schema.items;
    if (items) value.forEach((item: unknown, i) => problems.push(...validate(items, item, `${path}[${i}]`)));
  }
  if (isRecord(value)) {
    for (const key of schema.required ?? []) if (value[key] === undefined) problems.push(`${path}.${key}: is required`);
    const props = schema.properties ?? {};
    for (const [key, item] of Object.entries(value)) {
      const sub = props[key];
      if (sub) problems.push(...validate(sub, item, `${path}.${key}`));
      else if (schema.additionalProperties === false) {
        problems.push(`${path}.${key}: unknown parameter (known: ${Object.keys(props).sort().join(', ') || 'none'})`);
      }
    }
  }
  return problems;
}

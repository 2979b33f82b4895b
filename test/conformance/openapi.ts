import { Ajv, type ErrorObject } from 'ajv';
import { loadOpenApi } from './shared.js';

// OpenAPI 3.0 schemas are not JSON Schema: `nullable: true` must become a null type, `#/components/schemas/X`
// refs must point somewhere ajv can see, and `example` / `x-*` are not keywords. Converted here, then compiled.

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const SUBSCHEMA_MAPS = new Set(['properties', 'patternProperties']);
const SUBSCHEMAS = new Set(['items', 'additionalProperties', 'not']);
const SUBSCHEMA_LISTS = new Set(['oneOf', 'anyOf', 'allOf']);
const DROPPED = new Set(['example', 'nullable', 'discriminator', 'xml', 'externalDocs']);

function isObject(v: unknown): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** One OpenAPI 3.0 schema object -> draft-07 JSON Schema with refs into `#/definitions`. */
export function toJsonSchema(schema: unknown): Json {
  if (!isObject(schema)) return schema as Json;
  if (typeof schema.$ref === 'string') return { $ref: schema.$ref.replace('#/components/schemas/', '#/definitions/') };
  const out: Record<string, Json> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (DROPPED.has(key) || key.startsWith('x-')) continue;
    if (SUBSCHEMA_MAPS.has(key) && isObject(value)) {
      out[key] = Object.fromEntries(Object.entries(value).map(([name, s]) => [name, toJsonSchema(s)]));
    } else if (SUBSCHEMAS.has(key)) {
      out[key] = typeof value === 'boolean' ? value : toJsonSchema(value);
    } else if (SUBSCHEMA_LISTS.has(key) && Array.isArray(value)) {
      out[key] = value.map(toJsonSchema);
    } else {
      out[key] = value;
    }
  }
  if (schema.nullable !== true) return out;
  if (typeof out.type === 'string') {
    out.type = [out.type, 'null'];
    if (Array.isArray(out.enum)) out.enum = [...out.enum, null];
    return out;
  }
  return { anyOf: [out, { type: 'null' }] };
}

function describeError(e: ErrorObject): string {
  const where = e.instancePath === '' ? '(body)' : e.instancePath;
  const extra =
    e.keyword === 'enum' ? `: ${JSON.stringify((e.params as { allowedValues: unknown }).allowedValues)}` : e.keyword === 'additionalProperties' ? `: ${String((e.params as { additionalProperty: unknown }).additionalProperty)}` : '';
  return `${where} ${e.message ?? e.keyword}${extra}`;
}

/** Validates a body against components.schemas.<name> of cases-openapi.yaml; returns error strings, empty when valid. */
export function createOpenApiValidator(schemaName: string): (body: unknown) => string[] {
  const { components } = loadOpenApi();
  if (!(schemaName in components.schemas)) throw new Error(`cases-openapi.yaml has no components.schemas.${schemaName}`);
  const definitions = Object.fromEntries(Object.entries(components.schemas).map(([name, s]) => [name, toJsonSchema(s)]));
  // strict: false because the spec carries annotations ajv does not know; formats are not checked (no ajv-formats).
  const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false, logger: false });
  const validate = ajv.compile({ $ref: `#/definitions/${schemaName}`, definitions });
  return (body) => (validate(body) ? [] : (validate.errors ?? []).map(describeError));
}

/** The validator of `POST /api/v2/cases` request bodies (CaseCreateRequest). */
export function createCaseRequestValidator(): (body: unknown) => string[] {
  return createOpenApiValidator('CaseCreateRequest');
}

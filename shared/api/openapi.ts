// The OpenAPI 3.1 document of the admin API, generated from the route table and the very schemas that
// validate requests (valibot's JSON Schema output, draft 2020-12, which is OpenAPI 3.1's dialect), so the
// document cannot describe an API other than the one that runs.
import { type ConversionConfig, toJsonSchema, toJsonSchemaDefs } from '@valibot/to-json-schema';
import type * as v from 'valibot';
import { describeEventSchema } from '../events/descriptions.ts';
import { ProductEventBody } from '../events/generic.ts';
import { jsonObject, objectEntries, safeParse } from '../schema.ts';
import { NAMED_SCHEMAS, RESPONSES } from './responses.ts';
import { ROUTE_SUMMARIES } from './route-summaries.ts';
import { ROUTES, type RouteId, type RouteSpec } from './routes.ts';

type Schema = v.GenericSchema;

type JsonObject = Record<string, unknown>;

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'The request failed validation: every bad field is listed in `errors`',
  404: 'Unknown id, or nothing at this path',
  409: 'State conflict, or the If-Match version is stale',
  413: "The body is larger than 64 KiB (1 MiB on the public webhook routes), the write would make the session larger than DynamoDB's 400 KB item limit, or its notification larger than its share of an SQS batch (`/problems/message-too-large`)",
  415: 'The body is not JSON',
  500: 'A failure on the service side (never caused by input); quote the x-request-id',
  503: "DynamoDB throttled the request after the SDK's retries; nothing changed, retry after `Retry-After` seconds",
};

function capitalized(id: string): string {
  return id.charAt(0).toUpperCase() + id.slice(1);
}

function clean(schema: JsonObject): JsonObject {
  // `$id` would be a URI with a fragment (not allowed) and `$schema` is implied by the document's dialect.
  const { $schema: _schema, $id: _id, ...rest } = schema;
  return rest;
}

function componentRef(name: string): JsonObject {
  return { $ref: `#/components/schemas/${name}` };
}

/** Unsupported checks (custom refinements) are left out of the document; the API still applies them. */
function conversion(typeMode: 'input' | 'output'): ConversionConfig {
  return {
    target: 'draft-2020-12',
    typeMode,
    errorMode: 'ignore',
    // A custom schema (shared/schema.ts) the converter cannot read: say what it accepts.
    overrideSchema: ({ valibotSchema, jsonSchema }) =>
      valibotSchema === jsonObject ? { ...jsonSchema, type: 'object' } : undefined,
  };
}

/** References between named schemas point into the document's components. */
function relinked(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(relinked);
  if (!node || typeof node !== 'object') return node;
  const out: JsonObject = {};
  for (const [k, value] of Object.entries(node)) {
    out[k] =
      k === '$ref' && typeof value === 'string'
        ? value.replace(/^#\/\$defs\//, '#/components/schemas/')
        : relinked(value);
  }
  return out;
}

/** Each schema given a name, per direction: requests are described as accepted, responses as sent. */
function components(routes: readonly RouteSpec[]) {
  const input: Record<string, Schema> = {};
  const output: Record<string, Schema> = {};
  const names = { input: new Map<Schema, string>(), output: new Map<Schema, string>() };
  for (const [name, schema] of NAMED_SCHEMAS) {
    output[name] = schema;
    names.output.set(schema, name);
  }
  for (const route of routes) {
    if (route.body && !names.input.has(route.body)) {
      const name = `${capitalized(route.id)}Request`;
      input[name] = route.body;
      names.input.set(route.body, name);
    }
    for (const [i, response] of route.responses.entries()) {
      const schema = RESPONSES[response.schema];
      if (names.output.has(schema)) continue;
      const name = `${capitalized(route.id)}Response${i === 0 ? '' : response.status}`;
      output[name] = schema;
      names.output.set(schema, name);
    }
  }
  const generated = {
    ...toJsonSchemaDefs(input, conversion('input')),
    ...toJsonSchemaDefs(output, conversion('output')),
  };
  const schemas: Record<string, JsonObject> = {};
  for (const [name, schema] of Object.entries(generated))
    schemas[name] = clean(relinked(schema) as JsonObject);
  // The product event's fields are described apart from its schema (shared/events/descriptions.ts).
  const eventBody = names.input.get(ProductEventBody);
  if (eventBody && schemas[eventBody]) describeEventSchema(schemas[eventBody]);
  return { schemas, names };
}

function parameterSchema(schema: Schema): JsonObject {
  return clean(toJsonSchema(schema, conversion('input')) as JsonObject);
}

/** The fields of an object schema (also behind a pipe of checks). */
function entriesOf(schema: Schema | undefined): Record<string, Schema> {
  return objectEntries(schema) ?? {};
}

/** The description a schema was given with `described` (shared/schema.ts). */
function descriptionOf(schema: Schema): string | undefined {
  if (!('pipe' in schema)) return undefined;
  const action = (schema.pipe as Array<{ type: string; description?: string }>).find(
    (a) => a.type === 'description',
  );
  return action?.description;
}

function parameters(route: RouteSpec): JsonObject[] {
  const out: JsonObject[] = [];
  for (const [name, schema] of Object.entries(entriesOf(route.params))) {
    out.push({ name, in: 'path', required: true, schema: parameterSchema(schema) });
  }
  for (const [name, schema] of Object.entries(entriesOf(route.query))) {
    const description = descriptionOf(schema);
    out.push({
      name,
      in: 'query',
      required: !safeParse(schema, undefined).success,
      schema: parameterSchema(schema),
      ...(description ? { description } : {}),
    });
  }
  if (route.ifMatch) {
    out.push({
      name: 'If-Match',
      in: 'header',
      required: false,
      description: 'The ETag of the session as read; a stale one is answered 409 and nothing is written.',
      schema: { type: 'string' },
    });
  }
  return out;
}

function operation(route: RouteSpec, names: ReturnType<typeof components>['names']): JsonObject {
  const responses: JsonObject = {};
  for (const r of route.responses) {
    const name = names.output.get(RESPONSES[r.schema]);
    responses[String(r.status)] = {
      description: r.description,
      ...(route.etag
        ? { headers: { ETag: { description: 'The session version', schema: { type: 'string' } } } }
        : {}),
      content:
        route.public && route.public.responds !== 'application/json'
          ? { [route.public.responds]: { schema: { type: 'string' } } }
          : { 'application/json': { schema: name ? componentRef(name) : {} } },
    };
  }
  for (const status of [...route.errors, 500, 503]) {
    // readyz's 503 is its own report, declared with its success responses.
    if (responses[String(status)]) continue;
    responses[String(status)] = {
      description: ERROR_DESCRIPTIONS[status] ?? 'Error',
      ...(status === 503
        ? { headers: { 'Retry-After': { description: 'Seconds to wait', schema: { type: 'string' } } } }
        : {}),
      content: { 'application/problem+json': { schema: componentRef('Problem') } },
    };
  }
  const bodyName = route.body ? names.input.get(route.body) : undefined;
  return {
    operationId: route.id,
    summary: ROUTE_SUMMARIES[route.id as RouteId],
    tags: [route.tag],
    'x-access': route.access,
    // Public routes (#13): no SigV4; the route verifies its caller itself.
    ...(route.public ? { security: [], 'x-verified-by': route.public.verifiedBy } : {}),
    parameters: parameters(route),
    ...(route.public?.form
      ? {
          requestBody: {
            required: false,
            content: { 'application/x-www-form-urlencoded': { schema: parameterSchema(route.public.form) } },
          },
        }
      : {}),
    ...(bodyName
      ? {
          requestBody: {
            // An absent body is read as `{}`: only a body with required fields is required.
            required: route.body ? !safeParse(route.body, {}).success : false,
            content: { 'application/json': { schema: componentRef(bodyName) } },
          },
        }
      : {}),
    responses,
  };
}

export function buildOpenApiDocument(routes: readonly RouteSpec[] = ROUTES): JsonObject {
  const { schemas, names } = components(routes);
  const paths: Record<string, JsonObject> = {};
  for (const route of routes) {
    const item = paths[route.path] ?? {};
    item[route.method.toLowerCase()] = operation(route, names);
    paths[route.path] = item;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'session-recovery admin API',
      version: '1.0.0',
      description:
        'Sessions, timelines, retry policies, stats, jobs, runs, dead letters and health. Every route is signed with SigV4 (API Gateway AWS_IAM); errors are RFC 9457 problem documents.',
    },
    tags: [...new Set(routes.map((r) => r.tag))].map((name) => ({ name })),
    security: [{ sigv4: [] }],
    paths,
    components: {
      schemas,
      securitySchemes: {
        sigv4: {
          type: 'apiKey',
          name: 'Authorization',
          in: 'header',
          description: 'AWS Signature Version 4 (API Gateway AWS_IAM authorization)',
        },
      },
    },
  };
}

let cached: JsonObject | undefined;

/** An OpenApiSource that builds the document in this process (local server, tests, `npm run openapi`). */
export const buildInProcess = async (): Promise<JsonObject> => openApiDocument();

/** The document of the route table, built once per process. */
function openApiDocument(): JsonObject {
  cached ??= buildOpenApiDocument();
  return cached;
}

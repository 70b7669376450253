// Writes the admin API's OpenAPI document (docs/openapi.json) from the route table. The API Lambda serves
// this file; test/api/openapi.test.ts fails when it differs from what the code generates.
//   npm run openapi
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildOpenApiDocument } from '../shared/api/openapi.ts';
import { ROUTES } from '../shared/api/routes.ts';
import { buildEventsJsonSchema } from '../shared/events/descriptions.ts';
import { OPENAPI_ASSET } from '../shared/infra/assets.ts';

export function renderOpenApiDocument(): string {
  return `${JSON.stringify(buildOpenApiDocument(), null, 2)}\n`;
}

/** The JSON Schema of the generic product events (#14), published beside the OpenAPI document. */
export const EVENTS_SCHEMA_PATH = 'docs/events.schema.json';
export function renderEventsSchema(): string {
  return `${JSON.stringify(buildEventsJsonSchema(), null, 2)}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const path = join(import.meta.dirname, '..', OPENAPI_ASSET.from);
  const text = renderOpenApiDocument();
  writeFileSync(path, text);
  process.stdout.write(
    `wrote ${OPENAPI_ASSET.from}: ${ROUTES.length} routes, ${(text.length / 1024).toFixed(1)} KB\n`,
  );
  writeFileSync(join(import.meta.dirname, '..', EVENTS_SCHEMA_PATH), renderEventsSchema());
  process.stdout.write(`wrote ${EVENTS_SCHEMA_PATH}\n`);
}

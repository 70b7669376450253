// Lambda entry of the admin API's product-facing routes (sessions, timelines, retry policies, stats,
// health, the OpenAPI document); `/v1/admin/*` is functions/api-admin.ts. The context is read from env
// once per cold start; a missing variable fails the cold start loudly.
import { readFile } from 'node:fs/promises';
import { createBindings } from '../shared/api/bindings.ts';
import { cursorKeyFromEnv } from '../shared/api/cursor-key.ts';
import { apiLambdaHandler } from '../shared/api/lambda.ts';
import { createRouter } from '../shared/api/router.ts';
import { routesOf } from '../shared/api/routes.ts';
import { OPENAPI_ASSET } from '../shared/infra/assets.ts';
import { extensionSecretReader } from '../shared/secrets/extension.ts';
import { contextWithSettingsFromEnv } from '../shared/settings.ts';

let document: Promise<unknown> | undefined;

async function readJson(url: URL): Promise<unknown> {
  return JSON.parse(await readFile(url, 'utf8')) as unknown;
}

/**
 * The OpenAPI document, generated at build time and shipped next to this bundle (see OPENAPI_ASSET):
 * the generator and every response schema stay out of the function, which only reads the file when
 * GET /v1/openapi.json is first asked for. Run from the repository (`npm run invoke`), the file is
 * docs/openapi.json itself.
 */
function shippedOpenApiDocument(): Promise<unknown> {
  document ??= readJson(new URL(`./${OPENAPI_ASSET.to}`, import.meta.url))
    .catch((error: unknown) => {
      if ((error as { code?: string }).code !== 'ENOENT') throw error;
      return readJson(new URL(`../${OPENAPI_ASSET.from}`, import.meta.url));
    })
    .catch((error: unknown) => {
      document = undefined; // a failed read is not cached: the next request tries again
      throw error;
    });
  return document;
}

export const handler = apiLambdaHandler(
  createRouter({
    // Cursors are signed with a generated secret, read through the Parameters and Secrets extension.
    ctx: {
      ...contextWithSettingsFromEnv(),
      cursorKey: cursorKeyFromEnv(process.env, extensionSecretReader()),
    },
    routes: routesOf('api'),
    bindings: createBindings(shippedOpenApiDocument),
  }),
);

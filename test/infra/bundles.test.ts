// What each function's bundle may hold. The cold-start figures (`npm run bench -- bundles`) depend on a few
// imports staying out of the Lambdas; these checks fail the build when one creeps back in, long before a
// benchmark would show it.
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../local/local-env.ts';
import { OPENAPI_ASSET } from '../../shared/infra/assets.ts';
import { LAMBDA_ESBUILD_OPTIONS } from '../../shared/infra/bundling.ts';
import { FUNCTION_DESCRIPTIONS } from '../../shared/infra/functions.ts';
import { BASELINE_SOURCE } from '../bench/bundles.bench.ts';

/** A function's bundle built as CDK builds it: its size, and the files that put code into it. */
async function bundleOf(entry: string): Promise<{ bytes: number; inputs: string[] }> {
  const result = await build({
    ...LAMBDA_ESBUILD_OPTIONS,
    mainFields: [...LAMBDA_ESBUILD_OPTIONS.mainFields],
    entryPoints: [join(REPO_ROOT, entry)],
    absWorkingDir: REPO_ROOT,
    write: false,
    metafile: true,
    outfile: 'out.mjs',
  });
  const output = Object.values(result.metafile.outputs)[0];
  if (!output) throw new Error(`no bundle for ${entry}`);
  return {
    bytes: output.bytes,
    // Tree-shaken files stay in the metafile with 0 bytes of output: they are not in the bundle.
    inputs: Object.entries(output.inputs)
      .filter(([, contribution]) => contribution.bytesInOutput > 0)
      .map(([path]) => path),
  };
}

const bundles = new Map<string, Promise<{ bytes: number; inputs: string[] }>>();
function bundleOfFunction(id: string) {
  const description = FUNCTION_DESCRIPTIONS.find((d) => d.id === id);
  if (!description) throw new Error(`no function ${id}`);
  let bundle = bundles.get(id);
  if (!bundle) {
    bundle = bundleOf(description.entry);
    bundles.set(id, bundle);
  }
  return bundle;
}

async function inputsOf(id: string): Promise<string[]> {
  return (await bundleOfFunction(id)).inputs;
}

const has = (list: string[], fragment: string) => list.some((path) => path.includes(fragment));

describe('function bundles', () => {
  it.each(FUNCTION_DESCRIPTIONS.map((d) => d.id))('%s validates with valibot, not zod', async (id) => {
    // Act
    const list = await inputsOf(id);
    // Assess
    expect(has(list, 'node_modules/valibot/')).toBe(true);
    expect(list.filter((path) => path.includes('node_modules/zod/'))).toEqual([]);
  });

  it.each(FUNCTION_DESCRIPTIONS.filter((d) => d.trigger.kind === 'queue').map((d) => d.id))(
    '%s carries its own provider and no other channel’s SDK client',
    async (id) => {
      // Act
      const list = await inputsOf(id);
      // Assess
      const email = id === 'sender-email';
      expect(has(list, 'node_modules/@aws-sdk/client-ses/')).toBe(email);
      // Credentials come through the Parameters and Secrets extension: no Secrets Manager client in any sender.
      expect(has(list, 'node_modules/@aws-sdk/client-secrets-manager/')).toBe(false);
      expect(has(list, 'shared/receipts/apply.ts')).toBe(id === 'sender-sms' || id === 'sender-whatsapp');
      expect(has(list, 'shared/providers/ses.ts')).toBe(email);
      expect(has(list, 'shared/providers/slack.ts')).toBe(id === 'sender-slack');
      expect(has(list, 'shared/providers/twilio.ts')).toBe(id === 'sender-sms' || id === 'sender-whatsapp');
      expect(has(list, 'shared/providers/webhook.ts')).toBe(id === 'sender-webhook');
      expect(has(list, 'shared/settings.ts')).toBe(false);
    },
  );

  it('api leaves the OpenAPI generator and the response schemas out (it serves the shipped document)', async () => {
    // Act
    const list = await inputsOf('api');
    // Assess
    expect(has(list, 'node_modules/@valibot/to-json-schema/')).toBe(false);
    expect(has(list, 'shared/api/openapi.ts')).toBe(false);
    expect(has(list, 'shared/api/responses.ts')).toBe(false);
    expect(has(list, 'shared/api/router.ts')).toBe(true);
  });

  it('api leaves the on-call routes to api-admin: no DLQ replay', async () => {
    // Act
    const product = await inputsOf('api');
    const admin = await inputsOf('api-admin');
    // Assess
    expect(has(product, 'shared/usecases/dlq.ts')).toBe(false);
    expect(has(admin, 'shared/usecases/dlq.ts')).toBe(true);
  });

  it('neither API function runs a job itself: run now starts the job function (asynchronous invocation)', async () => {
    // Act
    const product = await inputsOf('api');
    const admin = await inputsOf('api-admin');
    // Assess
    for (const path of [
      'shared/usecases/recovery-sweep.ts',
      'shared/usecases/timeout-monitor.ts',
      // Run metrics are the job function's to emit.
      'node_modules/@aws-lambda-powertools/metrics/',
    ]) {
      expect(has(product, path), path).toBe(false);
      expect(has(admin, path), path).toBe(false);
    }
    expect(has(admin, 'shared/aws/lambda-invoke.ts')).toBe(true);
  });

  it('scheduled jobs build no request schemas of the API', async () => {
    for (const id of ['recovery-sweep', 'timeout-monitor']) {
      // Act
      const list = await inputsOf(id);
      // Assess
      expect(has(list, 'shared/domain/policy-input.ts'), id).toBe(false);
      expect(has(list, 'shared/api/'), id).toBe(false);
    }
  });
});

/** Bytes of a bundle built from source text, as the benchmark builds its baseline. */
async function sourceBundleBytes(source: string): Promise<number> {
  const result = await build({
    ...LAMBDA_ESBUILD_OPTIONS,
    mainFields: [...LAMBDA_ESBUILD_OPTIONS.mainFields],
    stdin: { contents: source, resolveDir: REPO_ROOT, loader: 'ts', sourcefile: 'baseline.ts' },
    absWorkingDir: REPO_ROOT,
    write: false,
    outfile: 'baseline.mjs',
  });
  return result.outputFiles[0]?.contents.length ?? 0;
}

describe('bundle size budget', () => {
  // Sizes are exact for a given lockfile, so the 1.4x size target is a test; the cold-init half
  // is timing and stays in the benchmark (`npm run bench -- bundles`).
  it.each(FUNCTION_DESCRIPTIONS.map((d) => d.id))(
    '%s is at most 1.4x the baseline bundle (DynamoDB document client + Powertools logger)',
    async (id) => {
      // Act
      const [baseline, { bytes }] = await Promise.all([
        sourceBundleBytes(BASELINE_SOURCE),
        bundleOfFunction(id),
      ]);
      // Assess
      expect(bytes / baseline).toBeLessThanOrEqual(1.4);
    },
  );
});

describe('the API bundle as deployed', () => {
  it('serves the OpenAPI document shipped next to it, unchanged', async () => {
    // Prepare: bundle as CDK does, with the asset copied as the bundling hook copies it.
    const dir = mkdtempSync(join(tmpdir(), 'api-bundle-'));
    const api = FUNCTION_DESCRIPTIONS.find((d) => d.id === 'api');
    expect(api?.assets).toEqual([OPENAPI_ASSET]);
    await build({
      ...LAMBDA_ESBUILD_OPTIONS,
      mainFields: [...LAMBDA_ESBUILD_OPTIONS.mainFields],
      entryPoints: [join(REPO_ROOT, 'functions/api.ts')],
      absWorkingDir: REPO_ROOT,
      outfile: join(dir, 'index.mjs'),
    });
    for (const asset of api?.assets ?? []) copyFileSync(join(REPO_ROOT, asset.from), join(dir, asset.to));
    const env = {
      SESSIONS_TABLE: 's',
      TIMELINE_TABLE: 't',
      CONTROL_TABLE: 'c',
      AWS_REGION: 'us-east-1',
      CURSOR_KEY: 'k'.repeat(64),
    };
    const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
    Object.assign(process.env, env);
    try {
      const { handler } = (await import(pathToFileURL(join(dir, 'index.mjs')).href)) as {
        handler: (event: unknown, context: unknown) => Promise<{ statusCode: number; body: string }>;
      };
      // Act
      const res = await handler(
        { httpMethod: 'GET', path: '/v1/openapi.json', requestContext: { requestId: 'r-1' } },
        { awsRequestId: 'r-1', functionName: 'api', getRemainingTimeInMillis: () => 25_000 },
      );
      // Assess
      expect(res.statusCode, res.body).toBe(200);
      expect(JSON.parse(res.body)).toEqual(
        JSON.parse(readFileSync(join(REPO_ROOT, OPENAPI_ASSET.from), 'utf8')),
      );
    } finally {
      for (const [k, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[k];
        else process.env[k] = value;
      }
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// How a function is bundled: CDK (lib/constructs/service-function.ts) and the bundle benchmark
// (test/bench/bundles.bench.ts) both use these, so the measured bundle is the deployed one.

/** ESM bundles still meet CommonJS dependencies that call `require`: give them one. */
export const ESM_REQUIRE_BANNER =
  "import { createRequire } from 'node:module';const require = createRequire(import.meta.url);";

export const BUNDLE_MAIN_FIELDS = ['module', 'main'];

/** esbuild target matching the Lambda runtime (SERVICE_RUNTIME). */
const BUNDLE_TARGET = 'node24';

/**
 * The esbuild options of a function bundle, for the tools that bundle a function outside CDK (the bundle
 * benchmark, the bundle-content test): the same choices CDK's NodejsFunction gets in
 * lib/constructs/service-function.ts.
 */
export const LAMBDA_ESBUILD_OPTIONS = {
  bundle: true,
  minify: true,
  format: 'esm',
  platform: 'node',
  target: BUNDLE_TARGET,
  mainFields: BUNDLE_MAIN_FIELDS,
  banner: { js: ESM_REQUIRE_BANNER },
  logLevel: 'error',
} as const;

// Files a function's bundle carries besides its code, copied next to it at bundling (CDK) and read at
// runtime. Their own module so a Lambda entry can name one without bundling the function descriptions.

export interface BundleAsset {
  /** Path relative to the repository root. */
  readonly from: string;
  /** File name next to the bundle. */
  readonly to: string;
}

/**
 * The admin API's OpenAPI document: generated from the route table by `npm run openapi` into
 * docs/openapi.json (a test fails when it is stale) and copied next to the API's bundle, which serves it.
 */
export const OPENAPI_ASSET = { from: 'docs/openapi.json', to: 'openapi.json' } as const satisfies BundleAsset;

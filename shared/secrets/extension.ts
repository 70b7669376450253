// Secrets through the AWS Parameters and Secrets Lambda Extension (a layer CDK adds to the functions that
// use this): an HTTP call to localhost that the extension answers from its cache, so a function reads a
// secret without bundling the Secrets Manager client. The email sender and the receipts function use it:
// their bundles stay within budget with the SES client and the receipt schemas in them. The extension's own
// cache is off (lib/constructs/service-function.ts): this reader's is the only one, so a rotated secret is
// used within SECRETS_MAX_AGE_SECONDS.
import type { SecretReader } from '../senders/config.ts';
import { maxAgeCache, type Now, secretsMaxAge } from './max-age.ts';

const DEFAULT_PORT = 2773;

export function extensionSecretReader(
  env: NodeJS.ProcessEnv = process.env,
  fetcher: typeof fetch = fetch,
  now: Now = Date.now,
): SecretReader {
  return maxAgeCache((name) => read(name, env, fetcher), secretsMaxAge(env), now);
}

async function read(
  name: string,
  env: NodeJS.ProcessEnv,
  fetcher: typeof fetch,
): Promise<string | undefined> {
  const port = Number(env.PARAMETERS_SECRETS_EXTENSION_HTTP_PORT ?? DEFAULT_PORT);
  const token = env.AWS_SESSION_TOKEN;
  if (!token) throw new Error('AWS_SESSION_TOKEN is not set: secrets are read through the Lambda extension');
  const res = await fetcher(
    `http://localhost:${port}/secretsmanager/get?secretId=${encodeURIComponent(name)}`,
    { headers: { 'X-Aws-Parameters-Secrets-Token': token }, signal: AbortSignal.timeout(3000) },
  );
  const body = await res.text();
  // The extension answers Secrets Manager's own errors with their status: 400 with ResourceNotFound.
  if (res.status === 400 && body.includes('ResourceNotFoundException')) return undefined;
  if (!res.ok) throw new Error(`the secrets extension answered ${res.status} for ${name}`);
  const parsed = JSON.parse(body) as { SecretString?: unknown };
  if (typeof parsed.SecretString !== 'string') throw new Error(`secret ${name} has no string value`);
  return parsed.SecretString;
}

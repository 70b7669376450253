// The delivery-feedback settings a channel's configuration adds (shared/senders/config.ts calls these):
// the public base URL that unsubscribe links and Twilio status callbacks point at, and the unsubscribe
// token key. In AWS the key is a secret read by name; locally its value comes from the environment.
//   PUBLIC_BASE_URL              https URL of the API stage (CDK sets it), e.g. https://…/prod
//   UNSUBSCRIBE_KEY_SECRET_NAME  Secrets Manager name of the token key | UNSUBSCRIBE_TOKEN_KEY (local)
import { optionalEnv } from '../env.ts';
import { MIN_KEY_LENGTH } from './unsubscribe-token.ts';

const PUBLIC_BASE_URL = 'PUBLIC_BASE_URL';
export const UNSUBSCRIBE_KEY_SECRET_NAME = 'UNSUBSCRIBE_KEY_SECRET_NAME';
export const UNSUBSCRIBE_TOKEN_KEY = 'UNSUBSCRIBE_TOKEN_KEY';

/** The path Twilio posts message statuses to. */
const TWILIO_STATUS_PATH = '/v1/public/hooks/twilio/status';

export function publicBaseUrl(env: NodeJS.ProcessEnv): string | { missing: string } {
  const raw = optionalEnv(PUBLIC_BASE_URL, env);
  if (!raw) return { missing: `${PUBLIC_BASE_URL} is not set` };
  try {
    const url = new URL(raw);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('not http(s)');
    return raw.replace(/\/+$/, '');
  } catch {
    return { missing: `${PUBLIC_BASE_URL} is not an http(s) URL` };
  }
}

/** The unsubscribe settings of the email channel, or why there are none. */
export async function unsubscribeSettings(
  env: NodeJS.ProcessEnv,
  readSecret: (name: string) => Promise<string | undefined>,
): Promise<{ key: string; publicBaseUrl: string } | { missing: string }> {
  const base = publicBaseUrl(env);
  if (typeof base !== 'string') return base;
  const secretName = optionalEnv(UNSUBSCRIBE_KEY_SECRET_NAME, env);
  const key = secretName ? await readSecret(secretName) : optionalEnv(UNSUBSCRIBE_TOKEN_KEY, env);
  if (key === undefined)
    return {
      missing: secretName
        ? `secret ${secretName} (${UNSUBSCRIBE_KEY_SECRET_NAME}) does not exist`
        : `neither ${UNSUBSCRIBE_KEY_SECRET_NAME} nor ${UNSUBSCRIBE_TOKEN_KEY} is set`,
    };
  if (key.length < MIN_KEY_LENGTH)
    return { missing: `the unsubscribe token key is shorter than ${MIN_KEY_LENGTH} characters` };
  return { key, publicBaseUrl: base };
}

/** Where Twilio should post statuses; undefined when the service has no public URL (no receipts then). */
export function twilioStatusCallbackUrl(env: NodeJS.ProcessEnv): string | undefined {
  const base = publicBaseUrl(env);
  return typeof base === 'string' ? `${base}${TWILIO_STATUS_PATH}` : undefined;
}

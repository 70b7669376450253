// Secrets Manager access for the senders that hold a credential (Slack, Twilio, webhook signing). Its own
// module so that only those senders' bundles carry the Secrets Manager client. Powertools fetches (its own
// cache bypassed); the one cache is maxAgeCache's, so a rotated secret is used within `maxAgeSeconds`.
import { maxAgeCache, type Now } from '../secrets/max-age.ts';
import type { SecretReader } from './config.ts';

/** One read from Secrets Manager: the value, or throws (ResourceNotFoundException as the error's cause). */
export type SecretFetch = (name: string) => Promise<string | Uint8Array | undefined>;

const powertoolsFetch: SecretFetch = async (name) => {
  const { getSecret } = await import('@aws-lambda-powertools/parameters/secrets');
  return getSecret(name, { forceFetch: true });
};

/** A SecretReader over Secrets Manager through Powertools parameters, each answer kept `maxAgeSeconds`. */
export function powertoolsSecretReader(
  maxAgeSeconds: number,
  fetchSecret: SecretFetch = powertoolsFetch,
  now: Now = Date.now,
): SecretReader {
  return maxAgeCache(
    async (name) => {
      try {
        const value = await fetchSecret(name);
        if (value === undefined) return undefined;
        return typeof value === 'string' ? value : new TextDecoder().decode(value);
      } catch (error) {
        // A secret that does not exist is reported as such (and kept like a value); any other failure with its
        // own words. Both make the channel misconfigured: its messages fail and wait in the DLQ until fixed.
        if (
          error instanceof Error &&
          error.cause instanceof Error &&
          error.cause.name === 'ResourceNotFoundException'
        ) {
          return undefined;
        }
        throw error;
      }
    },
    maxAgeSeconds,
    now,
  );
}

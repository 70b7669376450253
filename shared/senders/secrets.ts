// Secrets Manager access for the senders that hold a credential (Slack, Twilio, webhook signing). Its own
// module so that only those senders' bundles carry the Secrets Manager client.
import type { SecretReader } from './config.ts';

/** A SecretReader over Secrets Manager through Powertools parameters, cached for `maxAgeSeconds`. */
export function powertoolsSecretReader(maxAgeSeconds: number): SecretReader {
  return async (name) => {
    const { getSecret } = await import('@aws-lambda-powertools/parameters/secrets');
    try {
      const value = await getSecret(name, { maxAge: maxAgeSeconds });
      if (value === undefined) return undefined;
      return typeof value === 'string' ? value : new TextDecoder().decode(value);
    } catch (error) {
      // A secret that does not exist is reported as such; any other failure with its own words. Both make the
      // channel misconfigured: its messages fail and wait in the DLQ until the secret is fixed.
      if (
        error instanceof Error &&
        error.cause instanceof Error &&
        error.cause.name === 'ResourceNotFoundException'
      ) {
        return undefined;
      }
      throw error;
    }
  };
}

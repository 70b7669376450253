// The keys the public routes verify with: the unsubscribe token key and the Twilio auth token (Twilio signs
// its callbacks with it). By name from Secrets Manager in AWS (through the Lambda extension), by value from
// the environment locally:
//   UNSUBSCRIBE_KEY_SECRET_NAME | UNSUBSCRIBE_TOKEN_KEY
//   TWILIO_SECRET_NAME (JSON {"accountSid","authToken"}) | TWILIO_ACCOUNT_SID + TWILIO_AUTH_TOKEN
// A missing key is a deployment error (the route answers 500 and logs it), never a pass.
import * as v from 'valibot';
import { UNSUBSCRIBE_KEY_SECRET_NAME, UNSUBSCRIBE_TOKEN_KEY } from '../consent/channel-settings.ts';
import { MIN_KEY_LENGTH } from '../consent/unsubscribe-token.ts';
import { optionalEnv } from '../env.ts';
import { safeParse } from '../schema.ts';

export type SecretReader = (name: string) => Promise<string | undefined>;

export class MissingKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MissingKeyError';
  }
}

export interface TwilioCredentials {
  readonly accountSid: string;
  readonly authToken: string;
}

export interface PublicSecrets {
  unsubscribeKey(): Promise<string>;
  twilio(): Promise<TwilioCredentials>;
}

const TwilioSchema = v.object({
  accountSid: v.pipe(v.string(), v.regex(/^AC[0-9a-fA-F]{32}$/)),
  authToken: v.pipe(v.string(), v.minLength(16)),
});

export function publicSecretsFromEnv(env: NodeJS.ProcessEnv, readSecret: SecretReader): PublicSecrets {
  return {
    async unsubscribeKey() {
      const name = optionalEnv(UNSUBSCRIBE_KEY_SECRET_NAME, env);
      const key = name ? await readSecret(name) : optionalEnv(UNSUBSCRIBE_TOKEN_KEY, env);
      if (!key || key.length < MIN_KEY_LENGTH)
        throw new MissingKeyError(
          `no unsubscribe token key of ${MIN_KEY_LENGTH}+ characters (${UNSUBSCRIBE_KEY_SECRET_NAME} or ${UNSUBSCRIBE_TOKEN_KEY})`,
        );
      return key;
    },
    async twilio() {
      const name = optionalEnv('TWILIO_SECRET_NAME', env);
      let candidate: unknown;
      if (name) {
        const raw = await readSecret(name);
        try {
          candidate = raw === undefined ? undefined : JSON.parse(raw);
        } catch {
          candidate = undefined;
        }
      } else {
        candidate = {
          accountSid: optionalEnv('TWILIO_ACCOUNT_SID', env),
          authToken: optionalEnv('TWILIO_AUTH_TOKEN', env),
        };
      }
      const parsed = safeParse(TwilioSchema, candidate);
      if (!parsed.success)
        throw new MissingKeyError(
          'no valid Twilio credentials (TWILIO_SECRET_NAME or TWILIO_ACCOUNT_SID + TWILIO_AUTH_TOKEN)',
        );
      return parsed.data;
    },
  };
}

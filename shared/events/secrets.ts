// The keys the webhook routes verify with (#14): Stripe's endpoint signing secret (`whsec_…`) and the Shopify
// app's client secret. By name from Secrets Manager in AWS (through the Lambda extension), by value from the
// environment locally:  STRIPE_WEBHOOK_SECRET_NAME | STRIPE_WEBHOOK_SECRET,
//                       SHOPIFY_WEBHOOK_SECRET_NAME | SHOPIFY_WEBHOOK_SECRET.
// A missing key is a deployment error (the route answers 500 and logs it), never a pass.
import { optionalEnv } from '../env.ts';
import { MissingKeyError, type SecretReader } from '../public/secrets.ts';

export interface HookSecrets {
  stripe(): Promise<string>;
  shopify(): Promise<string>;
}

export const MIN_HOOK_SECRET_LENGTH = 16;

export function hookSecretsFromEnv(env: NodeJS.ProcessEnv, readSecret: SecretReader): HookSecrets {
  const read = async (nameVar: string, valueVar: string, what: string) => {
    const name = optionalEnv(nameVar, env);
    const value = name ? await readSecret(name) : optionalEnv(valueVar, env);
    if (!value || value.trim().length < MIN_HOOK_SECRET_LENGTH)
      throw new MissingKeyError(
        `no ${what} of ${MIN_HOOK_SECRET_LENGTH}+ characters (${nameVar} or ${valueVar})`,
      );
    return value.trim();
  };
  return {
    stripe: () =>
      read('STRIPE_WEBHOOK_SECRET_NAME', 'STRIPE_WEBHOOK_SECRET', 'Stripe webhook signing secret'),
    shopify: () => read('SHOPIFY_WEBHOOK_SECRET_NAME', 'SHOPIFY_WEBHOOK_SECRET', 'Shopify webhook secret'),
  };
}

// Secrets age out: the secret reader every function uses (the Parameters and Secrets extension's) keeps an
// answer, "not found" included, for at most SECRETS_MAX_AGE_SECONDS. A fetcher whose answer changes and a clock the
// test moves: a rotated Twilio token, Stripe and Shopify webhook secrets and unsubscribe key are used once the
// max age has passed, and a secret created after a "not found" is then found.
import { describe, expect, it } from 'vitest';
import { hookSecretsFromEnv } from '../../../shared/events/secrets.ts';
import { publicSecretsFromEnv } from '../../../shared/public/secrets.ts';
import { extensionSecretReader } from '../../../shared/secrets/extension.ts';
import { secretsMaxAge } from '../../../shared/secrets/max-age.ts';

/** Secrets Manager's current contents; tests rotate, delete and create. */
const store = new Map<string, string>();
/** How many times each name was fetched from the store. */
const fetches = new Map<string, number>();

function clock(start = Date.UTC(2026, 2, 2, 10)) {
  let t = start;
  return { now: () => t, advanceSeconds: (s: number) => (t += s * 1000) };
}

/** The extension's localhost API over `store`: 200 with SecretString, or 400 ResourceNotFoundException. */
const extensionFetch: typeof fetch = async (input) => {
  const name = new URL(String(input)).searchParams.get('secretId') ?? '';
  fetches.set(name, (fetches.get(name) ?? 0) + 1);
  const value = store.get(name);
  if (value === undefined) {
    return new Response(JSON.stringify({ __type: 'ResourceNotFoundException' }), { status: 400 });
  }
  return new Response(JSON.stringify({ Name: name, SecretString: value }), { status: 200 });
};

const TWILIO = (token: string) =>
  JSON.stringify({ accountSid: `AC${'0'.repeat(32)}`, authToken: `${token}-auth-token-0123456789` });
const KEY = (n: number) => `unsubscribe-key-${n}-`.padEnd(40, 'x');

const ENV = {
  AWS_SESSION_TOKEN: 'token',
  SECRETS_MAX_AGE_SECONDS: '300',
  TWILIO_SECRET_NAME: 'twilio',
  UNSUBSCRIBE_KEY_SECRET_NAME: 'unsubscribe',
  STRIPE_WEBHOOK_SECRET_NAME: 'stripe',
  SHOPIFY_WEBHOOK_SECRET_NAME: 'shopify',
};

describe('the extension reader (every sender, receipts, ingest, API)', () => {
  it('uses a rotated Twilio token and unsubscribe key once SECRETS_MAX_AGE_SECONDS has passed, not before', async () => {
    // Prepare
    store.set('twilio', TWILIO('first'));
    store.set('unsubscribe', KEY(1));
    const time = clock();
    const secrets = publicSecretsFromEnv(ENV, extensionSecretReader(ENV, extensionFetch, time.now));
    expect((await secrets.twilio()).authToken).toMatch(/^first-/);
    expect(await secrets.unsubscribeKey()).toBe(KEY(1));
    // Act
    store.set('twilio', TWILIO('second'));
    store.set('unsubscribe', KEY(2));
    time.advanceSeconds(299);
    const before = [(await secrets.twilio()).authToken, await secrets.unsubscribeKey()];
    time.advanceSeconds(1);
    const after = [(await secrets.twilio()).authToken, await secrets.unsubscribeKey()];
    // Assess
    expect(before).toEqual([expect.stringMatching(/^first-/), KEY(1)]);
    expect(after).toEqual([expect.stringMatching(/^second-/), KEY(2)]);
  });

  it('uses rotated Stripe and Shopify webhook secrets after the max age', async () => {
    // Prepare
    store.set('stripe', 'whsec_first_0123456789abcdef');
    store.set('shopify', 'shopify-first-0123456789');
    const time = clock();
    const hooks = hookSecretsFromEnv(ENV, extensionSecretReader(ENV, extensionFetch, time.now));
    await hooks.stripe();
    await hooks.shopify();
    // Act
    store.set('stripe', 'whsec_second_0123456789abcdef');
    store.set('shopify', 'shopify-second-0123456789');
    time.advanceSeconds(300);
    // Assess
    expect(await hooks.stripe()).toBe('whsec_second_0123456789abcdef');
    expect(await hooks.shopify()).toBe('shopify-second-0123456789');
  });

  it('keeps "not found" for the max age too, then finds the secret once created', async () => {
    // Prepare
    store.delete('late');
    fetches.delete('late');
    const time = clock();
    const read = extensionSecretReader({ ...ENV, SECRETS_MAX_AGE_SECONDS: '60' }, extensionFetch, time.now);
    // Act
    const missing = await read('late');
    store.set('late', 'now-here');
    time.advanceSeconds(59);
    const stillMissing = await read('late');
    time.advanceSeconds(1);
    const found = await read('late');
    // Assess
    expect([missing, stillMissing, found]).toEqual([undefined, undefined, 'now-here']);
    expect(fetches.get('late')).toBe(2);
  });

  it('forgets a failed read at once, so the next call tries again', async () => {
    // Prepare
    let calls = 0;
    const flaky: typeof fetch = async (input, init) => {
      calls += 1;
      if (calls === 1) return new Response('throttled', { status: 500 });
      return extensionFetch(input, init);
    };
    store.set('flaky', 'value');
    const read = extensionSecretReader(ENV, flaky, clock().now);
    // Act
    const first = await read('flaky').catch((error: Error) => error.message);
    const second = await read('flaky');
    // Assess
    expect(first).toContain('answered 500');
    expect(second).toBe('value');
  });

  it('defaults to 300 seconds', () => {
    expect(secretsMaxAge({})).toBe(300);
    expect(() => secretsMaxAge({ SECRETS_MAX_AGE_SECONDS: 'soon' })).toThrow(/SECRETS_MAX_AGE_SECONDS/);
  });
});

// Which channels may send, and with what credentials. A channel not listed in ENABLED_CHANNELS is disabled on
// purpose: its messages are recorded `skipped channel_disabled`. A channel that is listed but whose settings
// or credentials are missing or unreadable is *misconfigured*: that is an error, not a skip — its messages
// fail, are retried, reach the DLQ and page, and wait there to be replayed once the configuration is fixed.
//
// Environment (all optional; secrets by *name* in AWS, by value locally):
//   ENABLED_CHANNELS              comma-separated: email,slack,sms,whatsapp,webhook
//   email     SES_FROM_ADDRESS (verified identity), SES_CONFIGURATION_SET, SES_ENDPOINT (local emulator)
//   slack     SLACK_WEBHOOK_SECRET_NAME (secret string = webhook URL) | SLACK_WEBHOOK_URL (local)
//   sms       SMS_FROM_NUMBER (E.164) + Twilio credentials
//   whatsapp  WHATSAPP_FROM_NUMBER (E.164, no `whatsapp:`) + Twilio credentials
//             TWILIO_SECRET_NAME (secret JSON {"accountSid","authToken"}) | TWILIO_ACCOUNT_SID + TWILIO_AUTH_TOKEN (local)
//             TWILIO_API_BASE_URL (local receiver; default the Twilio API)
//   webhook   WEBHOOK_SIGNING_SECRET_NAME (secret string) | WEBHOOK_SIGNING_SECRET (local, ≥ 16 chars)
//             WEBHOOK_ALLOW_HTTP=true (local receivers only; https is required otherwise)
//   PROVIDER_TIMEOUT_MS (default 5000), SECRETS_MAX_AGE_SECONDS (cache, default 300), STAGE
// Locally these come from the environment or an untracked `.env` (see loadLocalEnvFile).
import { existsSync } from 'node:fs';
import * as v from 'valibot';
import { twilioStatusCallbackUrl, unsubscribeSettings } from '../consent/channel-settings.ts';
import { optionalEnv } from '../env.ts';

export { secretsMaxAge } from '../secrets/max-age.ts';

import { CHANNEL_QUEUES, type Channel, maxProviderTimeoutMs } from '../infra/resources.ts';
import { isStandardWebhookSecret } from '../providers/webhook-signature.ts';
import {
  describeIssues,
  e164,
  email,
  httpUrl,
  type Issue,
  integer,
  numberFromText,
  safeParse,
  text,
} from '../schema.ts';

const DEFAULT_PROVIDER_TIMEOUT_MS = 5000;

interface Common {
  readonly timeoutMs: number;
}

export type EnabledChannelConfig =
  | (Common & {
      readonly channel: 'email';
      readonly fromAddress: string;
      readonly configurationSetName?: string;
      readonly sesEndpoint?: string;
      readonly region?: string;
      /** One-click unsubscribe (RFC 8058) of recovery emails: token key and public base URL (#13). */
      readonly unsubscribe: { readonly key: string; readonly publicBaseUrl: string };
    })
  | (Common & { readonly channel: 'slack'; readonly webhookUrl: string })
  | (Common & {
      readonly channel: 'sms' | 'whatsapp';
      readonly accountSid: string;
      readonly authToken: string;
      readonly from: string;
      readonly apiBaseUrl?: string;
      /** Where Twilio posts message statuses (#13); absent without a public base URL. */
      readonly statusCallbackUrl?: string;
    })
  | (Common & { readonly channel: 'webhook'; readonly signingSecret: string; readonly allowHttp: boolean });

export type ChannelConfig =
  | ({ readonly enabled: true } & EnabledChannelConfig)
  /** Not in ENABLED_CHANNELS: a deliberate choice (`skipped`). */
  | { readonly enabled: false; readonly channel: Channel; readonly reason: string }
  /** Enabled, but it cannot send: a missing or unreadable secret, identity or setting (an error). */
  | {
      readonly enabled: false;
      readonly misconfigured: true;
      readonly channel: Channel;
      readonly reason: string;
    };

/** Resolves a channel's configuration; called per message, cheap after the first call (secrets cached). */
export type ChannelConfigSource = (channel: Channel) => Promise<ChannelConfig>;

/** Reads a secret's string value by name; undefined when the secret does not exist. */
export type SecretReader = (name: string) => Promise<string | undefined>;

const HttpUrl = httpUrl();
const TwilioSecretSchema = v.object({
  accountSid: v.pipe(v.string(), v.regex(/^AC[0-9a-fA-F]{32}$/, 'AC followed by 32 hex digits')),
  authToken: text(16),
});

function disabled(channel: Channel, reason: string): ChannelConfig {
  return { enabled: false, channel, reason };
}

/** An error's kind and words, never a secret's value (the readers' errors name the secret, not its content). */
function errorName(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}`.slice(0, 300) : 'unknown error';
}

function firstIssue(issues: readonly Issue[]): string {
  return issues.length ? describeIssues(issues.slice(0, 1), 'value') : 'invalid';
}

function enabledChannels(env: NodeJS.ProcessEnv): Set<string> {
  return new Set(
    (optionalEnv('ENABLED_CHANNELS', env) ?? '')
      .split(',')
      .map((c) => c.trim().toLowerCase())
      .filter(Boolean),
  );
}

/** Below the sender's timeout minus the `sent` write's budget: a provider answer always leaves time to record it. */
const MAX_PROVIDER_TIMEOUT_MS = Math.min(...CHANNEL_QUEUES.map(maxProviderTimeoutMs));

function timeoutOf(env: NodeJS.ProcessEnv): number {
  const parsed = safeParse(
    numberFromText(integer(100, MAX_PROVIDER_TIMEOUT_MS)),
    optionalEnv('PROVIDER_TIMEOUT_MS', env) ?? DEFAULT_PROVIDER_TIMEOUT_MS,
  );
  if (!parsed.success) throw new Error(`PROVIDER_TIMEOUT_MS: ${firstIssue(parsed.issues)}`);
  return parsed.data;
}

/** A secret from its *_SECRET_NAME, else the local value from env; `undefined` with the reason when neither. */
async function secretOrEnv(
  env: NodeJS.ProcessEnv,
  readSecret: SecretReader,
  nameVar: string,
  localVar: string,
): Promise<{ value: string } | { missing: string }> {
  const secretName = optionalEnv(nameVar, env);
  if (secretName) {
    let value: string | undefined;
    try {
      value = await readSecret(secretName);
    } catch (error) {
      return { missing: `secret ${secretName} (${nameVar}) could not be read: ${errorName(error)}` };
    }
    return value === undefined ? { missing: `secret ${secretName} (${nameVar}) does not exist` } : { value };
  }
  const local = optionalEnv(localVar, env);
  return local === undefined ? { missing: `neither ${nameVar} nor ${localVar} is set` } : { value: local };
}

async function twilioCredentials(
  env: NodeJS.ProcessEnv,
  readSecret: SecretReader,
): Promise<{ accountSid: string; authToken: string } | { missing: string }> {
  const secretName = optionalEnv('TWILIO_SECRET_NAME', env);
  let candidate: unknown;
  if (secretName) {
    let raw: string | undefined;
    try {
      raw = await readSecret(secretName);
    } catch (error) {
      return { missing: `secret ${secretName} (TWILIO_SECRET_NAME) could not be read: ${errorName(error)}` };
    }
    if (raw === undefined) return { missing: `secret ${secretName} (TWILIO_SECRET_NAME) does not exist` };
    try {
      candidate = JSON.parse(raw);
    } catch {
      return { missing: `secret ${secretName} is not JSON {"accountSid","authToken"}` };
    }
  } else {
    const accountSid = optionalEnv('TWILIO_ACCOUNT_SID', env);
    const authToken = optionalEnv('TWILIO_AUTH_TOKEN', env);
    if (!accountSid || !authToken) {
      return { missing: 'neither TWILIO_SECRET_NAME nor TWILIO_ACCOUNT_SID + TWILIO_AUTH_TOKEN is set' };
    }
    candidate = { accountSid, authToken };
  }
  const parsed = safeParse(TwilioSecretSchema, candidate);
  // Never echo the value: only which field is wrong.
  return parsed.success
    ? parsed.data
    : { missing: `Twilio credentials invalid (${firstIssue(parsed.issues)})` };
}

/** The parts of a channel's configuration every channel has, and how an unusable one is reported. */
interface ConfigBasis {
  readonly timeoutMs: number;
  readonly unconfigured: (why: string) => ChannelConfig;
}

/** One channel's settings from env (and secrets), once the channel is known to be enabled. */
export type ChannelResolver = (
  channel: Channel,
  env: NodeJS.ProcessEnv,
  readSecret: SecretReader,
  basis: ConfigBasis,
) => Promise<ChannelConfig>;

export const emailConfig: ChannelResolver = async (
  _channel,
  env,
  readSecret,
  { timeoutMs, unconfigured },
) => {
  const from = safeParse(email, optionalEnv('SES_FROM_ADDRESS', env));
  if (!from.success) return unconfigured('SES_FROM_ADDRESS must be a verified sender address');
  const unsubscribe = await unsubscribeSettings(env, readSecret);
  if ('missing' in unsubscribe) return unconfigured(unsubscribe.missing);
  return {
    enabled: true,
    channel: 'email',
    timeoutMs,
    fromAddress: from.data,
    configurationSetName: optionalEnv('SES_CONFIGURATION_SET', env),
    sesEndpoint: optionalEnv('SES_ENDPOINT', env),
    region: optionalEnv('AWS_REGION', env),
    unsubscribe,
  };
};

export const slackConfig: ChannelResolver = async (
  _channel,
  env,
  readSecret,
  { timeoutMs, unconfigured },
) => {
  const secret = await secretOrEnv(env, readSecret, 'SLACK_WEBHOOK_SECRET_NAME', 'SLACK_WEBHOOK_URL');
  if ('missing' in secret) return unconfigured(secret.missing);
  const url = safeParse(HttpUrl, secret.value.trim());
  if (!url.success) return unconfigured('the Slack webhook is not an http(s) URL');
  return { enabled: true, channel: 'slack', timeoutMs, webhookUrl: url.data };
};

/** SMS and WhatsApp: both through Twilio. */
export const twilioConfig: ChannelResolver = async (
  channel,
  env,
  readSecret,
  { timeoutMs, unconfigured },
) => {
  if (channel !== 'sms' && channel !== 'whatsapp') return unconfigured(`${channel} is not a Twilio channel`);
  const fromVar = channel === 'sms' ? 'SMS_FROM_NUMBER' : 'WHATSAPP_FROM_NUMBER';
  const from = safeParse(e164, optionalEnv(fromVar, env)?.replace(/^whatsapp:/, ''));
  if (!from.success) return unconfigured(`${fromVar} must be an E.164 number`);
  const credentials = await twilioCredentials(env, readSecret);
  if ('missing' in credentials) return unconfigured(credentials.missing);
  const base = optionalEnv('TWILIO_API_BASE_URL', env);
  if (base !== undefined && !safeParse(HttpUrl, base).success)
    return unconfigured('TWILIO_API_BASE_URL is not a URL');
  const statusCallbackUrl = twilioStatusCallbackUrl(env);
  return {
    enabled: true,
    channel,
    timeoutMs,
    ...credentials,
    from: from.data,
    apiBaseUrl: base,
    ...(statusCallbackUrl ? { statusCallbackUrl } : {}),
  };
};

export const webhookConfig: ChannelResolver = async (
  _channel,
  env,
  readSecret,
  { timeoutMs, unconfigured },
) => {
  const secret = await secretOrEnv(env, readSecret, 'WEBHOOK_SIGNING_SECRET_NAME', 'WEBHOOK_SIGNING_SECRET');
  if ('missing' in secret) return unconfigured(secret.missing);
  if (secret.value.length < 16)
    return unconfigured('the webhook signing secret is shorter than 16 characters');
  if (!isStandardWebhookSecret(secret.value))
    return unconfigured('the webhook signing secret must be whsec_ followed by base64 (Standard Webhooks)');
  return {
    enabled: true,
    channel: 'webhook',
    timeoutMs,
    signingSecret: secret.value,
    allowHttp: optionalEnv('WEBHOOK_ALLOW_HTTP', env) === 'true',
  };
};

/** Every channel's resolver: the local runtime and tests, which stand in for all five senders. */
const RESOLVERS: Record<Channel, ChannelResolver> = {
  email: emailConfig,
  slack: slackConfig,
  sms: twilioConfig,
  whatsapp: twilioConfig,
  webhook: webhookConfig,
};

/**
 * Resolves one channel's configuration from env (and secrets). A secret that cannot be read (Secrets
 * Manager down, access denied) is reported as misconfigured with the reason, like a missing one. A deployed
 * sender passes its own channel's resolver, so its bundle holds no other channel's settings code.
 */
export function resolveChannelConfig(
  channel: Channel,
  env: NodeJS.ProcessEnv,
  readSecret: SecretReader,
): Promise<ChannelConfig> {
  return resolveWith(RESOLVERS[channel], channel, env, readSecret);
}

async function resolveWith(
  resolver: ChannelResolver,
  channel: Channel,
  env: NodeJS.ProcessEnv,
  readSecret: SecretReader,
): Promise<ChannelConfig> {
  if (!enabledChannels(env).has(channel)) return disabled(channel, 'channel_disabled');
  return resolver(channel, env, readSecret, {
    timeoutMs: timeoutOf(env),
    unconfigured: (why) => ({
      enabled: false,
      misconfigured: true,
      channel,
      reason: `channel_unconfigured: ${why}`,
    }),
  });
}

/** Channel settings from env, credentials through `readSecret` (Secrets Manager in AWS: ./secrets.ts). */
export function channelConfigFromEnv(env: NodeJS.ProcessEnv, readSecret: SecretReader): ChannelConfigSource {
  return (channel) => resolveChannelConfig(channel, env, readSecret);
}

/** One channel's settings from env through its own resolver: a deployed sender's, with nothing of the others. */
export function ownChannelConfig(
  resolver: ChannelResolver,
  env: NodeJS.ProcessEnv,
  readSecret: SecretReader,
): ChannelConfigSource {
  return (channel) => resolveWith(resolver, channel, env, readSecret);
}

/** For channels that read no secret (email): reading one is a wiring error, and fails loudly. */
export const noSecrets: SecretReader = async (name) => {
  throw new Error(`this sender reads no secrets, yet was asked for ${name}`);
};

/** A fixed configuration (tests, benchmarks): channels absent from `configs` are disabled. */
export function staticChannelConfig(configs: Partial<Record<Channel, ChannelConfig>>): ChannelConfigSource {
  return async (channel) => configs[channel] ?? disabled(channel, 'channel_disabled');
}

/**
 * Loads an untracked `.env` into process.env for the local runtime (existing variables win). Node's own
 * loader (20.12+) when present; nothing happens without the file.
 */
export function loadLocalEnvFile(path = '.env'): boolean {
  if (!existsSync(path)) return false;
  const loader = (process as { loadEnvFile?: (path: string) => void }).loadEnvFile;
  if (!loader)
    throw new Error(`this Node has no process.loadEnvFile; export the variables of ${path} instead`);
  loader(path);
  return true;
}

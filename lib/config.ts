// Deployment configuration: CDK context (cdk.json defaults, `-c key=value` overrides) validated at synth, so a
// typo or a missing sender identity fails `cdk synth` with a list of what is wrong, not a half-configured stack.
import * as v from 'valibot';
import { TimeoutRuleSchema } from '../shared/domain/deadline.ts';
import { SECRETS, type SecretId } from '../shared/infra/functions.ts';
import { DEFAULT_METRICS_NAMESPACE } from '../shared/infra/metrics.ts';
import {
  CHANNEL_QUEUES,
  CHANNELS,
  type Channel,
  DEFAULT_SHARDS,
  JOB_DESCRIPTIONS,
  maxProviderTimeoutMs,
} from '../shared/infra/resources.ts';
import { OpsRecipientsSchema } from '../shared/messages.ts';
import { email, finiteNumber, integer, numberFromText, objectOf, text } from '../shared/schema.ts';

// `-c key=value` always arrives as a string while cdk.json gives JSON values: accept both.

/** The words `-c key=…` may use for a boolean, in any case. */
const TRUE_WORDS = ['true', '1', 'yes', 'on', 'y', 'enabled'];
const FALSE_WORDS = ['false', '0', 'no', 'off', 'n', 'disabled'];
const flag = v.union(
  [
    v.boolean(),
    v.pipe(
      v.string(),
      v.toLowerCase(),
      v.picklist([...TRUE_WORDS, ...FALSE_WORDS]),
      v.transform((word) => TRUE_WORDS.includes(word)),
    ),
  ],
  'true or false (also yes/no, on/off, y/n, 1/0, enabled/disabled)',
);

const int = (min: number, max: number) => numberFromText(integer(min, max));

/** A list in cdk.json, or its comma-separated text from `-c key=a,b`. */
const list = <S extends v.GenericSchema<string, string>>(item: S) =>
  v.pipe(
    v.unknown(),
    v.transform((value) =>
      typeof value === 'string'
        ? value
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : value,
    ),
    v.array(item),
  );

/** Retention values CloudWatch Logs accepts. */
const RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 3653,
] as const;

/** An object in cdk.json, or its JSON text from `-c key='{...}'`. */
const jsonObject = <S extends v.GenericSchema>(schema: S) =>
  v.pipe(
    v.unknown(),
    v.rawTransform(({ dataset, addIssue, NEVER }) => {
      if (typeof dataset.value !== 'string') return dataset.value;
      try {
        return JSON.parse(dataset.value) as unknown;
      } catch {
        addIssue({ message: 'not valid JSON' });
        return NEVER;
      }
    }),
    schema,
  );

/** Rules by session kind (an object; reserved keys refused). */
const TimeoutRulesSchema = objectOf(TimeoutRuleSchema);

/** An https URL as `new URL` reads it; kept as written, trimmed and without tabs or line breaks. */
const httpsUrl = v.pipe(
  v.string(),
  v.trim(),
  v.transform((s) => s.replace(/[\t\n\r]/g, '')),
  v.check((s) => {
    try {
      return new URL(s).protocol === 'https:';
    } catch {
      return false;
    }
  }, 'Invalid URL'),
);
const e164 = v.pipe(v.string(), v.regex(/^\+[1-9]\d{6,14}$/, 'an E.164 number such as +15551234567'));
const secretNameSchema = v.pipe(v.string(), v.regex(/^[\w/+=.@-]{1,512}$/, 'a Secrets Manager secret name'));

/** The tightest sender: its provider timeout bounds the one setting every sender shares. */
const MAX_PROVIDER_TIMEOUT_MS = Math.min(...CHANNEL_QUEUES.map(maxProviderTimeoutMs));
const TIGHTEST_SENDER = CHANNEL_QUEUES.find((q) => maxProviderTimeoutMs(q) === MAX_PROVIDER_TIMEOUT_MS);
const SENDER_TIMEOUT_SECONDS = TIGHTEST_SENDER?.senderTimeoutSeconds ?? 0;
const SENT_WRITE_BUDGET_MS = TIGHTEST_SENDER?.sentWriteBudgetMs ?? 0;

const ConfigEntries = v.object({
  /** Deployment stage; part of every physical name. */
  stage: v.pipe(
    v.string(),
    v.regex(/^[a-z][a-z0-9-]{0,15}$/, 'lowercase letters, digits and dashes, 1-16 chars'),
  ),
  /** Prefix of the EMF namespace of the functions' metrics and the alarms; the stack appends `/<stage>`. */
  metricsNamespace: v.optional(
    v.pipe(text(1, 238), v.regex(/^(?!AWS\/)[\w.\-/#: ]+$/, 'letters, digits and . - _ / # : (not AWS/)')),
    DEFAULT_METRICS_NAMESPACE,
  ),
  logLevel: v.optional(v.picklist(['DEBUG', 'INFO', 'WARN', 'ERROR']), 'INFO'),
  logRetentionDays: v.optional(
    numberFromText(
      v.pipe(
        finiteNumber(),
        v.check(
          (n) => (RETENTION_DAYS as readonly number[]).includes(n),
          `one of ${RETENTION_DAYS.join(', ')}`,
        ),
      ),
    ),
    30,
  ),
  /** `retain` keeps tables (and their data) when the stack is deleted. Use `destroy` only for throwaway stages. */
  removalPolicy: v.optional(v.picklist(['retain', 'destroy']), 'retain'),
  indexShards: v.optional(int(1, 256), DEFAULT_SHARDS),

  sweepRateMinutes: v.optional(int(1, 60), JOB_DESCRIPTIONS['recovery-sweep'].rateMinutes),
  monitorRateMinutes: v.optional(int(1, 60), JOB_DESCRIPTIONS['timeout-monitor'].rateMinutes),
  /** Disables the EventBridge rule; pausing a job through the API/CLI is the usual kill switch. */
  sweepScheduleEnabled: v.optional(flag, true),
  monitorScheduleEnabled: v.optional(flag, true),
  /** EventBridge retries of a failed delivery to the function before it goes to the schedule DLQ. */
  scheduleRetryAttempts: v.optional(int(0, 185), 2),
  /** Lambda's own retries of a failed asynchronous (scheduled) invocation; see ScheduledJob. */
  jobAsyncRetryAttempts: v.optional(int(0, 2), 0),

  enabledChannels: v.optional(list(v.picklist(CHANNELS)), []),
  sesFromAddress: v.optional(email),
  /**
   * An existing SES configuration set to send through, imported (not created): the stack only adds its
   * EventBridge event destination. Unset: the stack creates `<prefix>`.
   */
  sesConfigurationSet: v.optional(v.pipe(v.string(), v.regex(/^[\w-]{1,64}$/))),
  /**
   * The Parameters and Secrets extension layer ARN per region (`{"<region>": "arn:aws:lambda:<region>:…"}`),
   * for regions aws-cdk-lib does not know or to pin another layer version. Arm64 layers.
   */
  secretsExtensionLayerArns: v.optional(
    jsonObject(
      v.pipe(
        v.record(
          v.pipe(v.string(), v.regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'a region such as eu-west-1')),
          v.pipe(
            v.string(),
            v.regex(
              /^arn:aws[\w-]*:lambda:[a-z0-9-]+:\d{12}:layer:[\w-]+:\d+$/,
              'a Lambda layer version ARN (arn:aws:lambda:<region>:<account>:layer:<name>:<version>)',
            ),
          ),
        ),
        v.check(
          (arns) => Object.entries(arns).every(([region, arn]) => arn.split(':')[3] === region),
          'each layer ARN must be in the region it is given for',
        ),
      ),
    ),
  ),
  smsFromNumber: v.optional(e164),
  whatsappFromNumber: v.optional(e164),
  slackWebhookSecretName: v.optional(secretNameSchema),
  twilioSecretName: v.optional(secretNameSchema),
  webhookSigningSecretName: v.optional(secretNameSchema),
  /**
   * Secret holding the one-click unsubscribe token key (32+ characters). Unset: the stack generates
   * `session-recovery/<stage>/unsubscribe-key` (while email is enabled); set: a secret you created.
   */
  unsubscribeKeySecretName: v.optional(secretNameSchema),
  /** Product events (#14): Stripe's webhook signing secret; default `session-recovery/<stage>/stripe-webhook`. */
  stripeWebhookSecretName: v.optional(secretNameSchema),
  /** The Shopify app's client secret (webhook HMAC); default `session-recovery/<stage>/shopify-webhook`. */
  shopifyWebhookSecretName: v.optional(secretNameSchema),
  /**
   * Partner event sources to take in (#14), as Stripe and Shopify name them (`aws.partner/stripe.com/ed_…`,
   * `aws.partner/shopify.com/<app id>/<name>`): each gets its partner event bus, forwarded to the stage's bus.
   */
  stripeEventSourceName: v.optional(
    v.pipe(v.string(), v.regex(/^aws\.partner\/stripe\.com\/[\w./-]{1,200}$/)),
  ),
  shopifyEventSourceName: v.optional(
    v.pipe(v.string(), v.regex(/^aws\.partner\/shopify\.com\/[\w./-]{1,200}$/)),
  ),
  /** Minutes after a Shopify checkout's last update before it counts as abandoned. */
  shopifyAbandonAfterMinutes: v.optional(int(1, 7 * 24 * 60), 60),
  /** The org Shopify checkouts belong to (their policy); the default org when unset. */
  shopifyOrgId: v.optional(v.pipe(v.string(), v.regex(/^[\w.:-]{1,128}$/))),
  /**
   * The https base URL the public routes are reached at, for unsubscribe links and Twilio callbacks (a
   * custom domain). Default: the API's own execute-api URL with the stage.
   */
  publicBaseUrl: v.optional(httpsUrl),
  /**
   * API Gateway throttles (requests per second and burst) per method, by who calls: provider callbacks
   * (Twilio, Stripe, Shopify under /v1/public/hooks/), one-click unsubscribe, the product's routes; the
   * operators' routes take the stage default (`apiThrottle*`). Separate buckets: one caller class cannot
   * drain another's.
   */
  callbackThrottleRateLimit: v.optional(int(1, 10_000), 50),
  callbackThrottleBurstLimit: v.optional(int(1, 5_000), 100),
  unsubscribeThrottleRateLimit: v.optional(int(1, 10_000), 10),
  unsubscribeThrottleBurstLimit: v.optional(int(1, 5_000), 20),
  productThrottleRateLimit: v.optional(int(1, 10_000), 50),
  productThrottleBurstLimit: v.optional(int(1, 5_000), 100),
  /** The reputation guard pauses email at or above these 24 h rates (percent); SES reviews at 5 / 0.1. */
  reputationPauseBouncePercent: v.optional(numberFromText(finiteNumber(0.1, 100)), 5),
  reputationPauseComplaintPercent: v.optional(numberFromText(finiteNumber(0.01, 100)), 0.1),
  /** Sends in 24 h below which the guard does not judge (a few bounces of a few sends are no reputation). */
  reputationMinSends: v.optional(int(1, 1_000_000), 100),

  /** Timeout rule per session kind (`default` for the rest); the design's defaults when absent. */
  timeoutRules: v.optional(jsonObject(TimeoutRulesSchema)),
  /** Long-running sessions in one monitor run above which an ops alert goes out (design default 3). */
  maxLongRunning: v.optional(int(0, 100_000)),
  /**
   * How long a sender waits for its provider (ms). At most the sender's timeout less the `sent` write's
   * budget and a second: a provider answer always leaves time to record it before the function ends.
   */
  providerTimeoutMs: v.optional(
    numberFromText(
      v.pipe(
        integer(100),
        v.maxValue(
          MAX_PROVIDER_TIMEOUT_MS,
          `at most ${MAX_PROVIDER_TIMEOUT_MS}: the sender's ${SENDER_TIMEOUT_SECONDS} s timeout must cover it, the ${SENT_WRITE_BUDGET_MS / 1000} s \`sent\` write budget and a second of margin`,
        ),
      ),
    ),
    5000,
  ),
  /** Who receives ops alerts, per channel. */
  opsAlertRecipients: v.optional(jsonObject(OpsRecipientsSchema)),

  onCallEmails: v.optional(list(email), []),
  onCallHttpsUrls: v.optional(list(httpsUrl), []),

  /** Sender failures as a percentage of sends, over 5 minutes, above which the channel pages. */
  alarmSenderErrorRatePercent: v.optional(numberFromText(finiteNumber(1, 100)), 20),
  /** Sends in 5 minutes below which the error rate is not judged (one failure of two is not an outage). */
  alarmSenderMinSends: v.optional(int(1, 10_000), 5),
  alarmApi5xxRatePercent: v.optional(numberFromText(finiteNumber(0.1, 100)), 5),
  /** Stuck sessions the monitor may report before paging; 0 pages on the first. */
  alarmStuckSessionsThreshold: v.optional(int(0, 100_000), 0),
  /** A channel queue's oldest message older than this (minutes) pages: its sender is not keeping up. */
  alarmQueueAgeMinutes: v.optional(int(1, 720), 15),

  /** How long a claimer owns the dispatch of its attempt before a later sweep re-dispatches it (seconds). */
  dispatchLeaseSeconds: v.optional(int(5, 3600), 60),
  /**
   * How long past its due time a reminder waits, at most, for the previous one's notifications to reach a
   * final outcome (minutes): a channel that stays down delays the next reminder by this much, no more.
   */
  outcomeWaitMinutes: v.optional(int(0, 7 * 24 * 60), 60),
  /** Dispatch failures in a row after which a sweep stops claiming for that run (and fails). */
  dispatchFailureLimit: v.optional(int(1, 1000), 3),

  apiThrottleRateLimit: v.optional(int(1, 10_000), 20),
  apiThrottleBurstLimit: v.optional(int(1, 5_000), 40),
  /** Put a WAFv2 web ACL (AWS managed common rules and a rate limit) in front of the API. */
  apiWaf: v.optional(flag, false),
  /** Let this stack set the account-wide API Gateway CloudWatch role (needed for execution logs). */
  apiCloudWatchRole: v.optional(flag, true),

  /**
   * `esbuild` bundles every handler (cdk synth / deploy). `stub` puts a placeholder inline instead, for
   * template tests that check infrastructure, not code, and should not pay for nine bundles.
   */
  bundling: v.optional(v.picklist(['esbuild', 'stub']), 'esbuild'),
});

type Entries = v.InferOutput<typeof ConfigEntries>;
const enabled = (config: Entries, channel: Channel) => config.enabledChannels.includes(channel);

/**
 * Each key reports its first problem only (`abortPipeEarly` inside); the pipe itself runs on, so the sender
 * identity an enabled channel needs is checked whenever every key has the right type, and a missing one is
 * listed with the other mistakes rather than after they are fixed.
 */
export const ConfigSchema = v.pipe(
  v.config(ConfigEntries, { abortPipeEarly: true }),
  v.forward(
    v.check(
      (c) => !enabled(c, 'email') || c.sesFromAddress !== undefined,
      'required when email is enabled: the verified SES address to send from',
    ),
    ['sesFromAddress'],
  ),
  v.forward(
    v.check(
      (c) => !enabled(c, 'sms') || c.smsFromNumber !== undefined,
      'required when sms is enabled: the Twilio number to send SMS from',
    ),
    ['smsFromNumber'],
  ),
  v.forward(
    v.check(
      (c) => !enabled(c, 'whatsapp') || c.whatsappFromNumber !== undefined,
      'required when whatsapp is enabled: the Twilio WhatsApp sender number',
    ),
    ['whatsappFromNumber'],
  ),
);

export type Config = v.InferOutput<typeof ConfigSchema>;

/** The context keys the schema reads; anything else in context is CDK's own. */
export const CONFIG_KEYS = Object.keys(ConfigSchema.entries) as (keyof Config)[];

export class ConfigError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConfigError';
  }
}

/** `a.b[0]["x y"]`: where an issue is, as a reader of cdk.json would write it. */
function dotPath(keys: readonly unknown[]): string {
  let path = '';
  for (const key of keys) {
    if (typeof key === 'number') path += `[${key}]`;
    else if (/[^\w$]/.test(String(key))) path += `[${JSON.stringify(String(key))}]`;
    else path += path ? `.${String(key)}` : String(key);
  }
  return path;
}

/** One `✖ problem` line per issue, each followed by `→ at key` when it has one; top-level keys first. */
function describeConfigIssues(issues: readonly v.BaseIssue<unknown>[]): string {
  return issues
    .map((issue) => ({
      keys: (issue.path ?? []).map((item) => item.key),
      message: issue.type === 'strict_object' && issue.expected === 'never' ? 'unknown field' : issue.message,
    }))
    .sort((a, b) => a.keys.length - b.keys.length)
    .map(({ keys, message }) => (keys.length ? `✖ ${message}\n  → at ${dotPath(keys)}` : `✖ ${message}`))
    .join('\n');
}

/** Keys a stage may still set from an earlier version: refused with what replaced them, never ignored. */
const REMOVED_KEYS: Record<string, string> = {
  publicThrottleRateLimit: 'callbackThrottleRateLimit and unsubscribeThrottleRateLimit',
  publicThrottleBurstLimit: 'callbackThrottleBurstLimit and unsubscribeThrottleBurstLimit',
};

/** Parses the context values of the config keys; throws a ConfigError naming every bad key. */
export function parseConfig(context: Record<string, unknown>): Config {
  const removed = Object.keys(REMOVED_KEYS).filter((key) => context[key] !== undefined);
  if (removed.length) {
    throw new ConfigError(
      `Invalid CDK context for session-recovery (set in cdk.json or with -c key=value):\n${removed
        .map(
          (key) =>
            `✖ no longer read: the public routes have one throttle per caller class; set ${REMOVED_KEYS[key]}\n  → at ${key}`,
        )
        .join('\n')}`,
    );
  }
  const raw: Record<string, unknown> = {};
  for (const key of CONFIG_KEYS) if (context[key] !== undefined) raw[key] = context[key];
  const result = v.safeParse(ConfigSchema, raw);
  if (!result.success) {
    throw new ConfigError(
      `Invalid CDK context for session-recovery (set in cdk.json or with -c key=value):\n${describeConfigIssues(result.issues)}`,
      { cause: result.issues },
    );
  }
  return result.output;
}

/** The Secrets Manager name a function reads for a secret: configured, or `session-recovery/<stage>/<suffix>`. */
export function secretName(config: Config, id: SecretId): string {
  const configured = {
    slackWebhook: config.slackWebhookSecretName,
    twilio: config.twilioSecretName,
    webhookSigning: config.webhookSigningSecretName,
    unsubscribeKey: config.unsubscribeKeySecretName,
    cursorKey: undefined,
    stripeWebhook: config.stripeWebhookSecretName,
    shopifyWebhook: config.shopifyWebhookSecretName,
  }[id];
  return configured ?? `session-recovery/${config.stage}/${SECRETS[id].suffix}`;
}

/** Prefix of every physical name: `session-recovery-<stage>`. */
export function resourcePrefix(config: Config): string {
  return `session-recovery-${config.stage}`;
}

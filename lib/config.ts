// Deployment configuration: CDK context (cdk.json defaults, `-c key=value` overrides) validated with zod at
// synth, so a typo or a missing sender identity fails `cdk synth` with a list of what is wrong, not a
// half-configured stack.
import * as z from 'zod';
import { TimeoutRuleSchema } from '../shared/domain/deadline.ts';
import { SECRETS, type SecretId } from '../shared/infra/functions.ts';
import { DEFAULT_METRICS_NAMESPACE } from '../shared/infra/metrics.ts';
import { CHANNELS, type Channel, DEFAULT_SHARDS, JOB_DESCRIPTIONS } from '../shared/infra/resources.ts';
import { OpsRecipientsSchema } from '../shared/messages.ts';
import { type Infer, type Schema, safeParse } from '../shared/schema.ts';

// `-c key=value` always arrives as a string while cdk.json gives JSON values: accept both.
const flag = z.union([z.boolean(), z.stringbool()]);
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const list = <T extends z.ZodType<string>>(item: T) =>
  z.preprocess(
    (value) =>
      typeof value === 'string'
        ? value
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : value,
    z.array(item),
  );

/** Retention values CloudWatch Logs accepts. */
const RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 3653,
] as const;

/** An object in cdk.json, or its JSON text from `-c key='{...}'`. */
const jsonObject = <T extends z.core.$ZodType>(schema: T) =>
  z.preprocess((value, ctx) => {
    if (typeof value !== 'string') return value;
    try {
      return JSON.parse(value) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'not valid JSON' });
      return z.NEVER;
    }
  }, schema);

/** A domain schema (valibot, shared with the Lambdas) inside this zod schema, its issues kept. */
const domain = <S extends Schema>(schema: S) =>
  z.unknown().transform((value, ctx): Infer<S> => {
    const parsed = safeParse(schema, value);
    if (parsed.success) return parsed.data;
    for (const issue of parsed.issues)
      ctx.addIssue({ code: 'custom', path: [...issue.path], message: issue.message });
    return z.NEVER;
  });

const e164 = z.string().regex(/^\+[1-9]\d{6,14}$/, 'an E.164 number such as +15551234567');
const secretNameSchema = z.string().regex(/^[\w/+=.@-]{1,512}$/, 'a Secrets Manager secret name');

export const ConfigSchema = z
  .object({
    /** Deployment stage; part of every physical name. */
    stage: z.string().regex(/^[a-z][a-z0-9-]{0,15}$/, 'lowercase letters, digits and dashes, 1-16 chars'),
    /** EMF namespace of the functions' metrics and the alarms. */
    metricsNamespace: z.string().min(1).max(255).default(DEFAULT_METRICS_NAMESPACE),
    logLevel: z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR']).default('INFO'),
    logRetentionDays: z.coerce
      .number()
      .refine((n) => (RETENTION_DAYS as readonly number[]).includes(n), {
        message: `one of ${RETENTION_DAYS.join(', ')}`,
      })
      .default(30),
    /** `retain` keeps tables (and their data) when the stack is deleted. Use `destroy` only for throwaway stages. */
    removalPolicy: z.enum(['retain', 'destroy']).default('retain'),
    indexShards: int(1, 256).default(DEFAULT_SHARDS),

    sweepRateMinutes: int(1, 60).default(JOB_DESCRIPTIONS['recovery-sweep'].rateMinutes),
    monitorRateMinutes: int(1, 60).default(JOB_DESCRIPTIONS['timeout-monitor'].rateMinutes),
    /** Disables the EventBridge rule; pausing a job through the API/CLI is the usual kill switch. */
    sweepScheduleEnabled: flag.default(true),
    monitorScheduleEnabled: flag.default(true),
    /** EventBridge retries of a failed delivery to the function before it goes to the schedule DLQ. */
    scheduleRetryAttempts: int(0, 185).default(2),
    /** Lambda's own retries of a failed asynchronous (scheduled) invocation; see ScheduledJob. */
    jobAsyncRetryAttempts: int(0, 2).default(0),

    enabledChannels: list(z.enum(CHANNELS)).default([]),
    sesFromAddress: z.email().optional(),
    sesConfigurationSet: z
      .string()
      .regex(/^[\w-]{1,64}$/)
      .optional(),
    smsFromNumber: e164.optional(),
    whatsappFromNumber: e164.optional(),
    slackWebhookSecretName: secretNameSchema.optional(),
    twilioSecretName: secretNameSchema.optional(),
    webhookSigningSecretName: secretNameSchema.optional(),

    /** Timeout rule per session kind (`default` for the rest); the design's defaults when absent. */
    timeoutRules: jsonObject(z.record(z.string(), domain(TimeoutRuleSchema))).optional(),
    /** Long-running sessions in one monitor run above which an ops alert goes out (design default 3). */
    maxLongRunning: int(0, 100_000).optional(),
    /** Who receives ops alerts, per channel. */
    opsAlertRecipients: jsonObject(domain(OpsRecipientsSchema)).optional(),

    onCallEmails: list(z.email()).default([]),
    onCallHttpsUrls: list(z.url({ protocol: /^https$/ })).default([]),

    /** Sender failures as a percentage of sends, over 5 minutes, above which the channel pages. */
    alarmSenderErrorRatePercent: z.coerce.number().min(1).max(100).default(20),
    /** Sends in 5 minutes below which the error rate is not judged (one failure of two is not an outage). */
    alarmSenderMinSends: int(1, 10_000).default(5),
    alarmApi5xxRatePercent: z.coerce.number().min(0.1).max(100).default(5),
    /** Stuck sessions the monitor may report before paging; 0 pages on the first. */
    alarmStuckSessionsThreshold: int(0, 100_000).default(0),

    apiThrottleRateLimit: int(1, 10_000).default(20),
    apiThrottleBurstLimit: int(1, 5_000).default(40),
    /** Put a WAFv2 web ACL (AWS managed common rules and a rate limit) in front of the API. */
    apiWaf: flag.default(false),
    /** Let this stack set the account-wide API Gateway CloudWatch role (needed for execution logs). */
    apiCloudWatchRole: flag.default(true),

    /**
     * `esbuild` bundles every handler (cdk synth / deploy). `stub` puts a placeholder inline instead, for
     * template tests that check infrastructure, not code, and should not pay for eight bundles.
     */
    bundling: z.enum(['esbuild', 'stub']).default('esbuild'),
  })
  .superRefine((config, ctx) => {
    const need = (channel: Channel, key: keyof typeof config, what: string) => {
      if (config.enabledChannels.includes(channel) && config[key] === undefined)
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `required when ${channel} is enabled: ${what}`,
        });
    };
    need('email', 'sesFromAddress', 'the verified SES address to send from');
    need('sms', 'smsFromNumber', 'the Twilio number to send SMS from');
    need('whatsapp', 'whatsappFromNumber', 'the Twilio WhatsApp sender number');
  });

export type Config = z.infer<typeof ConfigSchema>;

/** The context keys the schema reads; anything else in context is CDK's own. */
export const CONFIG_KEYS = Object.keys(ConfigSchema.shape) as (keyof Config)[];

export class ConfigError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConfigError';
  }
}

/** Parses the context values of the config keys; throws a ConfigError naming every bad key. */
export function parseConfig(context: Record<string, unknown>): Config {
  const raw: Record<string, unknown> = {};
  for (const key of CONFIG_KEYS) if (context[key] !== undefined) raw[key] = context[key];
  const result = ConfigSchema.safeParse(raw);
  if (!result.success) {
    throw new ConfigError(
      `Invalid CDK context for session-recovery (set in cdk.json or with -c key=value):\n${z.prettifyError(result.error)}`,
      { cause: result.error },
    );
  }
  return result.data;
}

/** The Secrets Manager name a function reads for a secret: configured, or `session-recovery/<stage>/<suffix>`. */
export function secretName(config: Config, id: SecretId): string {
  const configured = {
    slackWebhook: config.slackWebhookSecretName,
    twilio: config.twilioSecretName,
    webhookSigning: config.webhookSigningSecretName,
  }[id];
  return configured ?? `session-recovery/${config.stage}/${SECRETS[id].suffix}`;
}

/** Prefix of every physical name: `session-recovery-<stage>`. */
export function resourcePrefix(config: Config): string {
  return `session-recovery-${config.stage}`;
}

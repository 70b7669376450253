// The one description of every Lambda: its entry file, limits, trigger, and the tables, indexes, queues,
// secrets and settings it may touch. CDK derives functions, triggers, env vars and least-privilege grants
// from it; the local runtime derives its schedule timers, queue pollers and each handler's env from it.

import { type BundleAsset, OPENAPI_ASSET } from './assets.ts';
import {
  CHANNEL_QUEUES,
  CHANNELS,
  type Channel,
  JOB_DESCRIPTIONS,
  type JobName,
  type TableDescription,
} from './resources.ts';

export type TableId = TableDescription['id'];

/** `read`: get and query (no scan: every read path is a key or index query). `readwrite`: also put, update, delete (and so transactions of those). */
export type DataAccess = 'read' | 'readwrite';

export interface TableGrant {
  readonly table: TableId;
  readonly access: DataAccess;
  /** GSIs the function queries; only these index ARNs are granted. */
  readonly indexes: readonly string[];
}

/**
 * What a function does with a channel's queues. Every grant also puts `QUEUE_URL_<CHANNEL>` and
 * `DLQ_URL_<CHANNEL>` in its env.
 * - `send`: SendMessage to the channel queue (fan-out, ops alerts, retry-now, replay target).
 * - `consume`: the sender's own queue, through its event source mapping (also ChangeMessageVisibility, so a
 *   `Retry-After` can stretch the message's visibility).
 * - `inspect`: GetQueueAttributes on queue and DLQ (depths for `/admin/dlq` and `/health/readyz`).
 * - `replay`: receive and delete on the DLQ; the filtered replay moves messages itself.
 */
export type QueueAccess = 'send' | 'consume' | 'inspect' | 'replay';

export interface QueueGrant {
  readonly channels: readonly Channel[];
  readonly access: QueueAccess;
}

/**
 * Secrets live in Secrets Manager; a function gets the secret's *name* in an env var and reads the value
 * at runtime (Powertools parameters, cached). Values never pass through CDK, env or logs.
 */
export const SECRETS = {
  /** The Slack incoming-webhook URL, as the secret string. */
  slackWebhook: { envVar: 'SLACK_WEBHOOK_SECRET_NAME', suffix: 'slack-webhook', channels: ['slack'] },
  /** Twilio credentials as JSON `{ "accountSid": "...", "authToken": "..." }`, shared by SMS and WhatsApp. */
  twilio: { envVar: 'TWILIO_SECRET_NAME', suffix: 'twilio', channels: ['sms', 'whatsapp'] },
  /** The HMAC-SHA256 key the webhook sender signs bodies with, as the secret string (`whsec_<base64>`). */
  webhookSigning: { envVar: 'WEBHOOK_SIGNING_SECRET_NAME', suffix: 'webhook-signing', channels: ['webhook'] },
  /** The key of the one-click unsubscribe tokens (32+ characters): the email sender signs, receipts verifies. */
  unsubscribeKey: { envVar: 'UNSUBSCRIBE_KEY_SECRET_NAME', suffix: 'unsubscribe-key', channels: ['email'] },
  /** Stripe's webhook endpoint signing secret (`whsec_…`), as the secret string; no channel: always bound (#14). */
  stripeWebhook: { envVar: 'STRIPE_WEBHOOK_SECRET_NAME', suffix: 'stripe-webhook', channels: [] },
  /** The Shopify app's client secret, which signs its webhooks (X-Shopify-Hmac-Sha256); always bound (#14). */
  shopifyWebhook: { envVar: 'SHOPIFY_WEBHOOK_SECRET_NAME', suffix: 'shopify-webhook', channels: [] },
  /**
   * The HMAC key of the API's pagination cursors. Belongs to no channel: the stack generates it (Secrets
   * Manager makes the value at deploy time; it never appears in the template) and both API functions read it.
   */
  cursorKey: { envVar: 'CURSOR_KEY_SECRET_NAME', suffix: 'cursor-key', channels: [], generated: true },
} as const satisfies Record<
  string,
  { envVar: string; suffix: string; channels: readonly Channel[]; generated?: boolean }
>;
export type SecretId = keyof typeof SECRETS;

/** Non-secret settings passed as env vars. */
export const SETTINGS = {
  /** Comma-separated channels that may send; a sender whose channel is absent records `skipped`. */
  enabledChannels: 'ENABLED_CHANNELS',
  /** Verified SES identity (address) the email sender sends from. */
  sesFromAddress: 'SES_FROM_ADDRESS',
  /** Optional SES configuration set (event publishing of bounces and complaints). */
  sesConfigurationSet: 'SES_CONFIGURATION_SET',
  /** Twilio sender number for SMS, E.164. */
  smsFromNumber: 'SMS_FROM_NUMBER',
  /** Twilio WhatsApp sender, E.164 without the `whatsapp:` prefix. */
  whatsappFromNumber: 'WHATSAPP_FROM_NUMBER',
  /** Shards of the sparse due/deadline/outbox indexes (see shared/context.ts). */
  indexShards: 'INDEX_SHARDS',
  /** JSON timeout rule per session kind (shared/settings.ts). */
  timeoutRules: 'TIMEOUT_RULES',
  /** More long-running sessions than this in one monitor run raises an ops alert. */
  maxLongRunning: 'MAX_LONG_RUNNING',
  /** JSON recipients of ops alerts per channel (shared/messages.ts OpsRecipients). */
  opsAlertRecipients: 'OPS_ALERT_RECIPIENTS',
  /** The deployment stage (`dev`, `prod`, ...); the local runtime sets `local`. Used in logs and alert texts. */
  stage: 'STAGE',
  /** The API's public base URL: unsubscribe links and Twilio status callbacks point at it (#13). */
  publicBaseUrl: 'PUBLIC_BASE_URL',
  /** The reputation guard's pause thresholds (percent of 24 h sends) and the volume below which it does not judge. */
  reputationPauseBouncePercent: 'REPUTATION_PAUSE_BOUNCE_PERCENT',
  reputationPauseComplaintPercent: 'REPUTATION_PAUSE_COMPLAINT_PERCENT',
  reputationMinSends: 'REPUTATION_MIN_SENDS',
  /** The dispatch lease, the outcome wait and the dispatch breaker of the claim (shared/settings.ts). */
  dispatchLeaseSeconds: 'DISPATCH_LEASE_SECONDS',
  outcomeWaitSeconds: 'OUTCOME_WAIT_SECONDS',
  dispatchFailureLimit: 'DISPATCH_FAILURE_LIMIT',
  /** Each job's schedule as deployed: readiness and job status read heartbeats against it. */
  sweepRateSeconds: 'SWEEP_RATE_SECONDS',
  monitorRateSeconds: 'MONITOR_RATE_SECONDS',
  sweepScheduleEnabled: 'SWEEP_SCHEDULE_ENABLED',
  monitorScheduleEnabled: 'MONITOR_SCHEDULE_ENABLED',
  /** How long a sender waits for its provider (ms); bounded at synth below the sender's timeout. */
  providerTimeoutMs: 'PROVIDER_TIMEOUT_MS',
  /** Minutes after a Shopify checkout's last update before it counts as abandoned (#14). */
  shopifyAbandonAfterMinutes: 'SHOPIFY_ABANDON_AFTER_MINUTES',
  /** The org Shopify checkouts belong to (#14); the default org when unset. */
  shopifyOrgId: 'SHOPIFY_ORG_ID',
} as const;

export type FunctionTrigger =
  | { readonly kind: 'schedule'; readonly job: JobName }
  | { readonly kind: 'queue'; readonly channel: Channel }
  | { readonly kind: 'api' }
  /** SES events from EventBridge and the public API routes (`/v1/public/`): provider and recipient feedback. */
  | { readonly kind: 'receipts' }
  /** Product events (#14): the stage's event bus, POST /v1/events, the Stripe and Shopify webhooks, checkout timers. */
  | { readonly kind: 'ingest' };

export interface FunctionDescription {
  /** Logical id; also the suffix of the physical name (`<prefix>-<id>`). */
  readonly id: string;
  /** Entry file relative to the repository root; it exports `handler`. */
  readonly entry: string;
  /** What the function does, in a few words (its Lambda description); derived from the trigger when absent. */
  readonly summary?: string;
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
  readonly trigger: FunctionTrigger;
  readonly tables: readonly TableGrant[];
  readonly queues: readonly QueueGrant[];
  readonly secrets: readonly SecretId[];
  /** Needs `ses:SendEmail` from the configured identity. */
  readonly sendsEmail: boolean;
  /** Settings (SETTINGS keys) the function reads besides the tables and queues. */
  readonly settings: readonly (keyof typeof SETTINGS)[];
  /** Files copied next to the bundle (read at runtime, not loaded as code). */
  readonly assets?: readonly BundleAsset[];
  /**
   * Reads its secrets through the Parameters and Secrets Lambda extension (a layer) instead of the Secrets
   * Manager client, which would not fit its bundle budget.
   */
  readonly secretsViaExtension?: boolean;
  /**
   * Job functions it starts (run now: an asynchronous invocation). Each puts the job function's name in
   * `jobFunctionEnvVar(job)`, the Lambda endpoint in `LAMBDA_ENDPOINT`, and grants `lambda:InvokeFunction`
   * on exactly that function.
   */
  readonly startsJobs?: readonly JobName[];
  /** Invokes itself asynchronously (the sweep's fan-out workers): `lambda:InvokeFunction` on its own ARN. */
  readonly invokesItself?: boolean;
}

/** Env var that names a job's function on a function that starts it (`JOB_FUNCTION_RECOVERY_SWEEP`). */
export function jobFunctionEnvVar(job: JobName): string {
  return `JOB_FUNCTION_${job.toUpperCase().replace(/-/g, '_')}`;
}

/** `https://lambda.<region>.<url suffix>`, set by the stack so every partition gets its own endpoint. */
export const LAMBDA_ENDPOINT_ENV = 'LAMBDA_ENDPOINT';

/** What the jobs and the API (which runs jobs and previews schedules) read besides tables and queues. */
const SCHEDULING_SETTINGS: readonly (keyof typeof SETTINGS)[] = [
  'enabledChannels',
  'indexShards',
  'stage',
  'timeoutRules',
  'maxLongRunning',
  'opsAlertRecipients',
  'dispatchLeaseSeconds',
  'outcomeWaitSeconds',
  'dispatchFailureLimit',
  'sweepRateSeconds',
  'monitorRateSeconds',
  'sweepScheduleEnabled',
  'monitorScheduleEnabled',
];

const ALL_CHANNELS: readonly Channel[] = CHANNELS;

function jobFunction(job: JobName, indexes: { sessions: string[]; timeline: string[] }): FunctionDescription {
  const description = JOB_DESCRIPTIONS[job];
  return {
    id: job,
    entry: `functions/${description.handler}.ts`,
    timeoutSeconds: description.timeoutSeconds,
    // Jobs page through shards and fan out; more memory is more CPU for the SDK's JSON work.
    memoryMb: 512,
    trigger: { kind: 'schedule', job },
    tables: [
      { table: 'sessions', access: 'readwrite', indexes: indexes.sessions },
      { table: 'timeline', access: 'readwrite', indexes: indexes.timeline },
      { table: 'control', access: 'readwrite', indexes: [] },
    ],
    // Both jobs publish to every channel queue: the sweep its recovery notifications, both their ops alerts.
    queues: [{ channels: ALL_CHANNELS, access: 'send' }],
    secrets: [],
    sendsEmail: false,
    settings: SCHEDULING_SETTINGS,
    ...(job === 'recovery-sweep' ? { invokesItself: true } : {}),
  };
}

function senderFunction(channel: Channel): FunctionDescription {
  const queue = CHANNEL_QUEUES.find((q) => q.channel === channel);
  if (!queue) throw new Error(`no channel queue described for ${channel}`);
  const secrets = (Object.keys(SECRETS) as SecretId[]).filter((id) =>
    (SECRETS[id].channels as readonly Channel[]).includes(channel),
  );
  const settings: (keyof typeof SETTINGS)[] = ['enabledChannels', 'stage', 'providerTimeoutMs'];
  if (channel === 'email') settings.push('sesFromAddress', 'sesConfigurationSet', 'publicBaseUrl');
  if (channel === 'sms') settings.push('smsFromNumber', 'publicBaseUrl');
  if (channel === 'whatsapp') settings.push('whatsappFromNumber', 'publicBaseUrl');
  return {
    id: `sender-${channel}`,
    entry: `functions/sender-${channel}.ts`,
    timeoutSeconds: queue.senderTimeoutSeconds,
    memoryMb: 256,
    trigger: { kind: 'queue', channel },
    tables: [
      // Reads the session for the fence check and stamps `lastNotifiedAt` on it after a send.
      { table: 'sessions', access: 'readwrite', indexes: [] },
      // Writes the outcome item for (attemptId, channel).
      { table: 'timeline', access: 'readwrite', indexes: [] },
      // Adds to the per-channel delivery counters behind /retry/stats.
      { table: 'control', access: 'readwrite', indexes: [] },
    ],
    queues: [
      { channels: [channel], access: 'consume' },
      // The reputation guard's pause gate puts a paused channel's messages back on their queue (#13).
      ...(channel === 'email' ? [{ channels: [channel], access: 'send' as const }] : []),
    ],
    secrets,
    sendsEmail: channel === 'email',
    settings,
    ...(channel === 'email' ? { secretsViaExtension: true } : {}),
  };
}

/** Both API functions: below API Gateway's 29 s integration timeout, so the function's own error reaches the
 * caller as a problem document instead of a gateway 504. */
const API_LIMITS = { timeoutSeconds: 25, memoryMb: 512 } as const;

/**
 * Both API functions read and write every table (reset-stuck, retry-now, replay write sessions and timelines).
 * `byRecipient`: GET /v1/sessions?recipient= (the console's "find by email"), found missing by local IAM.
 */
const API_TABLES: readonly TableGrant[] = [
  { table: 'sessions', access: 'readwrite', indexes: ['due', 'deadline', 'byStatus', 'byRecipient'] },
  { table: 'timeline', access: 'readwrite', indexes: ['byAttempt', 'outbox'] },
  { table: 'control', access: 'readwrite', indexes: [] },
];

export const FUNCTION_DESCRIPTIONS: readonly FunctionDescription[] = [
  jobFunction('recovery-sweep', { sessions: ['due'], timeline: ['outbox'] }),
  // The monitor queries `deadline` only, and the outbox for its own ops alerts left undispatched (local IAM
  // found the outbox grant missing and `byStatus`, which it never queries, granted).
  jobFunction('timeout-monitor', { sessions: ['deadline'], timeline: ['outbox'] }),
  ...CHANNELS.map(senderFunction),
  {
    id: 'api',
    entry: 'functions/api.ts',
    summary: 'Admin API: sessions, timelines, retry policies, stats',
    assets: [OPENAPI_ASSET],
    ...API_LIMITS,
    trigger: { kind: 'api' },
    tables: API_TABLES,
    queues: [
      // retry-now dispatches through the queues.
      { channels: ALL_CHANNELS, access: 'send' },
    ],
    // The cursor key, through the Parameters and Secrets extension (no Secrets Manager client in the bundle).
    secrets: ['cursorKey'],
    secretsViaExtension: true,
    sendsEmail: false,
    settings: SCHEDULING_SETTINGS,
  },
  {
    // `/v1/admin/*` and `/v1/health/*` (shared/api/routes.ts `function: 'api-admin'`): jobs, runs, dead
    // letters, readiness and session health — what on-call reads.
    id: 'api-admin',
    entry: 'functions/api-admin.ts',
    summary: 'Admin API: jobs, runs, dead letters, health (/v1/admin/*, /v1/health/*)',
    ...API_LIMITS,
    trigger: { kind: 'api' },
    tables: API_TABLES,
    queues: [
      // /admin/dlq reads depths; replay moves DLQ messages back (send on the queue, receive on the DLQ).
      { channels: ALL_CHANNELS, access: 'inspect' },
      { channels: ALL_CHANNELS, access: 'replay' },
    ],
    secrets: ['cursorKey'],
    secretsViaExtension: true,
    // Run now starts the run in the job's own function (its timeout, its lease), not in this request.
    startsJobs: ['recovery-sweep', 'timeout-monitor'],
    sendsEmail: false,
    // GET /v1/admin/reputation shows the guard's thresholds as configured.
    settings: [
      ...SCHEDULING_SETTINGS,
      'reputationPauseBouncePercent',
      'reputationPauseComplaintPercent',
      'reputationMinSends',
    ],
  },
  {
    // What comes back from providers and recipients: SES events and the public routes (#13).
    id: 'receipts',
    entry: 'functions/receipts.ts',
    summary: 'Receipts and consent: SES events, Twilio callbacks and inbound STOP, one-click unsubscribe',
    timeoutSeconds: 20,
    memoryMb: 256,
    trigger: { kind: 'receipts' },
    tables: [
      // Read only because every function's context names the sessions table; receipts never read it.
      { table: 'sessions', access: 'read', indexes: [] },
      // Receipts on the timeline and the outcome moved forward (by key: the ref names the outcome).
      { table: 'timeline', access: 'readwrite', indexes: [] },
      // The recipient store, delivery counters, reputation counters and the guard's pause.
      { table: 'control', access: 'readwrite', indexes: [] },
    ],
    queues: [],
    // Twilio's auth token verifies its callbacks; the unsubscribe key verifies tokens.
    secrets: ['twilio', 'unsubscribeKey'],
    sendsEmail: false,
    settings: [
      'stage',
      'publicBaseUrl',
      'reputationPauseBouncePercent',
      'reputationPauseComplaintPercent',
      'reputationMinSends',
    ],
    secretsViaExtension: true,
  },
  {
    // Product events in (#14): EventBridge rules, POST /v1/events, the two provider webhooks, checkout timers.
    id: 'ingest',
    entry: 'functions/ingest.ts',
    summary: 'Product events: EventBridge, POST /v1/events, Stripe and Shopify webhooks, checkout timers',
    ...API_LIMITS,
    memoryMb: 256,
    trigger: { kind: 'ingest' },
    tables: [
      // Registers and updates sessions through the use cases (no index: every write is by key).
      { table: 'sessions', access: 'readwrite', indexes: [] },
      // Timeline events with each write; the attribution reads the session's outcomes by key range.
      { table: 'timeline', access: 'readwrite', indexes: [] },
      // The event ledger and early-ending markers, policies, stats counters.
      { table: 'control', access: 'readwrite', indexes: [] },
    ],
    queues: [],
    secrets: ['shopifyWebhook', 'stripeWebhook'],
    sendsEmail: false,
    settings: ['indexShards', 'stage', 'timeoutRules', 'shopifyAbandonAfterMinutes', 'shopifyOrgId'],
    secretsViaExtension: true,
  },
];

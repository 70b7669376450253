// The one description of the service's tables, channel queues and scheduled jobs.
// The CDK stack (lib/), the local runtime (local/) and the tests all derive their resources from it,
// so what runs on a laptop is what deploys.

export type AttributeType = 'S' | 'N';

export interface KeyDescription {
  readonly name: string;
  readonly type: AttributeType;
}

export interface IndexDescription {
  readonly indexName: string;
  readonly partitionKey: KeyDescription;
  readonly sortKey?: KeyDescription;
  /** `ALL` keeps a due item self-sufficient: one index read gives the claim all it needs. */
  readonly projection: 'ALL' | 'KEYS_ONLY';
}

export interface TableDescription {
  /** Logical id, also the suffix of the physical name (`<prefix>-<id>`). */
  readonly id: 'sessions' | 'timeline' | 'control';
  /** The environment variable that carries the table name into a function. */
  readonly envVar: string;
  readonly partitionKey: KeyDescription;
  readonly sortKey?: KeyDescription;
  readonly indexes: readonly IndexDescription[];
  /** Attribute holding an epoch-seconds expiry, when the table holds transient items. */
  readonly ttlAttribute?: string;
}

export const SESSIONS_TABLE: TableDescription = {
  id: 'sessions',
  envVar: 'SESSIONS_TABLE',
  partitionKey: { name: 'sessionId', type: 'S' },
  indexes: [
    {
      indexName: 'due',
      partitionKey: { name: 'dueShard', type: 'S' },
      sortKey: { name: 'nextRetryAt', type: 'S' },
      projection: 'ALL',
    },
    {
      indexName: 'deadline',
      partitionKey: { name: 'deadlineShard', type: 'S' },
      sortKey: { name: 'deadlineAt', type: 'S' },
      projection: 'ALL',
    },
    {
      // Sharded like `due` and `deadline`: `statusShard` is `<status>#<shard>`, so the sessions of one status
      // (every `recovering` one at the claim rate) spread over STATUS_SHARDS partition keys. The sort key,
      // `statusKey`, is `<when it entered the status>#<sessionId>`: unique, and a stamp (lastNotifiedAt,
      // dispatchedAt, a lease) never moves it.
      indexName: 'byStatus',
      partitionKey: { name: 'statusShard', type: 'S' },
      sortKey: { name: 'statusKey', type: 'S' },
      projection: 'ALL',
    },
    {
      // Sparse: a hash of the session's normalised email (or phone), for GET /v1/sessions?recipient=. The sort
      // key, `recipientSortKey`, is `<createdAt>#<sessionId>`: unique, and no write moves it (it was `updatedAt`,
      // which every send moves, so a walk skipped a session written meanwhile; docs/deploy.md has the upgrade).
      indexName: 'byRecipient',
      partitionKey: { name: 'recipientKey', type: 'S' },
      sortKey: { name: 'recipientSortKey', type: 'S' },
      projection: 'ALL',
    },
  ],
};

export const TIMELINE_TABLE: TableDescription = {
  id: 'timeline',
  envVar: 'TIMELINE_TABLE',
  partitionKey: { name: 'sessionId', type: 'S' },
  sortKey: { name: 'sk', type: 'S' },
  indexes: [
    {
      indexName: 'byAttempt',
      partitionKey: { name: 'attemptId', type: 'S' },
      sortKey: { name: 'sk', type: 'S' },
      projection: 'ALL',
    },
    {
      // Sparse: only attempts and ops alerts still `queued` carry `outboxShard` (attempts a numbered
      // shard, alerts `ops`), so the sweep and the monitor find undispatched items without a scan.
      indexName: 'outbox',
      partitionKey: { name: 'outboxShard', type: 'S' },
      sortKey: { name: 'dispatchAfter', type: 'S' },
      projection: 'ALL',
    },
  ],
};

export const CONTROL_TABLE: TableDescription = {
  id: 'control',
  envVar: 'CONTROL_TABLE',
  partitionKey: { name: 'pk', type: 'S' },
  sortKey: { name: 'sk', type: 'S' },
  indexes: [],
  ttlAttribute: 'expiresAt',
};

export const TABLES = [SESSIONS_TABLE, TIMELINE_TABLE, CONTROL_TABLE] as const;

export const CHANNELS = ['email', 'slack', 'sms', 'whatsapp', 'webhook'] as const;
export type Channel = (typeof CHANNELS)[number];

export interface ChannelQueueDescription {
  readonly channel: Channel;
  /** Physical queue name suffix (`<prefix>-<channel>` and `<prefix>-<channel>-dlq`). */
  readonly queueId: string;
  readonly envVar: string;
  readonly dlqEnvVar: string;
  /** Receives before a message moves to the DLQ. */
  readonly maxReceiveCount: number;
  /** Sender Lambda timeout; the queue's visibility timeout is 6 × this (AWS guidance). */
  readonly senderTimeoutSeconds: number;
  /**
   * How long, after the provider accepted a message, the sender keeps trying to record `sent` (a record that
   * fails there is redelivered and may be sent a second time). The sender's timeout covers the provider's
   * timeout plus this, plus a second of margin: see maxProviderTimeoutMs.
   */
  readonly sentWriteBudgetMs: number;
  readonly batchSize: number;
  readonly maxConcurrency: number;
}

export const CHANNEL_QUEUES: readonly ChannelQueueDescription[] = CHANNELS.map((channel) => ({
  channel,
  queueId: channel,
  envVar: `QUEUE_URL_${channel.toUpperCase()}`,
  dlqEnvVar: `DLQ_URL_${channel.toUpperCase()}`,
  maxReceiveCount: 5,
  senderTimeoutSeconds: 10,
  sentWriteBudgetMs: 4000,
  batchSize: 10,
  maxConcurrency: 5,
}));

/** The longest provider timeout that still leaves the `sent` write its budget inside the sender's timeout. */
export function maxProviderTimeoutMs(queue: ChannelQueueDescription): number {
  return queue.senderTimeoutSeconds * 1000 - queue.sentWriteBudgetMs - 1000;
}

export function visibilityTimeoutSeconds(queue: ChannelQueueDescription): number {
  return queue.senderTimeoutSeconds * 6;
}

/**
 * The ingest function's queues (#14): Shopify checkouts' abandonment timers (delayed messages the function
 * consumes), and the events DLQ where every failed product event ends: EventBridge deliveries the rules could
 * not make, invocations that failed after Lambda's retries, timer messages past their receives.
 */
export const EVENT_QUEUES = {
  timers: {
    queueId: 'checkout-timers',
    envVar: 'CHECKOUT_TIMER_QUEUE_URL',
    maxReceiveCount: 5,
    /** 6 × the ingest function's timeout (AWS guidance for an event source mapping). */
    visibilityTimeoutSeconds: 150,
    batchSize: 10,
  },
  dlq: { queueId: 'events-dlq' },
} as const;

export function eventQueueName(prefix: string, id: 'timers' | 'dlq'): string {
  return `${prefix}-${EVENT_QUEUES[id].queueId}`;
}

export const JOBS = ['recovery-sweep', 'timeout-monitor'] as const;
export type JobName = (typeof JOBS)[number];

export interface JobDescription {
  readonly name: JobName;
  /** The handler in functions/ that runs the job. */
  readonly handler: string;
  /** Schedule in AWS, in minutes. */
  readonly rateMinutes: number;
  /** Schedule in the local runtime, in seconds. */
  readonly localIntervalSeconds: number;
  /**
   * How long the job lease lasts; a sweep that outlives it loses the lease to the next one. Shorter than
   * `timeoutSeconds`: a run Lambda kills releases nothing, and its lease must not keep the next runs out
   * after its own end (a run also caps it at the invocation's remaining time, shared/usecases/job-run.ts).
   */
  readonly leaseSeconds: number;
  readonly timeoutSeconds: number;
}

export const JOB_DESCRIPTIONS: Record<JobName, JobDescription> = {
  'recovery-sweep': {
    name: 'recovery-sweep',
    handler: 'recovery-sweep',
    rateMinutes: 1,
    localIntervalSeconds: 5,
    leaseSeconds: 110,
    timeoutSeconds: 120,
  },
  'timeout-monitor': {
    name: 'timeout-monitor',
    handler: 'timeout-monitor',
    rateMinutes: 5,
    localIntervalSeconds: 10,
    leaseSeconds: 110,
    timeoutSeconds: 120,
  },
};

/**
 * A heartbeat older than this many schedule periods means the job is not running: readiness, job status
 * and the heartbeat alarm all use it, with the deployed rate.
 */
const HEARTBEAT_PERIODS = 3;

export function heartbeatTtlSeconds(schedule: { readonly rateSeconds: number }): number {
  return schedule.rateSeconds * HEARTBEAT_PERIODS;
}

/** Shards of the sparse `due` and `deadline` indexes (hash of the session id). */
export const DEFAULT_SHARDS = 8;

export function tableName(prefix: string, table: TableDescription): string {
  return `${prefix}-${table.id}`;
}

export function queueName(prefix: string, queue: ChannelQueueDescription, dlq = false): string {
  return `${prefix}-${queue.queueId}${dlq ? '-dlq' : ''}`;
}

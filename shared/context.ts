// What a use case needs from the outside world: clients, resource names, a clock. Built once per Lambda
// from env, or by the local runtime and tests from the emulators, so the same use case runs everywhere.
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDynamoClient, createSqsClient } from './aws/clients.ts';
import { optionalEnv, requireEnv } from './env.ts';
import {
  CHANNEL_QUEUES,
  type Channel,
  CONTROL_TABLE,
  DEFAULT_SHARDS,
  SESSIONS_TABLE,
  TIMELINE_TABLE,
} from './infra/resources.ts';
import type { Settings } from './settings.ts';

export interface Tables {
  readonly sessions: string;
  readonly timeline: string;
  readonly control: string;
}

export interface QueueUrls {
  readonly url: string;
  readonly dlqUrl: string;
}

export type Clock = () => Date;

/** The key that signs the API's pagination cursors (a secret; see shared/api/cursor-key.ts). */
export type CursorKeySource = () => Promise<string>;

export interface AppContext {
  readonly ddb: DynamoDBDocumentClient;
  readonly sqs: SQSClient;
  readonly tables: Tables;
  readonly queues: Record<Channel, QueueUrls>;
  readonly clock: Clock;
  /** Shards of the sparse due/deadline/outbox indexes. */
  readonly shards: number;
  /** Timeout rules, thresholds, recipients; DEFAULT_SETTINGS when absent. */
  readonly settings?: Settings;
  /** The API's cursor key; only the API functions (and the local runtime and tests) have one. */
  readonly cursorKey?: CursorKeySource;
  /**
   * Starts a sweep worker on a shard group without waiting for it (the sweep Lambda invokes itself
   * asynchronously; the local runtime runs it in-process). Absent: the sweep cannot fan out.
   */
  readonly startSweepWorker?: (work: SweepWork) => Promise<void>;
}

/** What a sweep worker is given: its shards and the run that started it. */
export interface SweepWork {
  readonly shards: readonly string[];
  readonly parentRunId: string;
}

export const systemClock: Clock = () => new Date();

function shardCount(env: NodeJS.ProcessEnv = process.env): number {
  const raw = optionalEnv('INDEX_SHARDS', env);
  if (raw === undefined) return DEFAULT_SHARDS;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 256)
    throw new Error(`INDEX_SHARDS must be an integer 1..256, got ${raw}`);
  return n;
}

/**
 * The context of a deployed function: names from env vars that CDK set, default credential chain. The
 * service settings (timeout rules, thresholds, ops recipients) are added by `contextWithSettingsFromEnv`
 * (./settings.ts) for the functions that use them; the senders use none, and so neither bundle nor build
 * their schemas.
 */
export function contextFromEnv(env: NodeJS.ProcessEnv = process.env): AppContext {
  const endpoints = {
    dynamodb: optionalEnv('DYNAMODB_ENDPOINT', env),
    sqs: optionalEnv('SQS_ENDPOINT', env),
    region: optionalEnv('AWS_REGION', env),
  };
  const queues = {} as Record<Channel, QueueUrls>;
  for (const q of CHANNEL_QUEUES) {
    queues[q.channel] = {
      url: optionalEnv(q.envVar, env) ?? '',
      dlqUrl: optionalEnv(q.dlqEnvVar, env) ?? '',
    };
  }
  return {
    ddb: createDynamoClient(endpoints),
    sqs: createSqsClient(endpoints),
    tables: {
      sessions: requireEnv(SESSIONS_TABLE.envVar, env),
      timeline: requireEnv(TIMELINE_TABLE.envVar, env),
      control: requireEnv(CONTROL_TABLE.envVar, env),
    },
    queues,
    clock: systemClock,
    shards: shardCount(env),
  };
}

// The environment a deployed function gets from CDK, but pointing at the local emulators: the local
// runtime, `npm run invoke` and the ops CLI all build their context from it, so they run the real
// handler code paths (contextFromEnv included).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as v from 'valibot';
import {
  CHANNEL_QUEUES,
  CONTROL_TABLE,
  EVENT_QUEUES,
  SESSIONS_TABLE,
  TIMELINE_TABLE,
} from '../shared/infra/resources.ts';
import { type Infer, tryParse } from '../shared/schema.ts';
import type { Endpoints } from './emulators.ts';
import type { ResourceNames } from './resources.ts';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const STATE_DIR = join(REPO_ROOT, '.local');
export const STATE_FILE = join(STATE_DIR, 'endpoints.json');

/** The account local ARNs carry (fauxqs's queue ARNs use it too). */
export const LOCAL_ACCOUNT = '000000000000';
/** Local mode's sender identity and configuration set; local IAM synthesizes the stack with them. */
export const LOCAL_SES_FROM_ADDRESS = 'recovery@example.com';
export const LOCAL_SES_CONFIGURATION_SET = 'session-recovery-local';

/** The shard count of the sparse indexes in local runs (npm start, invoke, the CLI against them). */
export const LOCAL_SHARDS = 4;

export function functionEnv(endpoints: Endpoints, names: ResourceNames): Record<string, string> {
  const env: Record<string, string> = {
    INDEX_SHARDS: String(LOCAL_SHARDS),
    AWS_REGION: endpoints.region,
    DYNAMODB_ENDPOINT: endpoints.dynamodb,
    SQS_ENDPOINT: endpoints.sqs,
    SES_ENDPOINT: endpoints.ses,
    [SESSIONS_TABLE.envVar]: names.tables.sessions,
    [TIMELINE_TABLE.envVar]: names.tables.timeline,
    [CONTROL_TABLE.envVar]: names.tables.control,
    STAGE: 'local',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  for (const q of CHANNEL_QUEUES) {
    env[q.envVar] = names.queues[q.channel].url;
    env[q.dlqEnvVar] = names.queues[q.channel].dlqUrl;
  }
  env[EVENT_QUEUES.timers.envVar] = names.events.url;
  return env;
}

/** Strings by name, in a JSON object (valibot's `record` alone would take an array for one). */
const StringMap = v.pipe(
  v.custom<Record<string, unknown>>(
    (input) => typeof input === 'object' && input !== null && !Array.isArray(input),
  ),
  v.record(v.string(), v.string()),
);

const LocalStateSchema = v.object({
  pid: v.pipe(v.number(), v.safeInteger()),
  startedAt: v.string(),
  endpoints: v.object({ dynamodb: v.string(), sqs: v.string(), ses: v.string(), region: v.string() }),
  api: v.optional(v.string()),
  sesStore: v.string(),
  receivers: v.optional(StringMap),
  /** The local secrets in use (webhook signing secret, Twilio auth token, unsubscribe token key). */
  secrets: v.optional(StringMap),
  env: StringMap,
  /** Each function's local credentials (local IAM judges its calls by them), by function id. */
  functions: v.optional(
    v.record(v.string(), v.object({ accessKeyId: v.string(), secretAccessKey: v.string() })),
  ),
  /** `enforced` or `off` (LOCAL_IAM). */
  iam: v.optional(v.string()),
});
export type LocalState = Infer<typeof LocalStateSchema>;

export function writeLocalState(state: LocalState): void {
  mkdirSync(STATE_DIR, { recursive: true });
  writeFileSync(STATE_FILE, `${JSON.stringify(state, null, 2)}\n`);
}

/** The state of a running `npm start`, if there is one (its process is alive). */
export function readRunningLocalState(): LocalState | undefined {
  if (!existsSync(STATE_FILE)) return undefined;
  const state = tryParse(LocalStateSchema, JSON.parse(readFileSync(STATE_FILE, 'utf8')));
  if (!state) return undefined;
  try {
    process.kill(state.pid, 0);
    return state;
  } catch {
    return undefined;
  }
}

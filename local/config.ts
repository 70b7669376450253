// `npm start` settings, from env (and an untracked .env), validated; the defaults work as they are.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as v from 'valibot';
import { type GuardThresholds, guardFromEnv } from '../shared/reputation/guard.ts';
import {
  describeIssues,
  finiteNumber,
  type Infer,
  integer,
  numberFromText,
  safeParse,
} from '../shared/schema.ts';
import { REPO_ROOT } from './local-env.ts';

const port = numberFromText(integer(0, 65535));

const LocalConfigSchema = v.object({
  PORT: v.optional(port, 3000),
  DYNAMODB_PORT: v.optional(port, 0),
  SQS_PORT: v.optional(port, 0),
  SES_PORT: v.optional(port, 0),
  SWEEP_INTERVAL_SECONDS: v.optional(numberFromText(finiteNumber(1, 3600))),
  MONITOR_INTERVAL_SECONDS: v.optional(numberFromText(finiteNumber(1, 3600))),
  DEMO: v.optional(v.picklist(['true', 'false']), 'true'),
  /** Stop by itself after this many seconds (0 = run until Ctrl-C); handy for scripted demos. */
  RUN_SECONDS: v.optional(numberFromText(finiteNumber(0)), 0),
  /** Local IAM (local/iam-gate.ts): each function held to its synthesized role; `off` lets every call through. */
  LOCAL_IAM: v.optional(v.picklist(['on', 'off']), 'on'),
  /** Make the API verify SigV4 signatures with the local credentials below (the console proxy's target). */
  API_SIGV4: v.optional(v.picklist(['true', 'false']), 'false'),
  LOCAL_ACCESS_KEY_ID: v.optional(v.pipe(v.string(), v.regex(/^[A-Za-z0-9]{1,128}$/)), 'local'),
  LOCAL_SECRET_ACCESS_KEY: v.optional(v.pipe(v.string(), v.minLength(1)), 'local'),
  /** Local secrets (#13); random per run when unset. npm start writes the ones in use to .local/endpoints.json. */
  WEBHOOK_SIGNING_SECRET: v.optional(
    v.pipe(
      v.string(),
      v.regex(/^whsec_[A-Za-z0-9+/]+={0,2}$/, 'whsec_ followed by base64 (Standard Webhooks)'),
    ),
  ),
  TWILIO_AUTH_TOKEN: v.optional(v.pipe(v.string(), v.minLength(16))),
  UNSUBSCRIBE_TOKEN_KEY: v.optional(v.pipe(v.string(), v.minLength(32))),
  /** The key that signs the API's pagination cursors (HMAC); random per run when unset. */
  CURSOR_KEY: v.optional(v.pipe(v.string(), v.minLength(32))),
  /** Product events (#14): the Stripe endpoint signing secret and the Shopify app secret the hooks verify. */
  STRIPE_WEBHOOK_SECRET: v.optional(v.pipe(v.string(), v.minLength(16))),
  SHOPIFY_WEBHOOK_SECRET: v.optional(v.pipe(v.string(), v.minLength(16))),
  /** Minutes after a Shopify checkout's last update before it counts as abandoned. */
  SHOPIFY_ABANDON_AFTER_MINUTES: v.optional(numberFromText(finiteNumber(0.1, 10_080)), 1),
});
export type LocalConfig = Infer<typeof LocalConfigSchema> & {
  /**
   * The reputation guard's thresholds, read by the deployed functions' own parser (guardFromEnv) from
   * REPUTATION_PAUSE_BOUNCE_PERCENT, REPUTATION_PAUSE_COMPLAINT_PERCENT and REPUTATION_MIN_SENDS, so a
   * stage's guard settings can be tried locally; the defaults (5 %, 0.1 %, 100 sends) when unset.
   */
  readonly guard: GuardThresholds;
};

export function loadLocalConfig(env: NodeJS.ProcessEnv = process.env): LocalConfig {
  const dotenv = join(REPO_ROOT, '.env');
  if (existsSync(dotenv)) process.loadEnvFile(dotenv);
  const parsed = safeParse(LocalConfigSchema, env);
  if (!parsed.success) throw new Error(`invalid local configuration: ${describeIssues(parsed.issues)}`);
  try {
    return { ...parsed.data, guard: guardFromEnv(env) };
  } catch (error) {
    throw new Error(`invalid local configuration: ${error instanceof Error ? error.message : String(error)}`);
  }
}

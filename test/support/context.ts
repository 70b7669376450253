// A fresh, isolated set of tables and queues on the shared emulators for one test file (or one test).
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import type { Endpoints } from '../../local/emulators.ts';
import { functionContexts, type LocalIdentity } from '../../local/function-contexts.ts';
import { ALLOW_ALL, type Authorizer, remoteAuthorizer } from '../../local/iam-gate.ts';
import { contextForResources, createResources, type ResourceNames } from '../../local/resources.ts';
import { createSqsClient } from '../../shared/aws/clients.ts';
import type { AppContext, Clock } from '../../shared/context.ts';
import { DEFAULT_SETTINGS, type Settings } from '../../shared/settings.ts';

export interface TestContext {
  /** The operator's context (the `local` key, an administrator): for setup and assertions. */
  readonly ctx: AppContext;
  readonly names: ResourceNames;
  readonly endpoints: Endpoints;
  /** A function's own context: its calls signed with its key and judged by local IAM against its role. */
  readonly ctxFor: (functionId: string) => AppContext;
  /** Where this file's resources are and who judges in-process stand-ins of AWS calls. */
  readonly identity: LocalIdentity;
}

export interface TestContextOptions {
  readonly clock?: Clock;
  readonly shards?: number;
  /** Settings over the defaults (DEFAULT_SETTINGS when absent). */
  readonly settings?: Partial<Settings>;
}

/** A clock the test moves by hand. */
export function manualClock(start = '2026-03-02T10:00:00.000Z') {
  let now = new Date(start).getTime();
  const clock: Clock = () => new Date(now);
  return {
    clock,
    set: (iso: string) => {
      now = new Date(iso).getTime();
    },
    advance: (ms: number) => {
      now += ms;
    },
  };
}

/** Judges in-process stand-ins of AWS calls (async invokes, secret reads) at the run's gate, when it is on. */
export function localAuthorizer(): Authorizer {
  return inject('localIam') === 'enforced' ? remoteAuthorizer(inject('endpoints').dynamodb) : ALLOW_ALL;
}

export async function createTestContext(options: TestContextOptions = {}): Promise<TestContext> {
  const endpoints = inject('endpoints');
  const prefix = `t${randomBytes(4).toString('hex')}`;
  const sqs = createSqsClient(endpoints);
  // No TTL: DynamoDB Local's deletion job compares expiry times with the real clock, while most tests
  // write at a fake one months in the past; with TTL on, items (hourly counters, idempotency records)
  // vanish in the middle of a run.
  const names = await createResources(endpoints, sqs, prefix, { ttl: false });
  const ctx = contextForResources(endpoints, sqs, names, {
    clock: options.clock,
    shards: options.shards ?? 4,
    ...(options.settings ? { settings: { ...DEFAULT_SETTINGS, ...options.settings } } : {}),
  });
  const identity: LocalIdentity = {
    endpoints,
    prefix,
    authorize: localAuthorizer(),
  };
  return { ctx, names, endpoints, ctxFor: functionContexts(ctx, identity), identity };
}

const asFunctionMemo = new WeakMap<AppContext, Map<string, AppContext>>();

/**
 * The context of `functionId` over the same resources as the operator's `ctx` (a test's), with the function's
 * own key: what the test then runs is judged by local IAM as that function in AWS.
 */
export function asFunction(ctx: AppContext, functionId: string): AppContext {
  const memo = asFunctionMemo.get(ctx) ?? new Map<string, AppContext>();
  asFunctionMemo.set(ctx, memo);
  let made = memo.get(functionId);
  if (!made) {
    const prefix = ctx.tables.sessions.replace(/-sessions$/, '');
    made = functionContexts(ctx, { endpoints: inject('endpoints'), prefix, authorize: localAuthorizer() })(
      functionId,
    );
    memo.set(functionId, made);
  }
  return made;
}

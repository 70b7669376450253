// Fault injection for the engine's tests and the soak: DynamoDB errors shaped like AWS's, thrown on the
// real client inside the SDK's retry loop (before a request is sent, or after it was applied and its answer
// "lost"), crash points for the recovery sweep, and gates that let a test decide the order of AWS calls.
import { createHash } from 'node:crypto';
import {
  InternalServerError,
  ProvisionedThroughputExceededException,
  ThrottlingException,
} from '@aws-sdk/client-dynamodb';
import type { AppContext } from '../../shared/context.ts';
import { JOB_DESCRIPTIONS } from '../../shared/infra/resources.ts';
import type { RunRecord } from '../../shared/repositories/jobs.ts';
import { settingsOf } from '../../shared/settings.ts';
import type { Claimed } from '../../shared/usecases/claim-attempt.ts';
import {
  runRecoverySweep,
  SimulatedCrash,
  type SweepFaults,
  type SweepOptions,
} from '../../shared/usecases/recovery-sweep.ts';

// ─── DynamoDB faults ────────────────────────────────────────────────────────────────────────────────────

export type DynamoFaultKind = 'throttle' | '500';
/**
 * `before-send`: the request never reaches DynamoDB (nothing written). `after-send`: DynamoDB applied it,
 * then the caller gets an error instead of the answer (a 500 or a dropped connection after the commit): a
 * retry or a caller's recovery then meets its own write.
 */
export type FaultTiming = 'before-send' | 'after-send';

export interface FaultPlan {
  readonly kind: DynamoFaultKind;
  readonly timing: FaultTiming;
}

/** One request as the injector sees it: each SDK attempt of a command is a separate call. */
export interface DynamoCall {
  /** `TransactWriteItems`, `UpdateItem`, `Query`, … (the wire operation, without `Command`). */
  readonly command: string;
  /** Tables the request names (TableName, TransactItems, RequestItems). */
  readonly tables: readonly string[];
  /** The `Key` of a GetItem, UpdateItem or DeleteItem (string and number parts); absent otherwise. */
  readonly key?: Readonly<Record<string, string>>;
  /** The SDK's attempt number for this command (1 = first try; 2, 3 = its own retries). */
  readonly attempt: number;
  /** Index of this call among the calls the filters let through, from 0. */
  readonly index: number;
  /** The command's input as the SDK marshalled it (to tell apart two writes on one key). */
  readonly input: unknown;
}

/** Per eligible call in order (null = no fault), or a function of the call. */
export type FaultSchedule =
  | ReadonlyArray<FaultPlan | null | undefined>
  | ((call: DynamoCall) => FaultPlan | undefined);

export interface DynamoFaultOptions {
  /** Share of eligible calls that fail, 0..1, drawn from a seeded generator. Exclusive with `schedule`. */
  readonly rate?: number;
  /** Exactly which calls fail. Exclusive with `rate`. */
  readonly schedule?: FaultSchedule;
  /** Kinds a `rate` draws from, uniformly. Default both. */
  readonly kinds?: readonly DynamoFaultKind[];
  /** When a `rate` fault strikes; `mixed` draws either, half and half. Default `before-send`. */
  readonly timing?: FaultTiming | 'mixed';
  /** Only these operations (`TransactWriteItems` or `TransactWriteItemsCommand`); all when absent. */
  readonly commands?: readonly string[];
  /** Only requests naming one of these tables; all when absent. */
  readonly tables?: readonly string[];
  /** Seed of the `rate` generator; printed in `describe()` so a failing run can be replayed. */
  readonly seed?: number;
  /**
   * How a `rate` fault is drawn. `order` (default): the seeded generator, call after call in arrival order, so
   * a seed replays a run only when calls arrive in the same order. `hash`: a SHA-256 of (seed, command, key,
   * SDK attempt, how many times that triple was seen before), so each item's calls meet the same faults
   * whatever the interleaving of concurrent records: a seed reproduces the run.
   */
  readonly draw?: 'order' | 'hash';
  /** The key a `hash` draw names a call by; default its `Key` (or its tables when it has none). */
  readonly faultKey?: (call: DynamoCall) => string;
  /** Injected faults kept in `log` (the counters count them all). Default 2,000. */
  readonly logLimit?: number;
}

export interface InjectedFault extends FaultPlan {
  readonly command: string;
  readonly tables: readonly string[];
  /** The key the fault was drawn for (`hash` draws) or the call's `Key`. */
  readonly key?: string;
  readonly attempt: number;
  /** The AWS error name the caller saw. */
  readonly error: string;
}

export interface DynamoFaultCounters {
  /** Every request that went through the middleware (SDK retries included). */
  calls: number;
  /** Requests the command/table filters let through. */
  eligible: number;
  injected: number;
  byKind: Record<DynamoFaultKind, number>;
  byTiming: Record<FaultTiming, number>;
  byCommand: Record<string, number>;
  /** After-send faults whose request DynamoDB accepted (the write is in the table). */
  appliedThenFailed: number;
}

export interface DynamoFaultInjector {
  readonly counters: DynamoFaultCounters;
  readonly log: readonly InjectedFault[];
  readonly seed: number;
  /** Stops injecting; requests pass untouched until `resume()`. Counters keep counting calls. */
  pause(): void;
  resume(): void;
  /** Takes the middleware off the client for good. */
  remove(): void;
  /** One line for a failure message: seed, counters. */
  describe(): string;
}

/** The part of an SDK client (or document client, which shares its client's stack) the injector needs. */
export interface HasMiddlewareStack {
  readonly middlewareStack: {
    add(middleware: unknown, options: Record<string, unknown>): void;
    remove(toRemove: string): boolean;
  };
}

/** A small seeded generator (mulberry32): the same seed draws the same faults for the same call order. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function operationName(commandName: unknown): string {
  return String(commandName ?? 'unknown').replace(/Command$/, '');
}

function tablesOf(input: unknown): string[] {
  if (!input || typeof input !== 'object') return [];
  const i = input as {
    TableName?: unknown;
    TransactItems?: Array<Record<string, { TableName?: unknown } | undefined>>;
    RequestItems?: Record<string, unknown>;
  };
  const out = new Set<string>();
  if (typeof i.TableName === 'string') out.add(i.TableName);
  for (const item of i.TransactItems ?? []) {
    for (const op of Object.values(item)) if (typeof op?.TableName === 'string') out.add(op.TableName);
  }
  for (const name of Object.keys(i.RequestItems ?? {})) out.add(name);
  return [...out];
}

/** The plain string/number parts of a marshalled `Key` (`{ pk: { S: 'job' } }` → `{ pk: 'job' }`). */
function keyOf(input: unknown): Record<string, string> | undefined {
  const key = (input as { Key?: Record<string, { S?: string; N?: string }> } | undefined)?.Key;
  if (!key || typeof key !== 'object') return undefined;
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(key)) {
    const plain = value?.S ?? value?.N;
    if (plain !== undefined) out[name] = plain;
  }
  return out;
}

/** The SDK's attempt number, from the `amz-sdk-request: attempt=N; max=M` header its retry middleware sets. */
function sdkAttempt(request: unknown): number {
  const headers = (request as { headers?: Record<string, string> } | undefined)?.headers ?? {};
  const match = /attempt=(\d+)/.exec(headers['amz-sdk-request'] ?? '');
  return match ? Number(match[1]) : 1;
}

let faultSerial = 0;

/** A call's `Key` as text with its parts in name order, or its tables when it names no key. */
function defaultFaultKey(call: DynamoCall): string {
  if (!call.key) return call.tables.join(',');
  return Object.keys(call.key)
    .sort()
    .map((name) => `${name}=${call.key?.[name]}`)
    .join('&');
}

/** Two numbers in [0, 1) and a byte, fixed by the text: a fault decided by what the call is, not when. */
function hashDraw(text: string): { hit: number; pick: number; when: number } {
  const digest = createHash('sha256').update(text).digest();
  return {
    hit: digest.readUIntBE(0, 6) / 2 ** 48,
    pick: digest.readUIntBE(6, 6) / 2 ** 48,
    when: digest.readUIntBE(12, 6) / 2 ** 48,
  };
}

/**
 * An error as DynamoDB's SDK would raise it after deserializing the answer: the modelled exception class,
 * `$fault`, `$metadata.httpStatusCode`, and for throttling the `$retryable.throttling` trait, so the
 * SDK's retry strategy and the application's error handling see exactly what AWS would give them.
 */
export function awsDynamoError(kind: DynamoFaultKind, variant = 0): Error {
  const requestId = `FAULT${String(++faultSerial).padStart(8, '0')}`;
  if (kind === '500') {
    const error = new InternalServerError({
      message: 'Internal server error (injected)',
      $metadata: { httpStatusCode: 500, requestId, attempts: 1, totalRetryDelay: 0 },
    });
    return error;
  }
  const options = {
    message: 'The level of configured provisioned throughput for the table was exceeded (injected)',
    $metadata: { httpStatusCode: 400, requestId, attempts: 1, totalRetryDelay: 0 },
  };
  const error =
    variant % 2 === 0
      ? new ProvisionedThroughputExceededException(options)
      : new ThrottlingException(options);
  Object.assign(error, { $retryable: { throttling: true } });
  return error;
}

let injectorSerial = 0;

/**
 * Adds a fault-injecting middleware to a DynamoDB (document) client. It sits in the `finalizeRequest` step
 * after the SDK's retry (and signing) middleware, i.e. inside the retry loop: every SDK attempt is a call,
 * a retryable fault (throttling, 500) is retried by the SDK itself (maxAttempts 3 on the local clients, with
 * its backoff and retry quota) exactly as with real AWS, and only a fault on every attempt reaches the
 * application. An `after-send` fault lets the request through first: the write is applied, the answer lost.
 * The SDK's retry then meets its own write (a TransactWriteItems retry carries the same auto-generated
 * ClientRequestToken, so DynamoDB answers it idempotently; a conditional Put/Update retry fails its
 * condition).
 */
export function injectDynamoFaults(
  client: HasMiddlewareStack,
  options: DynamoFaultOptions,
): DynamoFaultInjector {
  if ((options.rate === undefined) === (options.schedule === undefined)) {
    throw new Error('injectDynamoFaults: give exactly one of rate or schedule');
  }
  if (options.rate !== undefined && !(options.rate >= 0 && options.rate <= 1)) {
    throw new Error(`injectDynamoFaults: rate must be within 0..1, got ${options.rate}`);
  }
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
  const random = seededRandom(seed);
  const kinds = options.kinds?.length ? options.kinds : (['throttle', '500'] as const);
  const timing = options.timing ?? 'before-send';
  const commands = options.commands ? new Set(options.commands.map(operationName)) : undefined;
  const tables = options.tables ? new Set(options.tables) : undefined;
  const logLimit = options.logLimit ?? 2000;
  const name = `injectDynamoFaults#${++injectorSerial}`;

  const counters: DynamoFaultCounters = {
    calls: 0,
    eligible: 0,
    injected: 0,
    byKind: { throttle: 0, '500': 0 },
    byTiming: { 'before-send': 0, 'after-send': 0 },
    byCommand: {},
    appliedThenFailed: 0,
  };
  const log: InjectedFault[] = [];
  let enabled = true;

  const seen = new Map<string, number>();
  const faultKey = options.faultKey ?? defaultFaultKey;
  const decide = (call: DynamoCall): FaultPlan | undefined => {
    const schedule = options.schedule;
    if (typeof schedule === 'function') return schedule(call);
    if (schedule) return schedule[call.index] ?? undefined;
    if (options.draw === 'hash') {
      const name = `${call.command}|${faultKey(call)}|${call.attempt}`;
      const nth = (seen.get(name) ?? 0) + 1;
      seen.set(name, nth);
      const draw = hashDraw(`${seed}|${name}|${nth}`);
      if (draw.hit >= (options.rate ?? 0)) return undefined;
      const kind = kinds[Math.floor(draw.pick * kinds.length)] ?? 'throttle';
      const when: FaultTiming =
        timing === 'mixed' ? (draw.when < 0.5 ? 'before-send' : 'after-send') : timing;
      return { kind, timing: when };
    }
    if (random() >= (options.rate ?? 0)) return undefined;
    const kind = kinds[Math.floor(random() * kinds.length)] ?? 'throttle';
    const when: FaultTiming = timing === 'mixed' ? (random() < 0.5 ? 'before-send' : 'after-send') : timing;
    return { kind, timing: when };
  };

  const middleware =
    (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) =>
    async (args: { input?: unknown; request?: unknown }) => {
      counters.calls++;
      if (!enabled) return next(args);
      const command = operationName(context.commandName);
      const callTables = tablesOf(args.input);
      if (commands && !commands.has(command)) return next(args);
      if (tables && !callTables.some((t) => tables.has(t))) return next(args);
      const call: DynamoCall = {
        command,
        tables: callTables,
        key: keyOf(args.input),
        attempt: sdkAttempt(args.request),
        index: counters.eligible++,
        input: args.input,
      };
      const plan = decide(call);
      if (!plan) return next(args);

      const error = awsDynamoError(plan.kind, counters.injected);
      counters.injected++;
      counters.byKind[plan.kind]++;
      counters.byTiming[plan.timing]++;
      counters.byCommand[command] = (counters.byCommand[command] ?? 0) + 1;
      if (log.length < logLimit)
        log.push({
          ...plan,
          command,
          tables: callTables,
          ...(call.key ? { key: faultKey(call) } : {}),
          attempt: call.attempt,
          error: error.name,
        });
      if (plan.timing === 'after-send') {
        // The request is applied (or refused on its merits); either way its answer never arrives.
        const applied = await next(args).then(
          () => true,
          () => false,
        );
        if (applied) counters.appliedThenFailed++;
      }
      throw error;
    };

  client.middlewareStack.add(middleware, {
    step: 'finalizeRequest',
    // Lands after the retry and signing middlewares (both in this step), just before the request goes out:
    // inside the retry loop, so each SDK attempt meets the injector afresh.
    priority: 'normal',
    name,
    tags: ['FAULT_INJECTION'],
  });

  return {
    counters,
    log,
    seed,
    pause: () => {
      enabled = false;
    },
    resume: () => {
      enabled = true;
    },
    remove: () => {
      enabled = false;
      client.middlewareStack.remove(name);
    },
    describe: () =>
      `fault seed ${seed} (${options.draw === 'hash' ? 'hashed per call' : 'drawn in arrival order'}): ${counters.injected} injected of ${counters.eligible} eligible calls ` +
      `(${JSON.stringify(counters.byTiming)}, ${JSON.stringify(counters.byKind)}, by command ${JSON.stringify(counters.byCommand)}, applied-then-failed ${counters.appliedThenFailed})`,
  };
}

// ─── Sweep crash points ─────────────────────────────────────────────────────────────────────────────────

export type CrashPoint = 'afterClaim' | 'afterPublish';
export const CRASH_POINTS: readonly CrashPoint[] = ['afterClaim', 'afterPublish'];

export interface CrashedAttempt {
  readonly point: CrashPoint;
  readonly sessionId: string;
  readonly number: number;
  readonly attemptId: string;
  readonly channels: readonly string[];
}

/** Decides, for a claimed attempt, where (if anywhere) its sweep dies. */
export type CrashChooser = (claimed: Claimed) => CrashPoint | undefined;

/** A number in [0, 1) fixed by seed, session and attempt number: which attempts crash is reproducible. */
export function crashFraction(seed: number, sessionId: string, number: number): number {
  return createHash('sha256').update(`${seed}:${sessionId}:${number}`).digest().readUIntBE(0, 6) / 2 ** 48;
}

export const crashAt = {
  /** Every attempt crashes at `point` (once each): each sweep dies on its first claim. */
  every:
    (point: CrashPoint): CrashChooser =>
    () =>
      point,
  /** Only these sessions' attempts. */
  sessions:
    (point: CrashPoint, sessionIds: Iterable<string>): CrashChooser =>
    (claimed) => {
      const ids = new Set(sessionIds);
      return ids.has(claimed.attempt.sessionId) ? point : undefined;
    },
  /**
   * A share of attempts, chosen by a hash of (seed, session, number): the same attempts crash on every run
   * of the test. With several points the share is split evenly between them.
   */
  share:
    (share: number, points: CrashPoint | readonly CrashPoint[], seed = 1): CrashChooser =>
    (claimed) => {
      const list = typeof points === 'string' ? [points] : points;
      const f = crashFraction(seed, claimed.attempt.sessionId, claimed.attempt.number);
      if (f >= share || list.length === 0) return undefined;
      return list[Math.min(list.length - 1, Math.floor((f / share) * list.length))];
    },
};

export interface SweepCrasher {
  /** Pass as `faults` to runRecoverySweep. */
  readonly faults: SweepFaults;
  /** Every crash so far, in order. */
  readonly crashed: readonly CrashedAttempt[];
  /** Whether an attempt crashed at a point (and which). */
  crashedAt(sessionId: string, number: number): CrashPoint | undefined;
}

/**
 * Fault hooks that throw SimulatedCrash where `choose` says. Each (session, attempt) crashes at most once,
 * as a process killed by chance would: the attempt a re-run finds again is not killed again.
 */
export function sweepCrasher(choose: CrashChooser): SweepCrasher {
  const crashed: CrashedAttempt[] = [];
  const done = new Map<string, CrashPoint>();
  const hook = (point: CrashPoint) => (claimed: Claimed) => {
    const key = `${claimed.attempt.sessionId}#${claimed.attempt.number}`;
    if (done.has(key) || choose(claimed) !== point) return;
    done.set(key, point);
    crashed.push({
      point,
      sessionId: claimed.attempt.sessionId,
      number: claimed.attempt.number,
      attemptId: claimed.attempt.attemptId,
      channels: [...claimed.attempt.channels],
    });
    throw new SimulatedCrash(
      `killed ${point === 'afterClaim' ? 'after the claim' : 'after publishing'} ${key}`,
    );
  };
  return {
    faults: { afterClaim: hook('afterClaim'), afterPublish: hook('afterPublish') },
    crashed,
    crashedAt: (sessionId, number) => done.get(`${sessionId}#${number}`),
  };
}

/** How far a test moves the clock after a crash: past the sweep's job lease and the dispatch lease. */
export function leaseExpiryMs(ctx: AppContext): number {
  const job = JOB_DESCRIPTIONS['recovery-sweep'].leaseSeconds;
  const dispatch = settingsOf(ctx).dispatchLeaseSeconds;
  return (Math.max(job, dispatch) + 1) * 1000;
}

export interface SweepLoopOptions {
  /** Moves the test's clock (manualClock().advance). */
  readonly advance: (ms: number) => void;
  readonly sweep?: Omit<SweepOptions, 'trigger' | 'faults'> & { trigger?: string };
  readonly faults?: SweepFaults;
  /** Give up after this many runs (then the caller's assertions say what is missing). Default 500. */
  readonly maxRuns?: number;
  /** Clock advance after a crashed or failed run. Default: past both leases. */
  readonly afterCrashMs?: number;
  /** Also stop only when this holds (e.g. "no attempt is still queued"); checked after a quiet run. */
  readonly settled?: () => Promise<boolean>;
}

export interface SweepLoopResult {
  readonly runs: RunRecord[];
  readonly crashes: number;
  /** Runs that threw something other than SimulatedCrash (e.g. an AWS error that outlived the SDK retries). */
  readonly thrown: Error[];
  /** Whether the loop reached a quiet run (and `settled`) before maxRuns. */
  readonly quiescent: boolean;
}

/**
 * Runs sweeps until one completes with nothing left to claim or re-dispatch, moving the clock past the
 * leases after every run that crashed or failed (a crashed run keeps its job lease, as a killed process
 * would). The recovery a scheduler does minute by minute, compressed.
 */
export async function sweepUntilQuiet(ctx: AppContext, options: SweepLoopOptions): Promise<SweepLoopResult> {
  const runs: RunRecord[] = [];
  const thrown: Error[] = [];
  let crashes = 0;
  const maxRuns = options.maxRuns ?? 500;
  const afterCrash = options.afterCrashMs ?? leaseExpiryMs(ctx);
  for (let i = 0; i < maxRuns; i++) {
    let record: RunRecord;
    try {
      record = await runRecoverySweep(ctx, {
        ...options.sweep,
        trigger: options.sweep?.trigger ?? 'fault-test',
        faults: options.faults,
      });
    } catch (error) {
      if (error instanceof SimulatedCrash) crashes++;
      else thrown.push(error instanceof Error ? error : new Error(String(error)));
      options.advance(afterCrash);
      continue;
    }
    runs.push(record);
    const quiet =
      record.status !== 'failed' &&
      record.status !== 'skipped' &&
      record.counts.claimed === 0 &&
      record.counts.redispatched === 0 &&
      record.counts.errors === 0 &&
      record.counts.conflicts === 0;
    if (quiet && (!options.settled || (await options.settled()))) {
      return { runs, crashes, thrown, quiescent: true };
    }
    // A failed, skipped or erring run may have left leases behind, and a quiet run that is not settled waits
    // for one (a queued attempt's dispatch lease): move past them. A run that worked may have more to do now.
    const worked = record.status === 'succeeded' && record.counts.errors === 0;
    if (!worked || quiet) options.advance(afterCrash);
  }
  return { runs, crashes, thrown, quiescent: false };
}

// ─── Ordering AWS calls ─────────────────────────────────────────────────────────────────────────────────

export interface AwsCall {
  readonly service: string;
  readonly command: string;
  readonly tables: readonly string[];
  readonly input: unknown;
}

export interface CallGate {
  /** Awaited before the call is sent; undefined lets it through at once. */
  before?(call: AwsCall): Promise<void> | undefined;
  /** Awaited after the answer (or error) came back, before the caller sees it. */
  after?(call: AwsCall): Promise<void> | undefined;
}

/**
 * Counts AWS calls in flight, gated ones apart, so a driver can wait until every gated caller is parked at
 * its next gate (or done) before it lets the next call go.
 */
export class InFlight {
  private gated = 0;
  private total = 0;
  private idleWaiters: Array<() => void> = [];
  private leaveWaiters: Array<() => void> = [];

  /** Calls in flight, gated or not. */
  get size(): number {
    return this.total;
  }

  enter(gated: boolean): void {
    this.total++;
    if (gated) this.gated++;
  }

  leave(gated: boolean): void {
    this.total--;
    if (gated) this.gated--;
    for (const w of this.leaveWaiters.splice(0)) w();
    if (this.gated === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  /** Resolves once no gated call is in flight and the continuations of the last answers have run. */
  async idle(): Promise<void> {
    for (;;) {
      if (this.gated > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
      // Let the callers' continuations run up to their next gate (or their next call).
      for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
      if (this.gated === 0) return;
    }
  }

  /** Resolves when any call in flight comes back. */
  nextLeave(): Promise<void> {
    return new Promise<void>((resolve) => this.leaveWaiters.push(resolve));
  }
}

/**
 * Puts gates around every call of an SDK client, at the `initialize` step (once per command, outside the
 * retry loop) and counts calls in flight. A test scheduler (fast-check's `fc.scheduler()`) then decides
 * which waiting call goes next, and when a caller sees its answer. Calls whose `before` gate returns
 * undefined run freely (and concurrently); they are counted apart.
 */
export function gateAwsCalls(
  client: HasMiddlewareStack,
  service: string,
  gate: CallGate,
  inFlight: InFlight,
) {
  const name = `gateAwsCalls#${++injectorSerial}`;
  client.middlewareStack.add(
    (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) =>
      async (args: { input?: unknown }) => {
        const call: AwsCall = {
          service,
          command: operationName(context.commandName),
          tables: tablesOf(args.input),
          input: args.input,
        };
        const wait = gate.before?.(call);
        if (wait) await wait;
        const gated = wait !== undefined;
        inFlight.enter(gated);
        let outcome: { ok: true; value: unknown } | { ok: false; error: unknown };
        try {
          outcome = { ok: true, value: await next(args) };
        } catch (error) {
          outcome = { ok: false, error };
        } finally {
          inFlight.leave(gated);
        }
        await gate.after?.(call);
        if (!outcome.ok) throw outcome.error;
        return outcome.value;
      },
    { step: 'initialize', priority: 'high', name },
  );
  return { remove: () => client.middlewareStack.remove(name) };
}

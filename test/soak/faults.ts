// The soak's faults, on top of test/support/faults.ts: kills of sweeps (per claimed attempt) and of sender
// invocations (per batch), duplicate deliveries, and the provider outage. Every random draw comes from one
// seeded generator, so a run's choices can be replayed with SOAK_SEED (timing still varies run to run).
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { LocalReceivers } from '../../local/receivers.ts';
import type { Channel } from '../../shared/infra/resources.ts';
import type { ChannelMessage } from '../../shared/messages.ts';
import { TransientProviderError } from '../../shared/providers/errors.ts';
import type { NotificationProvider } from '../../shared/providers/types.ts';
import type { DeliveryFaults } from '../../shared/senders/deliver.ts';
import type { ProviderSource } from '../../shared/senders/providers.ts';
import type { Claimed } from '../../shared/usecases/claim-attempt.ts';
import { SimulatedCrash } from '../../shared/usecases/job-run.ts';
import { type CrashChooser, type CrashPoint, type SweepCrasher, sweepCrasher } from '../support/faults.ts';

export type SenderCrashPoint = 'beforeProviderCall' | 'afterProviderCall';

// ─── Publish outage ─────────────────────────────────────────────────────────────────────────────────────

export interface PublishOutage {
  active: boolean;
  /** Batches the sweepers could not publish to the channel's queue. */
  refused: number;
  /** Puts the outage in front of a sweeper's SQS client (its sends to the channel's queue fail). */
  attach(sqs: SQSClient): void;
}

/**
 * The sweepers lose `sqs:SendMessage` on one channel's queue, as after a deploy that dropped the grant. The
 * SQS emulator has no IAM, so the denial is produced in front of the sweepers' clients: their SendMessageBatch
 * to that queue fails with AccessDenied; the senders, and the queue and what it holds, are untouched.
 */
export function publishOutage(queueUrl: string): PublishOutage {
  const outage: PublishOutage = {
    active: false,
    refused: 0,
    attach(sqs) {
      sqs.middlewareStack.add(
        (next, context) => async (args) => {
          const input = args.input as { QueueUrl?: string };
          if (
            outage.active &&
            context.commandName === 'SendMessageBatchCommand' &&
            input.QueueUrl === queueUrl
          ) {
            outage.refused++;
            throw Object.assign(
              new Error(
                'User is not authorized to perform: sqs:sendmessage on the queue (soak publish outage)',
              ),
              { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } },
            );
          }
          return next(args);
        },
        { step: 'initialize', name: 'soakPublishOutage' },
      );
    },
  };
  return outage;
}

/** `attemptId|channel`: one notification. */
export function notificationKey(message: ChannelMessage): string {
  return message.type === 'recovery' ? `${message.attemptId}|${message.channel}` : `${message.alertId}|ops`;
}

// ─── Sweep kills ────────────────────────────────────────────────────────────────────────────────────────

/**
 * Kills of sweeps: each claimed attempt dies with probability `rate`, after its claim or after publishing
 * (half each), and takes its whole run with it. One crasher for every run of every sweeper: an attempt dies
 * at most once, as with a process killed by chance.
 */
export function sweepKiller(rate: number, random: () => number): SweepCrasher {
  const decided = new Map<string, CrashPoint | undefined>();
  const choose: CrashChooser = (claimed: Claimed) => {
    // Asked by both hooks of an attempt; the first ask (afterClaim) decides for both.
    const key = `${claimed.attempt.sessionId}#${claimed.attempt.number}`;
    if (!decided.has(key)) {
      decided.set(key, random() < rate ? (random() < 0.5 ? 'afterClaim' : 'afterPublish') : undefined);
    }
    return decided.get(key);
  };
  return sweepCrasher(choose);
}

// ─── Sender kills ───────────────────────────────────────────────────────────────────────────────────────

export interface SenderKill {
  readonly channel: Channel;
  readonly point: SenderCrashPoint;
  readonly key: string;
}

/**
 * One per sender (queue poller): whether its current invocation dies, and where. The first record of the
 * batch to reach the chosen point is killed there; the handler then dies with the whole invocation. An
 * invocation whose records never reach the point (all duplicates, or the outage) is not killed.
 */
export class SenderKiller {
  private plan: { point: SenderCrashPoint; fired: boolean } | undefined;
  planned = 0;

  constructor(
    private readonly channel: Channel,
    private readonly rate: number,
    private readonly random: () => number,
    private readonly kills: SenderKill[],
  ) {}

  /** Called at the start of each invocation. */
  arm(): void {
    this.plan = undefined;
    if (this.random() < this.rate) {
      this.planned++;
      this.plan = {
        point: this.random() < 0.5 ? 'beforeProviderCall' : 'afterProviderCall',
        fired: false,
      };
    }
  }

  disarm(): void {
    this.plan = undefined;
  }

  readonly faults: DeliveryFaults = {
    beforeProviderCall: (message) => this.fire('beforeProviderCall', message),
    afterProviderCall: (message) => this.fire('afterProviderCall', message),
  };

  private fire(point: SenderCrashPoint, message: ChannelMessage): void {
    const plan = this.plan;
    if (!plan || plan.fired || plan.point !== point) return;
    plan.fired = true;
    this.kills.push({ channel: this.channel, point, key: notificationKey(message) });
    throw new SimulatedCrash(`sender ${this.channel} killed at ${point}`);
  }
}

// ─── Duplicate deliveries ───────────────────────────────────────────────────────────────────────────────

export interface DuplicateCounts {
  /** A copy of the message body sent back to the queue (SQS's at-least-once; a re-dispatch looks the same). */
  copies: number;
  /** The same record handed to the handler a second time, right after the first invocation returned. */
  sameRecord: number;
}

type Handler = (event: SQSEvent) => Promise<SQSBatchResponse>;

/**
 * Wraps a sender handler as the queue poller's handler: arms the killer, makes `rate` of the records
 * arrive twice (alternately as a copy on the queue and as the same record again), invokes.
 */
export function duplicatingHandler(options: {
  readonly handler: Handler;
  readonly killer: SenderKiller;
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly rate: number;
  readonly random: () => number;
  readonly counts: DuplicateCounts;
  readonly onInvocation?: () => void;
}): Handler {
  let alternate = 0;
  return async (event) => {
    options.onInvocation?.();
    const copies: string[] = [];
    const again: SQSEvent['Records'] = [];
    for (const record of event.Records) {
      if (options.random() >= options.rate) continue;
      if (alternate++ % 2 === 0) copies.push(record.body);
      else again.push(record);
    }
    if (copies.length) {
      await options.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: options.queueUrl,
          Entries: copies.map((MessageBody, i) => ({ Id: String(i), MessageBody })),
        }),
      );
      options.counts.copies += copies.length;
    }
    options.killer.arm();
    try {
      return await options.handler(event);
    } finally {
      options.killer.disarm();
      // Before the poller deletes anything: as if the mapping had handed the same receive out twice.
      for (const record of again) {
        options.counts.sameRecord++;
        await options.handler({ Records: [record] }).catch(() => undefined);
      }
    }
  };
}

// ─── Provider calls and the outage ──────────────────────────────────────────────────────────────────────

export interface ProviderCallLog {
  /** Calls a provider accepted, per notification key. */
  readonly accepted: Map<string, number>;
  /** Calls answered with an error (the outage's 500s, the wrapped SES refusals), per channel. */
  readonly refused: Record<Channel, number>;
  readonly acceptedByChannel: Record<Channel, number>;
  /** SES calls refused by the outage wrapper: they never reached the SES emulator. */
  sesRefusedByWrapper: number;
  /**
   * Of the refused calls, those that got no answer at all (timeout, connection reset): the provider may
   * still have accepted them, which only its own records can tell.
   */
  readonly unanswered: Record<Channel, number>;
  /** Refused calls by error text (digits folded), for the report. */
  readonly reasons: Map<string, number>;
}

export function emptyCallLog(): ProviderCallLog {
  const zero = () => ({ email: 0, slack: 0, sms: 0, whatsapp: 0, webhook: 0 });
  return {
    accepted: new Map(),
    refused: zero(),
    acceptedByChannel: zero(),
    sesRefusedByWrapper: 0,
    unanswered: zero(),
    reasons: new Map(),
  };
}

export interface Outage {
  active: boolean;
  start(receivers: LocalReceivers): void;
  end(receivers: LocalReceivers): void;
}

/** The receivers answer 500 to everything; SES (whose emulator cannot be told to fail) is refused by the wrapper. */
export function providerOutage(): Outage {
  return {
    active: false,
    start(receivers) {
      this.active = true;
      for (const r of ['slack', 'twilio', 'webhook'] as const)
        receivers.control.failAlways(r, { status: 500 });
    },
    end(receivers) {
      this.active = false;
      receivers.control.reset();
    },
  };
}

/**
 * The real providers, with every call counted per notification, and SES failing during the outage. The
 * SES emulator (aws-ses-v2-local) has no way to fail, so for that window the SES provider is wrapped and
 * answers what SES would (a 503 ServiceUnavailable, transient) without calling the emulator.
 */
export function recordingProviders(
  inner: ProviderSource,
  log: ProviderCallLog,
  outage: Outage,
): ProviderSource {
  return (config) => {
    const provider: NotificationProvider = inner(config);
    return {
      channel: provider.channel,
      name: provider.name,
      send: async (message, rendered) => {
        const channel = provider.channel;
        if (channel === 'email' && outage.active) {
          log.refused.email++;
          log.sesRefusedByWrapper++;
          const reason = 'ses: ServiceUnavailable (outage wrapper, SES emulator not called)';
          log.reasons.set(reason, (log.reasons.get(reason) ?? 0) + 1);
          throw new TransientProviderError('ses: ServiceUnavailable: soak outage (SES provider wrapped)', {
            status: 503,
          });
        }
        try {
          const result = await provider.send(message, rendered);
          const key = notificationKey(message);
          log.accepted.set(key, (log.accepted.get(key) ?? 0) + 1);
          log.acceptedByChannel[channel]++;
          return result;
        } catch (error) {
          log.refused[channel]++;
          if (error instanceof TransientProviderError && error.status === undefined)
            log.unanswered[channel]++;
          const reason = (error instanceof Error ? error.message : String(error))
            .replace(/\d+/g, 'N')
            .slice(0, 90);
          log.reasons.set(reason, (log.reasons.get(reason) ?? 0) + 1);
          throw error;
        }
      },
    };
  };
}

// The on-call side: one SNS topic every alarm pages through, the alarms on what the functions report (job
// heartbeats and failures, stuck sessions, sender error rates, throttles, API 5xx) and a dashboard of the
// same figures. Every alarm is named `<prefix>-<runbookId>` and its description links docs/runbooks.md,
// where `## <runbookId>` says what to check, what to do and how to confirm the fix.
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  DIMENSIONS,
  JOB_METRICS,
  MONITOR_METRICS,
  RECEIPT_METRICS,
  SENDER_METRICS,
  SERVICE_NAME,
  SWEEP_METRICS,
} from '../../shared/infra/metrics.ts';
import type { Channel, JobName } from '../../shared/infra/resources.ts';
import type { AdminApi } from './admin-api.ts';

const RUNBOOK_PATH = 'docs/runbooks.md';

/** The runbook section (and alarm name suffix) of every alarm the stack can create. */
export const RunbookIds = {
  heartbeatMissing: (job: JobName) => `${job}-heartbeat-missing`,
  jobFailing: (job: JobName) => `${job}-failing`,
  sweepErrors: 'recovery-sweep-errors',
  outboxStuck: 'outbox-stuck',
  queueAge: (channel: Channel) => `${channel}-queue-age`,
  channelMisconfigured: (channel: Channel) => `${channel}-misconfigured`,
  jobDlq: (job: JobName) => `${job}-dlq`,
  channelDlq: (channel: Channel) => `${channel}-dlq`,
  senderErrorRate: (channel: Channel) => `${channel}-error-rate`,
  stuckSessions: 'stuck-sessions',
  lambdaThrottles: 'lambda-throttles',
  api5xx: 'api-5xx',
  receiptsDlq: 'receipts-dlq',
  bounceRate: (channel: Channel) => `${channel}-bounce-rate`,
  complaintRate: (channel: Channel) => `${channel}-complaint-rate`,
  sendingPaused: (channel: Channel) => `${channel}-sending-paused`,
  eventsDlq: 'events-dlq',
  ingestThrottles: 'ingest-throttles',
} as const;

/** SES reviews an account at these 24 h rates (percent); the alarms fire at half of them. */
const SES_REVIEW_PERCENT = { bounce: 5, complaint: 0.1 } as const;

export interface OperationsProps {
  /** Prefix of alarm, topic and dashboard names (`session-recovery-<stage>`). */
  readonly prefix: string;
  /** EMF namespace the functions emit into. */
  readonly namespace: string;
  /**
   * Addresses subscribed to the on-call topic (each confirms by mail once).
   * @default []
   */
  readonly onCallEmails?: readonly string[];
  /**
   * HTTPS endpoints subscribed to the on-call topic (a pager's SNS integration URL).
   * @default []
   */
  readonly onCallHttpsUrls?: readonly string[];
}

export interface JobWatch {
  readonly job: JobName;
  /** Time between two scheduled runs. */
  readonly rate: Duration;
  /** A heartbeat older than this pages. */
  readonly heartbeatTtl: Duration;
  /**
   * A disabled schedule (a deliberate choice) expects no heartbeat: no heartbeat alarm, which would
   * otherwise page forever. @default true
   */
  readonly scheduleEnabled?: boolean;
}

export interface AlarmThresholds {
  /** @default 20 */
  readonly senderErrorRatePercent?: number;
  /** @default 5 */
  readonly senderMinSends?: number;
  /** @default 0 */
  readonly stuckSessions?: number;
  /** @default 5 */
  readonly api5xxRatePercent?: number;
  /** Age of a channel queue's oldest message that pages. @default 15 minutes */
  readonly queueAge?: Duration;
}

const FIVE_MINUTES = Duration.minutes(5);

export class Operations extends Construct {
  /** The on-call topic: every alarm's ALARM and OK action. */
  public readonly topic: sns.Topic;
  public readonly dashboard: cloudwatch.Dashboard;
  /** Every alarm paging through the topic, by runbook id. */
  public readonly alarms = new Map<string, cloudwatch.Alarm>();
  private readonly props: OperationsProps;

  constructor(scope: Construct, id: string, props: OperationsProps) {
    super(scope, id);
    this.props = props;
    this.topic = new sns.Topic(this, 'OnCallTopic', {
      topicName: `${props.prefix}-on-call`,
      displayName: `session-recovery ${props.prefix} on-call`,
      enforceSSL: true,
    });
    for (const email of props.onCallEmails ?? [])
      this.topic.addSubscription(new subscriptions.EmailSubscription(email));
    for (const url of props.onCallHttpsUrls ?? [])
      this.topic.addSubscription(
        new subscriptions.UrlSubscription(url, { protocol: sns.SubscriptionProtocol.HTTPS }),
      );
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: props.prefix,
      defaultInterval: Duration.hours(3),
    });
  }

  /** Name and description for an alarm built elsewhere (queue constructs own their DLQ alarms). */
  alarmIdentity(runbookId: string, summary: string): { alarmName: string; alarmDescription: string } {
    return {
      alarmName: `${this.props.prefix}-${runbookId}`,
      alarmDescription: `${summary} Runbook: ${RUNBOOK_PATH}#${runbookId}`,
    };
  }

  /** Makes an alarm page: ALARM and OK both go to the on-call topic, so on-call also sees the recovery. */
  adopt(runbookId: string, alarm: cloudwatch.Alarm): cloudwatch.Alarm {
    if (this.alarms.has(runbookId)) throw new Error(`two alarms share runbook id ${runbookId}`);
    const action = new actions.SnsAction(this.topic);
    alarm.addAlarmAction(action);
    alarm.addOkAction(action);
    this.alarms.set(runbookId, alarm);
    return alarm;
  }

  private alarm(
    runbookId: string,
    summary: string,
    props: Omit<cloudwatch.AlarmProps, 'alarmName' | 'alarmDescription'>,
  ): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this, `Alarm-${runbookId}`, {
      ...this.alarmIdentity(runbookId, summary),
      ...props,
    });
    return this.adopt(runbookId, alarm);
  }

  private metric(name: string, dimensions: Record<string, string>, statistic: string, period: Duration) {
    return new cloudwatch.Metric({
      namespace: this.props.namespace,
      metricName: name,
      dimensionsMap: { [DIMENSIONS.service]: SERVICE_NAME, ...dimensions },
      statistic,
      period,
    });
  }

  jobMetric(job: JobName, name: string, statistic: string = cloudwatch.Stats.SUM, period = FIVE_MINUTES) {
    return this.metric(name, { [DIMENSIONS.job]: job }, statistic, period);
  }

  senderMetric(
    channel: Channel,
    name: string,
    statistic: string = cloudwatch.Stats.SUM,
    period = FIVE_MINUTES,
  ) {
    return this.metric(name, { [DIMENSIONS.channel]: channel }, statistic, period);
  }

  /** Heartbeat-missing and consecutive-failure alarms for a job, its DLQ alarm, and its dashboard row. */
  watchJob(watch: JobWatch, deadLetterAlarm: cloudwatch.Alarm, fn: lambda.Function): void {
    const { job, rate } = watch;
    // One datapoint per run; the alarm fires once the heartbeat TTL worth of periods has none. Missing data
    // is the failure mode (the schedule stopped, the function cannot start), so it counts as breaching.
    const heartbeatPeriods = Math.max(1, Math.ceil(watch.heartbeatTtl.toSeconds() / rate.toSeconds()));
    if (watch.scheduleEnabled ?? true) {
      this.alarm(
        RunbookIds.heartbeatMissing(job),
        `${job} has not reported a heartbeat for ${heartbeatPeriods * rate.toMinutes()} minutes: it is not running.`,
        {
          metric: this.jobMetric(job, JOB_METRICS.heartbeat, cloudwatch.Stats.SUM, rate),
          threshold: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
          evaluationPeriods: heartbeatPeriods,
          datapointsToAlarm: heartbeatPeriods,
          treatMissingData: cloudwatch.TreatMissingData.BREACHING,
        },
      );
    }
    // Failing for 5 minutes straight, not one blip: ConsecutiveFailures is a gauge reset by a success.
    const failurePeriods = Math.max(1, Math.ceil(FIVE_MINUTES.toSeconds() / rate.toSeconds()));
    this.alarm(RunbookIds.jobFailing(job), `${job} runs have been failing for 5 minutes.`, {
      metric: this.jobMetric(job, JOB_METRICS.consecutiveFailures, cloudwatch.Stats.MAXIMUM, rate),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: failurePeriods,
      datapointsToAlarm: failurePeriods,
      // No data means no run, which the heartbeat alarm already pages for.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.adopt(RunbookIds.jobDlq(job), deadLetterAlarm);

    const counts = [
      JOB_METRICS.selected,
      JOB_METRICS.claimed,
      JOB_METRICS.dispatched,
      JOB_METRICS.skipped,
      JOB_METRICS.errors,
    ].map((name) => this.jobMetric(job, name).with({ label: name }));
    const extra =
      job === 'timeout-monitor'
        ? [
            new cloudwatch.GraphWidget({
              title: `${job}: stuck and timed out`,
              left: [
                this.jobMetric(job, MONITOR_METRICS.stuckSessions, cloudwatch.Stats.MAXIMUM).with({
                  label: MONITOR_METRICS.stuckSessions,
                }),
                this.jobMetric(job, MONITOR_METRICS.timedOut).with({ label: MONITOR_METRICS.timedOut }),
              ],
              width: 6,
            }),
          ]
        : [];
    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({ markdown: `## ${job}`, width: 24, height: 1 }),
      new cloudwatch.GraphWidget({
        title: `${job}: heartbeat and consecutive failures`,
        left: [
          this.jobMetric(job, JOB_METRICS.heartbeat, cloudwatch.Stats.SUM, rate).with({ label: 'Heartbeat' }),
        ],
        right: [
          this.jobMetric(job, JOB_METRICS.consecutiveFailures, cloudwatch.Stats.MAXIMUM, rate).with({
            label: 'ConsecutiveFailures',
          }),
        ],
        width: 6,
      }),
      new cloudwatch.GraphWidget({ title: `${job}: sessions per 5 min`, left: counts, width: 6 }),
      new cloudwatch.GraphWidget({
        title: `${job}: run duration (ms)`,
        left: [
          this.jobMetric(job, JOB_METRICS.durationMs, cloudwatch.Stats.p(95)).with({ label: 'p95' }),
          this.jobMetric(job, JOB_METRICS.durationMs, cloudwatch.Stats.MAXIMUM).with({ label: 'max' }),
        ],
        leftAnnotations: [{ value: fn.timeout?.toMilliseconds() ?? 0, label: 'timeout' }],
        width: 6,
      }),
      ...extra,
    );
  }

  /**
   * The outbox and the sweep's errors: an attempt that cannot leave the outbox (a deleted queue, a lost
   * `sqs:SendMessage` grant) keeps its session from every later reminder, so it pages once it has waited
   * the dispatch lease plus two sweeps; errors in three sweeps running page too.
   */
  watchDispatch(rate: Duration, leaseSeconds: number): void {
    const limitSeconds = leaseSeconds + 2 * rate.toSeconds();
    this.alarm(
      RunbookIds.outboxStuck,
      `An attempt or ops alert has waited in the outbox more than ${limitSeconds} s: it cannot reach its queue.`,
      {
        metric: this.jobMetric(
          'recovery-sweep',
          SWEEP_METRICS.outboxOldestAgeSeconds,
          cloudwatch.Stats.MAXIMUM,
          rate,
        ),
        threshold: limitSeconds,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        // No data means no sweep, which the heartbeat alarm pages for.
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      },
    );
    this.alarm(RunbookIds.sweepErrors, 'Three sweeps in a row reported errors (claims, dispatches, reads).', {
      metric: this.jobMetric('recovery-sweep', JOB_METRICS.errors, cloudwatch.Stats.SUM, rate),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'outbox: oldest waiting item (s) and deferred reminders',
        left: [
          this.jobMetric(
            'recovery-sweep',
            SWEEP_METRICS.outboxOldestAgeSeconds,
            cloudwatch.Stats.MAXIMUM,
            rate,
          ).with({ label: 'oldest in outbox (s)' }),
        ],
        leftAnnotations: [{ value: limitSeconds, label: 'pages' }],
        right: [
          this.jobMetric('recovery-sweep', SWEEP_METRICS.deferred).with({ label: 'deferred per 5 min' }),
        ],
        width: 12,
      }),
    );
  }

  /** Stuck sessions reported by the timeout monitor. */
  watchStuckSessions(rate: Duration, threshold = 0): void {
    this.alarm(RunbookIds.stuckSessions, `The timeout monitor found more than ${threshold} stuck sessions.`, {
      metric: this.jobMetric(
        'timeout-monitor',
        MONITOR_METRICS.stuckSessions,
        cloudwatch.Stats.MAXIMUM,
        rate,
      ),
      threshold,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }

  /** Error-rate, queue-age, misconfiguration and DLQ alarms of a channel, and its delivery row. */
  watchChannel(
    channel: Channel,
    queues: { readonly queue: sqs.IQueue; readonly deadLetterQueue: sqs.IQueue },
    deadLetterAlarm: cloudwatch.Alarm,
    thresholds: AlarmThresholds = {},
  ): void {
    const { deadLetterQueue } = queues;
    const queueAge = thresholds.queueAge ?? Duration.minutes(15);
    // Reminders wait for the previous one's notifications: a queue that backs up delays every session's
    // next reminder, so a backlog pages before it turns into the outcome wait running out.
    this.alarm(
      RunbookIds.queueAge(channel),
      `The ${channel} queue's oldest message is older than ${queueAge.toMinutes()} minutes: its sender is not keeping up.`,
      {
        metric: queues.queue.metricApproximateAgeOfOldestMessage({
          period: FIVE_MINUTES,
          statistic: cloudwatch.Stats.MAXIMUM,
        }),
        threshold: queueAge.toSeconds(),
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 2,
        datapointsToAlarm: 2,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      },
    );
    this.alarm(
      RunbookIds.channelMisconfigured(channel),
      `The ${channel} sender cannot send (missing or unreadable secret, refused credential, no identity): its messages wait for a fix.`,
      {
        metric: this.senderMetric(channel, SENDER_METRICS.misconfigured),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      },
    );
    const rate = thresholds.senderErrorRatePercent ?? 20;
    const minSends = thresholds.senderMinSends ?? 5;
    const sent = this.senderMetric(channel, SENDER_METRICS.sent);
    const failed = this.senderMetric(channel, SENDER_METRICS.failed);
    // Below minSends a single failure is not a rate; FILL keeps an idle channel at 0 instead of no data.
    const errorRate = new cloudwatch.MathExpression({
      expression: `IF((FILL(sent,0) + FILL(failed,0)) >= ${minSends}, 100 * FILL(failed,0) / (FILL(sent,0) + FILL(failed,0)), 0)`,
      usingMetrics: { sent, failed },
      period: FIVE_MINUTES,
      label: `${channel} error rate (%)`,
    });
    this.alarm(
      RunbookIds.senderErrorRate(channel),
      `More than ${rate}% of ${channel} sends failed in 5 minutes (at least ${minSends} sends).`,
      {
        metric: errorRate,
        threshold: rate,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      },
    );
    this.adopt(RunbookIds.channelDlq(channel), deadLetterAlarm);
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: `${channel}: outcomes per 5 min`,
        left: [
          sent.with({ label: 'Sent' }),
          failed.with({ label: 'Failed' }),
          this.senderMetric(channel, SENDER_METRICS.skipped).with({ label: 'Skipped' }),
          this.senderMetric(channel, SENDER_METRICS.bookkeepingMissed).with({
            label: 'Sent, bookkeeping missed',
          }),
        ],
        right: [errorRate],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: `${channel}: send duration (ms)`,
        left: [
          this.senderMetric(channel, SENDER_METRICS.sendDurationMs, cloudwatch.Stats.p(95)).with({
            label: 'p95',
          }),
        ],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: `${channel}: dead letters`,
        left: [
          deadLetterQueue.metricApproximateNumberOfMessagesVisible({
            period: Duration.minutes(1),
            statistic: cloudwatch.Stats.MAXIMUM,
            label: 'DLQ depth (SQS)',
          }),
          // What the alarm watches: the monitor's gauge, which goes on while SQS's own metric stops.
          deadLetterAlarm.metric,
        ],
        width: 8,
      }),
    );
  }

  /** One alarm on throttles of any of the functions, and their errors and throttles on the dashboard. */
  watchFunctions(functions: readonly lambda.IFunction[]): void {
    // Alarm metric math takes at most 10 metrics; the stack has 9 functions (an 11th needs a second alarm).
    if (functions.length > 10) throw new Error('lambda-throttles alarm: more than 10 functions');
    const throttles = Object.fromEntries(
      functions.map((fn, i) => [`t${i}`, fn.metricThrottles({ period: FIVE_MINUTES, statistic: 'Sum' })]),
    );
    this.alarm(RunbookIds.lambdaThrottles, 'A function was throttled: work is delayed or dropped.', {
      metric: new cloudwatch.MathExpression({
        expression: `SUM([${Object.keys(throttles).join(',')}])`,
        usingMetrics: throttles,
        period: FIVE_MINUTES,
        label: 'throttles',
      }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({ markdown: '## Functions', width: 24, height: 1 }),
      new cloudwatch.GraphWidget({
        title: 'Errors',
        left: functions.map((fn) => fn.metricErrors({ period: FIVE_MINUTES, statistic: 'Sum' })),
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Throttles',
        left: functions.map((fn) => fn.metricThrottles({ period: FIVE_MINUTES, statistic: 'Sum' })),
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Duration p95 (ms)',
        left: functions.map((fn) => fn.metricDuration({ period: FIVE_MINUTES, statistic: 'p95' })),
        width: 8,
      }),
    );
  }

  /** 5xx rate of the admin API, and its traffic on the dashboard. */
  watchApi(api: AdminApi, ratePercent = 5): void {
    const serverErrors = api.api.metricServerError({
      period: FIVE_MINUTES,
      statistic: cloudwatch.Stats.AVERAGE,
    });
    // 5XXError is 0 or 1 per request, so its Average is the error rate. API.md: no input ever gives a 5xx.
    this.alarm(RunbookIds.api5xx, `More than ${ratePercent}% of admin API requests answered 5xx.`, {
      metric: serverErrors,
      threshold: ratePercent / 100,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({ markdown: '## Admin API', width: 24, height: 1 }),
      new cloudwatch.GraphWidget({
        title: 'Requests and errors per 5 min',
        left: [
          api.api.metricCount({ period: FIVE_MINUTES, statistic: 'Sum', label: 'requests' }),
          api.api.metricClientError({ period: FIVE_MINUTES, statistic: 'Sum', label: '4xx' }),
          api.api.metricServerError({ period: FIVE_MINUTES, statistic: 'Sum', label: '5xx' }),
        ],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Latency (ms)',
        left: [
          api.api.metricLatency({ period: FIVE_MINUTES, statistic: 'p95', label: 'p95' }),
          api.api.metricIntegrationLatency({
            period: FIVE_MINUTES,
            statistic: 'p95',
            label: 'integration p95',
          }),
        ],
        width: 12,
      }),
    );
  }

  /**
   * The reputation guard (#13): email bounce and complaint rates (24 h, from the receipts) at half of SES's
   * review thresholds, the guard's pause of email sending, and receipts that could not be applied.
   */
  watchReputation(receiptsDeadLetterQueue: sqs.IQueue): void {
    const hour = Duration.hours(1);
    const gauge = (name: string) => this.senderMetric('email', name, cloudwatch.Stats.MAXIMUM, hour);
    this.alarm(
      RunbookIds.bounceRate('email'),
      `The email bounce rate over 24 h passed ${SES_REVIEW_PERCENT.bounce / 2}% (half of SES's review threshold).`,
      {
        metric: gauge(RECEIPT_METRICS.bounceRate),
        threshold: SES_REVIEW_PERCENT.bounce / 2,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        // Emitted by every scheduled monitor run (shared/usecases/state-gauges.ts): a quiet period is a
        // monitor that did not run (its heartbeat alarm pages), never a reason to go back to OK.
        treatMissingData: cloudwatch.TreatMissingData.MISSING,
      },
    );
    this.alarm(
      RunbookIds.complaintRate('email'),
      `The email complaint rate over 24 h passed ${SES_REVIEW_PERCENT.complaint / 2}% (half of SES's review threshold).`,
      {
        metric: gauge(RECEIPT_METRICS.complaintRate),
        threshold: SES_REVIEW_PERCENT.complaint / 2,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        // Emitted by every scheduled monitor run (shared/usecases/state-gauges.ts): a quiet period is a
        // monitor that did not run (its heartbeat alarm pages), never a reason to go back to OK.
        treatMissingData: cloudwatch.TreatMissingData.MISSING,
      },
    );
    this.alarm(
      RunbookIds.sendingPaused('email'),
      'The reputation guard paused email sending: reminders wait on the queue until an operator resumes.',
      {
        metric: this.senderMetric(
          'email',
          RECEIPT_METRICS.sendingPaused,
          cloudwatch.Stats.MAXIMUM,
          FIVE_MINUTES,
        ),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        // Emitted by every scheduled monitor run (shared/usecases/state-gauges.ts): a quiet period is a
        // monitor that did not run (its heartbeat alarm pages), never a reason to go back to OK.
        treatMissingData: cloudwatch.TreatMissingData.MISSING,
      },
    );
    this.alarm(RunbookIds.receiptsDlq, 'SES events the receipts function could not apply are in its DLQ.', {
      metric: receiptsDeadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({ markdown: '## Delivery feedback', width: 24, height: 1 }),
      new cloudwatch.GraphWidget({
        title: 'email: bounce and complaint rate, 24 h (%)',
        left: [gauge(RECEIPT_METRICS.bounceRate).with({ label: 'bounce %' })],
        right: [gauge(RECEIPT_METRICS.complaintRate).with({ label: 'complaint %' })],
        leftAnnotations: [{ value: SES_REVIEW_PERCENT.bounce / 2, label: 'alarm' }],
        rightAnnotations: [{ value: SES_REVIEW_PERCENT.complaint / 2, label: 'alarm' }],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Receipts per 5 min',
        left: (['email', 'sms', 'whatsapp'] as const).flatMap((channel) =>
          [RECEIPT_METRICS.delivered, RECEIPT_METRICS.bounced, RECEIPT_METRICS.complained].map((name) =>
            this.senderMetric(channel, name).with({ label: `${channel} ${name}` }),
          ),
        ),
        width: 12,
      }),
    );
  }

  /**
   * Product events (#14): any event that could not be delivered or applied is in the events DLQ, which pages
   * on the first; throttles of the ingest function page on their own (lambda-throttles' metric math holds
   * ten functions, the other ten).
   */
  watchEvents(eventsDeadLetterQueue: sqs.IQueue, ingest: lambda.IFunction): void {
    this.alarm(RunbookIds.ingestThrottles, 'The ingest function was throttled: product events are delayed.', {
      metric: ingest.metricThrottles({ period: FIVE_MINUTES, statistic: cloudwatch.Stats.SUM }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.alarm(
      RunbookIds.eventsDlq,
      'Product events that could not be delivered or applied are in the events DLQ.',
      {
        metric: eventsDeadLetterQueue.metricApproximateNumberOfMessagesVisible({
          period: Duration.minutes(1),
          statistic: cloudwatch.Stats.MAXIMUM,
        }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      },
    );
  }

  /** A status board of every alarm as the dashboard's last row; call after all watch* calls. */
  addAlarmStatus(): void {
    this.dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({
        title: 'Alarms',
        alarms: [...this.alarms.values()],
        width: 24,
        height: 6,
      }),
    );
  }
}

// The whole service in one stack, derived from the two descriptions in shared/infra: tables and channel
// queues from resources.ts, functions with their triggers and grants from functions.ts. Nothing here names a
// table, index, queue or env var by hand, so the stack cannot drift from the local runtime.
import {
  Annotations,
  Aws,
  CfnMapping,
  CfnOutput,
  Duration,
  RemovalPolicy,
  Stack,
  type StackProps,
  Tags,
  Token,
} from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ses from 'aws-cdk-lib/aws-ses';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { FactName, RegionInfo } from 'aws-cdk-lib/region-info';
import type { Construct } from 'constructs';
import {
  SHOPIFY_DETAIL_TYPE,
  SHOPIFY_PARTNER_PREFIX,
  STRIPE_PARTNER_PREFIX,
} from '../shared/events/eventbridge.ts';
import { GENERIC_DETAIL_TYPES } from '../shared/events/generic.ts';
import { SHOPIFY_TOPICS } from '../shared/events/shopify.ts';
import { STRIPE_EVENT_TYPES } from '../shared/events/stripe.ts';
import {
  FUNCTION_DESCRIPTIONS,
  type FunctionDescription,
  jobFunctionEnvVar,
  LAMBDA_ENDPOINT_ENV,
  SECRETS,
  SETTINGS,
  type SecretId,
  type TableId,
} from '../shared/infra/functions.ts';
import { QUEUE_METRICS, stageNamespace } from '../shared/infra/metrics.ts';
import {
  CHANNEL_QUEUES,
  type Channel,
  EVENT_QUEUES,
  eventQueueName,
  heartbeatTtlSeconds,
  JOBS,
  type JobName,
  queueName,
  TABLES,
  tableName,
} from '../shared/infra/resources.ts';
import { type Config, ConfigError, resourcePrefix, secretName } from './config.ts';
import { AdminApi, type ApiRoute } from './constructs/admin-api.ts';
import { ChannelSender } from './constructs/channel-sender.ts';
import { Operations, RunbookIds } from './constructs/operations.ts';
import { ScheduledJob } from './constructs/scheduled-job.ts';
import {
  addSqsTrigger,
  SECRETS_EXTENSION_VERSION,
  ServiceFunction,
  sendOnly,
  sqsFailureDestination,
} from './constructs/service-function.ts';
import { ServiceTable, TableDeletionProtection } from './constructs/service-table.ts';
import { type Acknowledgement, acknowledgeNagFindings } from './nag.ts';

export interface SessionRecoveryStackProps extends StackProps {
  readonly config: Config;
  /**
   * The admin API's route table (shared/api/routes.ts).
   * @default - no API
   */
  readonly routes?: readonly ApiRoute[];
}

/** Placeholder code for template tests (`bundling: stub`); it is never deployed by `cdk deploy`. */
const STUB_CODE =
  'exports.handler = async () => { throw new Error("stub: synthesized with bundling=stub"); };';

export class SessionRecoveryStack extends Stack {
  public readonly config: Config;
  public readonly prefix: string;
  public readonly tables: Record<TableId, ServiceTable>;
  public readonly senders: Record<Channel, ChannelSender>;
  /** Every function by its description id. */
  public readonly functions: Record<string, ServiceFunction>;
  public readonly jobs: Record<JobName, ScheduledJob>;
  public readonly operations: Operations;
  public readonly api?: AdminApi;
  /**
   * SES configuration set every email is sent through; it publishes the events the receipts function reads.
   * Created by the stack, or imported when `sesConfigurationSet` names an existing one.
   */
  public readonly configurationSet: ses.IConfigurationSet;
  /** Where SES events go that the receipts function could not apply (after Lambda's retries). */
  public readonly receiptsDeadLetterQueue: sqs.Queue;
  /**
   * Secrets the stack generates itself (the cursor key; the unsubscribe key while email is enabled and no
   * name is configured): their values are made by Secrets Manager at deploy.
   */
  public readonly generatedSecrets: Partial<Record<SecretId, secretsmanager.Secret>> = {};
  /** Product events (#14): the stage's bus, where every failed event ends, and Shopify checkouts' timers. */
  public readonly eventBus: events.EventBus;
  public readonly eventsDeadLetterQueue: sqs.Queue;
  public readonly checkoutTimerQueue: sqs.Queue;
  /** What happens to tables, secrets, queues and log groups when they leave the stack (config `removalPolicy`). */
  public readonly removalPolicy: RemovalPolicy;
  /** Switches the tables' deletion protection on after everything else was created (retained stages only). */
  public readonly tableProtection?: TableDeletionProtection;
  /** The cdk-nag findings this stack accepts, each with its resource and reason (lib/nag.ts). */
  public readonly nagAcknowledgements: readonly Acknowledgement[];

  constructor(scope: Construct, id: string, props: SessionRecoveryStackProps) {
    super(scope, id, {
      description: `session-recovery (${props.config.stage}): recovery sweeps, timeout monitoring, notifications`,
      ...props,
    });
    const { config } = props;
    this.config = config;
    this.prefix = resourcePrefix(config);
    Tags.of(this).add('service', 'session-recovery');
    Tags.of(this).add('stage', config.stage);

    // `retain` keeps data and dead letters when the stack is deleted or a resource replaced, but not after a
    // failed first create: its rollback deletes what it made, so the retry does not fail on a fixed name.
    const removalPolicy =
      config.removalPolicy === 'retain' ? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE : RemovalPolicy.DESTROY;
    this.removalPolicy = removalPolicy;

    this.tables = {} as Record<TableId, ServiceTable>;
    for (const description of TABLES) {
      this.tables[description.id] = new ServiceTable(this, `${capitalize(description.id)}Table`, {
        description,
        tableName: tableName(this.prefix, description),
        removalPolicy,
      });
    }

    // The stage's own namespace: two stages in one account share no custom metric (README design notes).
    const metricsNamespace = stageNamespace(config.metricsNamespace, config.stage);
    this.operations = new Operations(this, 'Operations', {
      prefix: this.prefix,
      namespace: metricsNamespace,
      onCallEmails: config.onCallEmails,
      onCallHttpsUrls: config.onCallHttpsUrls,
    });

    const common = {
      logRetention: config.logRetentionDays as logs.RetentionDays,
      logRemovalPolicy: removalPolicy,
      logLevel: config.logLevel,
      metricsNamespace,
    };
    const codeFor = () => (config.bundling === 'stub' ? lambda.Code.fromInline(STUB_CODE) : undefined);
    const secretsExtensionLayerArn = FUNCTION_DESCRIPTIONS.some((d) => d.secretsViaExtension)
      ? this.secretsExtensionLayerArn()
      : undefined;

    this.functions = {};
    this.senders = {} as Record<Channel, ChannelSender>;
    for (const description of FUNCTION_DESCRIPTIONS) {
      const functionName = `${this.prefix}-${description.id}`;
      const { trigger } = description;
      const recursiveLoop = description.selfLoop
        ? lambda.RecursiveLoop.ALLOW
        : lambda.RecursiveLoop.TERMINATE;
      if (trigger.kind === 'queue') {
        const queue = CHANNEL_QUEUES.find((q) => q.channel === trigger.channel);
        if (!queue) throw new Error(`no channel queue for ${trigger.channel}`);
        if (queue.senderTimeoutSeconds !== description.timeoutSeconds)
          throw new Error(`${description.id}: timeout differs from its queue's senderTimeoutSeconds`);
        const alarm = this.operations.alarmIdentity(
          RunbookIds.channelDlq(trigger.channel),
          `${trigger.channel} notifications reached the dead-letter queue.`,
        );
        const sender = new ChannelSender(this, `${capitalize(trigger.channel)}Channel`, {
          description: queue,
          queueName: queueName(this.prefix, queue),
          entry: description.entry,
          code: codeFor(),
          memorySize: description.memoryMb,
          recursiveLoop,
          functionName,
          dlqAlarmName: alarm.alarmName,
          dlqAlarmDescription: alarm.alarmDescription,
          dlqDepthMetric: this.operations.senderMetric(
            trigger.channel,
            QUEUE_METRICS.deadLetterDepth,
            cloudwatch.Stats.MAXIMUM,
            Duration.minutes(config.monitorRateMinutes),
          ),
          secretsExtension: description.secretsViaExtension,
          secretsExtensionLayerArn,
          queueRemovalPolicy: removalPolicy,
          ...common,
        });
        this.senders[trigger.channel] = sender;
        this.functions[description.id] = sender.fn;
      } else {
        this.functions[description.id] = new ServiceFunction(this, pascal(description.id), {
          entry: description.entry,
          code: codeFor(),
          assets: description.assets,
          timeout: Duration.seconds(description.timeoutSeconds),
          memorySize: description.memoryMb,
          recursiveLoop,
          functionName,
          description:
            description.summary ??
            (trigger.kind === 'schedule' ? `Scheduled job ${trigger.job}` : 'Admin API'),
          secretsExtension: description.secretsViaExtension,
          secretsExtensionLayerArn,
          ...common,
        });
      }
    }
    // A named configuration set already exists (creating it again fails the deploy with AlreadyExists).
    this.configurationSet = config.sesConfigurationSet
      ? ses.ConfigurationSet.fromConfigurationSetName(
          this,
          'EmailConfigurationSet',
          config.sesConfigurationSet,
        )
      : new ses.ConfigurationSet(this, 'EmailConfigurationSet', {
          configurationSetName: this.sesConfigurationSetName(),
          reputationMetrics: true,
        });
    for (const id of Object.keys(SECRETS) as SecretId[]) {
      const secret = SECRETS[id];
      if (!('generated' in secret) || !this.generates(id)) continue;
      this.generatedSecrets[id] = new secretsmanager.Secret(this, `${pascal(secret.suffix)}Secret`, {
        secretName: secretName(config, id),
        description: `session-recovery (${config.stage}): ${secret.suffix}, generated at deploy`,
        generateSecretString: { passwordLength: 64, excludePunctuation: true },
        removalPolicy,
      });
    }
    for (const description of FUNCTION_DESCRIPTIONS) this.bind(description);
    this.warnOfSecretsToCreate();
    this.receiptsDeadLetterQueue = this.wireReceipts();
    ({
      bus: this.eventBus,
      dlq: this.eventsDeadLetterQueue,
      timers: this.checkoutTimerQueue,
    } = this.wireIngest());

    this.jobs = {} as Record<JobName, ScheduledJob>;
    for (const job of JOBS) {
      const fn = this.functionFor({ kind: 'schedule', job });
      const rate = Duration.minutes(
        job === 'recovery-sweep' ? config.sweepRateMinutes : config.monitorRateMinutes,
      );
      const dlqAlarm = this.operations.alarmIdentity(
        RunbookIds.jobDlq(job),
        `Scheduled ${job} invocations failed or could not be delivered.`,
      );
      const scheduled = new ScheduledJob(this, `${pascal(job)}Schedule`, {
        fn,
        rate,
        enabled: job === 'recovery-sweep' ? config.sweepScheduleEnabled : config.monitorScheduleEnabled,
        retryAttempts: config.scheduleRetryAttempts,
        asyncRetryAttempts: config.jobAsyncRetryAttempts,
        ruleName: `${this.prefix}-${job}`,
        description: `Runs ${job} every ${rate.toMinutes()} min`,
        deadLetterQueueName: `${this.prefix}-${job}-dlq`,
        dlqAlarmName: dlqAlarm.alarmName,
        dlqAlarmDescription: dlqAlarm.alarmDescription,
        removalPolicy,
      });
      this.jobs[job] = scheduled;
      const scheduleEnabled =
        job === 'recovery-sweep' ? config.sweepScheduleEnabled : config.monitorScheduleEnabled;
      this.operations.watchJob(
        {
          job,
          rate,
          // The readiness check reads the same TTL (shared/settings.ts): three periods of the deployed rate.
          heartbeatTtl: Duration.seconds(heartbeatTtlSeconds({ rateSeconds: rate.toSeconds() })),
          scheduleEnabled,
        },
        scheduled.dlqAlarm,
        fn,
      );
    }
    this.operations.watchDispatch(Duration.minutes(config.sweepRateMinutes), config.dispatchLeaseSeconds);
    this.operations.watchStuckSessions(
      Duration.minutes(config.monitorRateMinutes),
      config.alarmStuckSessionsThreshold,
    );

    for (const queue of CHANNEL_QUEUES) {
      const sender = this.senders[queue.channel];
      this.operations.watchChannel(
        queue.channel,
        { queue: sender.queue, deadLetterQueue: sender.deadLetterQueue },
        sender.dlqAlarm,
        {
          senderErrorRatePercent: config.alarmSenderErrorRatePercent,
          senderMinSends: config.alarmSenderMinSends,
          queueAge: Duration.minutes(config.alarmQueueAgeMinutes),
        },
      );
    }
    // The ingest function's throttles have their own alarm (watchEvents): one alarm's math takes ten functions.
    const ingest = this.functionFor({ kind: 'ingest' });
    this.operations.watchFunctions(Object.values(this.functions).filter((fn) => fn !== ingest));

    if (props.routes) {
      this.api = new AdminApi(this, 'AdminApi', {
        handlers: Object.fromEntries(
          FUNCTION_DESCRIPTIONS.filter((d) => ['api', 'receipts', 'ingest'].includes(d.trigger.kind)).map(
            (d) => [d.id, this.functions[d.id]],
          ),
        ) as Record<string, ServiceFunction>,
        routes: props.routes,
        stageName: config.stage,
        restApiName: `${this.prefix}-admin`,
        throttlingRateLimit: config.apiThrottleRateLimit,
        throttlingBurstLimit: config.apiThrottleBurstLimit,
        throttles: {
          callback: {
            rateLimit: config.callbackThrottleRateLimit,
            burstLimit: config.callbackThrottleBurstLimit,
          },
          unsubscribe: {
            rateLimit: config.unsubscribeThrottleRateLimit,
            burstLimit: config.unsubscribeThrottleBurstLimit,
          },
          product: {
            rateLimit: config.productThrottleRateLimit,
            burstLimit: config.productThrottleBurstLimit,
          },
        },
        waf: config.apiWaf,
        cloudWatchRole: config.apiCloudWatchRole,
        ...common,
      });
      this.operations.watchApi(this.api, config.alarmApi5xxRatePercent);
    }
    // Unsubscribe links and Twilio callbacks point at the public routes. Built from the API's id, not
    // `api.url`: that names the stage, whose deployment depends on the receipts function (a cycle).
    const publicBaseUrl =
      config.publicBaseUrl?.replace(/\/+$/, '') ??
      (this.api
        ? `https://${this.api.api.restApiId}.execute-api.${this.region}.${this.urlSuffix}/${config.stage}`
        : undefined);
    if (publicBaseUrl) {
      for (const description of FUNCTION_DESCRIPTIONS) {
        if (description.settings.includes('publicBaseUrl'))
          this.functions[description.id]?.addEnvironment(SETTINGS.publicBaseUrl, publicBaseUrl);
      }
    }
    this.operations.watchReputation(this.receiptsDeadLetterQueue);
    this.operations.watchEvents(this.eventsDeadLetterQueue, ingest);
    this.operations.addAlarmStatus();

    this.addOutputs();
    if (config.removalPolicy === 'retain') {
      // Last, after every other resource: see TableDeletionProtection.
      this.tableProtection = new TableDeletionProtection(this, 'TableDeletionProtection', {
        tables: Object.values(this.tables),
        logRemovalPolicy: removalPolicy,
        logRetention: common.logRetention,
      });
      this.tableProtection.dependOnEverythingElse(this);
    }
    this.nagAcknowledgements = acknowledgeNagFindings(this);
  }

  /** Applies a description's tables, queues, secrets and settings to its function. */
  private bind(description: FunctionDescription): void {
    const fn = this.functions[description.id];
    if (!fn) throw new Error(`function ${description.id} was not created`);
    const { config } = this;
    for (const grant of description.tables)
      fn.bindTable({ table: this.tables[grant.table], access: grant.access, indexes: grant.indexes });
    for (const grant of description.queues) {
      for (const channel of grant.channels) {
        const sender = this.senders[channel];
        const queue = sender.description;
        fn.bindQueue({
          queue: sender.queue,
          deadLetterQueue: sender.deadLetterQueue,
          envVar: queue.envVar,
          dlqEnvVar: queue.dlqEnvVar,
          access: grant.access,
        });
      }
    }
    // Credentials of a disabled channel are neither named nor readable: enabling it is a deploy. A sender
    // reads only its own channel's credentials (SMS and WhatsApp share the Twilio secret).
    if (description.invokesItself) {
      (fn as ServiceFunction).allowSelfInvoke(`${this.prefix}-${description.id}`);
      fn.addEnvironment(LAMBDA_ENDPOINT_ENV, `https://lambda.${this.region}.${this.urlSuffix}`);
    }
    const { trigger } = description;
    const mayUse = (channel: Channel) =>
      config.enabledChannels.includes(channel) && (trigger.kind !== 'queue' || trigger.channel === channel);
    for (const secret of description.secrets) {
      // A secret of no channel (the webhook keys of #14) is always bound.
      const channels: readonly Channel[] = SECRETS[secret].channels;
      if (channels.length > 0 && !channels.some(mayUse)) continue;
      fn.bindSecret({ envVar: SECRETS[secret].envVar, secretName: secretName(config, secret) });
      this.boundSecrets.set(secret, [...(this.boundSecrets.get(secret) ?? []), description.id]);
    }
    if (description.sendsEmail && config.enabledChannels.includes('email') && config.sesFromAddress)
      fn.bindEmailIdentity({
        fromAddress: config.sesFromAddress,
        fromEnvVar: SETTINGS.sesFromAddress,
        configurationSet: this.sesConfigurationSetName(),
        configurationSetEnvVar: SETTINGS.sesConfigurationSet,
      });

    // Run now: an asynchronous invocation of exactly the job functions it names, at this partition's endpoint.
    if (description.startsJobs?.length) {
      fn.addEnvironment(LAMBDA_ENDPOINT_ENV, `https://lambda.${this.region}.${this.urlSuffix}`);
      for (const job of description.startsJobs) {
        const target = this.functionFor({ kind: 'schedule', job });
        fn.addEnvironment(jobFunctionEnvVar(job), target.functionName);
        // The unqualified ARN only: run now invokes the function by name, never a version or alias, so CDK's
        // grantInvoke's `<ARN>:*` would be a grant no code uses.
        fn.addToRolePolicy(
          new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [target.functionArn] }),
        );
      }
    }

    const settingValues: Partial<Record<keyof typeof SETTINGS, string | undefined>> = {
      enabledChannels: config.enabledChannels.join(','),
      smsFromNumber: config.smsFromNumber,
      whatsappFromNumber: config.whatsappFromNumber,
      indexShards: String(config.indexShards),
      stage: config.stage,
      timeoutRules: config.timeoutRules && JSON.stringify(config.timeoutRules),
      maxLongRunning: config.maxLongRunning?.toString(),
      opsAlertRecipients: config.opsAlertRecipients && JSON.stringify(config.opsAlertRecipients),
      reputationPauseBouncePercent: String(config.reputationPauseBouncePercent),
      reputationPauseComplaintPercent: String(config.reputationPauseComplaintPercent),
      reputationMinSends: String(config.reputationMinSends),
      dispatchLeaseSeconds: String(config.dispatchLeaseSeconds),
      outcomeWaitSeconds: String(config.outcomeWaitMinutes * 60),
      dispatchFailureLimit: String(config.dispatchFailureLimit),
      sweepRateSeconds: String(config.sweepRateMinutes * 60),
      monitorRateSeconds: String(config.monitorRateMinutes * 60),
      sweepScheduleEnabled: String(config.sweepScheduleEnabled),
      monitorScheduleEnabled: String(config.monitorScheduleEnabled),
      providerTimeoutMs: String(config.providerTimeoutMs),
      shopifyAbandonAfterMinutes: String(config.shopifyAbandonAfterMinutes),
      shopifyOrgId: config.shopifyOrgId,
    };
    for (const setting of description.settings) {
      const value = settingValues[setting];
      if (value !== undefined) fn.addEnvironment(SETTINGS[setting], value);
    }
  }

  /** Secrets a function reads, with the functions reading each (filled by bind). */
  private readonly boundSecrets = new Map<SecretId, string[]>();

  /** Whether the stack makes this secret: one it may generate, not named by config, of no or an enabled channel. */
  private generates(id: SecretId): boolean {
    const secret = SECRETS[id];
    if (!('generated' in secret)) return false;
    if (id === 'unsubscribeKey' && this.config.unsubscribeKeySecretName) return false;
    const channels: readonly Channel[] = secret.channels;
    return channels.length === 0 || channels.some((c) => this.config.enabledChannels.includes(c));
  }

  /**
   * A synth warning for every secret a function will read that this stack does not create: synth cannot see
   * the account, so it names each one to create (docs/deploy.md's first-deploy checklist) and what happens
   * until it exists.
   */
  private warnOfSecretsToCreate(): void {
    for (const [id, readers] of this.boundSecrets) {
      if (this.generatedSecrets[id]) continue;
      const channels = (SECRETS[id].channels as readonly Channel[]).filter((c) =>
        this.config.enabledChannels.includes(c),
      );
      const meanwhile = channels.length
        ? `until it exists, ${channels.join(' and ')} notifications fail as misconfigured: they are retried, ` +
          `then dead-lettered, and the ${channels.map((c) => `${c}-misconfigured`).join(' / ')} alarm pages`
        : 'until it exists, the webhook route that needs it refuses every call (500, logged)';
      Annotations.of(this).addWarningV2(
        `session-recovery:secret-to-create:${id}`,
        `Create the secret "${secretName(this.config, id)}" (${SECRETS[id].suffix}; read by ${readers.join(', ')}): ` +
          `this stack does not create it (docs/deploy.md, first deploy checklist); ${meanwhile}.`,
      );
    }
  }

  /**
   * The Parameters and Secrets extension layer in this stack's region: `secretsExtensionLayerArns` from
   * config, else aws-cdk-lib's map. With a known region (`cdk deploy` resolves it from the credentials) an
   * unknown one fails here, at synth; an environment-agnostic synth gets a mapping of every known region.
   */
  private secretsExtensionLayerArn(): string {
    const configured = this.config.secretsExtensionLayerArns ?? {};
    const known = {
      ...RegionInfo.regionMap(FactName.paramsAndSecretsLambdaLayer(SECRETS_EXTENSION_VERSION, 'arm64')),
      ...configured,
    };
    if (!Token.isUnresolved(this.region)) {
      const arn = known[this.region];
      if (!arn)
        throw new ConfigError(
          `No AWS Parameters and Secrets Lambda Extension layer is known for region ${this.region} (arm64). ` +
            `Look up the layer ARN for ${this.region} in the extension's documentation ("AWS Parameters and ` +
            `Secrets Lambda Extension ARNs") and give it in context: -c secretsExtensionLayerArns=` +
            `'{"${this.region}":"arn:aws:lambda:${this.region}:<account>:layer:AWS-Parameters-and-Secrets-Lambda-Extension-Arm64:<version>"}'.`,
        );
      return arn;
    }
    const mapping = new CfnMapping(this, 'SecretsExtensionLayers', {
      mapping: Object.fromEntries(Object.entries(known).map(([region, arn]) => [region, { arn }])),
    });
    return mapping.findInMap(Aws.REGION, 'arn');
  }

  private sesConfigurationSetName(): string {
    return this.config.sesConfigurationSet ?? this.prefix;
  }

  /**
   * SES events → EventBridge (the default bus, the only one SES publishes to) → the receipts function.
   * EventBridge over SNS: no topic to run or secure, the rule filters by this configuration set, and
   * failed deliveries have a DLQ and retry policy on the target itself. Events the function fails on go,
   * after Lambda's two retries, to the same DLQ, whose alarm pages.
   */
  private wireReceipts(): sqs.Queue {
    const fn = this.functionFor({ kind: 'receipts' });
    const configurationSetName = this.sesConfigurationSetName();
    // Under the set (created or imported) with addEventDestination's id: the logical id does not move.
    new ses.ConfigurationSetEventDestination(this.configurationSet, 'ToEventBridge', {
      configurationSet: this.configurationSet,
      destination: ses.EventDestination.eventBus(
        events.EventBus.fromEventBusName(this, 'DefaultBus', 'default'),
      ),
      events: [
        ses.EmailSendingEvent.SEND,
        ses.EmailSendingEvent.DELIVERY,
        ses.EmailSendingEvent.BOUNCE,
        ses.EmailSendingEvent.COMPLAINT,
        ses.EmailSendingEvent.REJECT,
        ses.EmailSendingEvent.DELIVERY_DELAY,
        ses.EmailSendingEvent.RENDERING_FAILURE,
      ],
    });
    const dlq = new sqs.Queue(this, 'ReceiptsDeadLetterQueue', {
      queueName: `${this.prefix}-receipts-dlq`,
      removalPolicy: this.removalPolicy,
      retentionPeriod: Duration.days(14),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    fn.configureAsyncInvoke({
      retryAttempts: 2,
      maxEventAge: Duration.hours(6),
      onFailure: sqsFailureDestination(dlq),
    });
    new events.Rule(this, 'SesEventsRule', {
      ruleName: `${this.prefix}-ses-events`,
      description: `SES events of configuration set ${configurationSetName} to the receipts function`,
      eventPattern: {
        source: ['aws.ses'],
        detailType: [
          'Email Sent',
          'Email Delivered',
          'Email Bounced',
          'Email Complaint Received',
          'Email Rejected',
          'Email Delivery Delayed',
          'Email Rendering Failed',
        ],
        detail: { mail: { tags: { 'ses:configuration-set': [configurationSetName] } } },
      },
      targets: [
        new targets.LambdaFunction(fn, {
          deadLetterQueue: dlq,
          retryAttempts: 8,
          maxEventAge: Duration.hours(24),
        }),
      ],
    });
    return dlq;
  }

  /**
   * Product events (#14). The stage's own bus takes our generic session events from products (PutEvents) and
   * the Stripe and Shopify partner events (each configured partner event source has its partner bus, which
   * forwards to it), with one rule per family to the ingest function. Every way an event can fail ends in one
   * DLQ whose alarm pages: a rule's delivery that failed after its retries, an invocation that failed after
   * Lambda's two retries, a checkout timer past its receives.
   */
  private wireIngest(): { bus: events.EventBus; dlq: sqs.Queue; timers: sqs.Queue } {
    const fn = this.functionFor({ kind: 'ingest' });
    const dlq = new sqs.Queue(this, 'EventsDeadLetterQueue', {
      queueName: eventQueueName(this.prefix, 'dlq'),
      removalPolicy: this.removalPolicy,
      retentionPeriod: Duration.days(14),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    const timers = new sqs.Queue(this, 'CheckoutTimerQueue', {
      queueName: eventQueueName(this.prefix, 'timers'),
      removalPolicy: this.removalPolicy,
      visibilityTimeout: Duration.seconds(EVENT_QUEUES.timers.visibilityTimeoutSeconds),
      deadLetterQueue: { queue: dlq, maxReceiveCount: EVENT_QUEUES.timers.maxReceiveCount },
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    fn.addEnvironment(EVENT_QUEUES.timers.envVar, timers.queueUrl);
    fn.addToRolePolicy(sendOnly(timers));
    addSqsTrigger(fn, timers, { batchSize: EVENT_QUEUES.timers.batchSize, maxConcurrency: 2 });
    fn.configureAsyncInvoke({
      retryAttempts: 2,
      maxEventAge: Duration.hours(6),
      onFailure: sqsFailureDestination(dlq),
    });
    const bus = new events.EventBus(this, 'EventBus', {
      eventBusName: `${this.prefix}-events`,
      description: `session-recovery (${this.config.stage}): product events in`,
    });
    const toIngest = () =>
      new targets.LambdaFunction(fn, {
        deadLetterQueue: dlq,
        retryAttempts: 8,
        maxEventAge: Duration.hours(24),
      });
    new events.Rule(this, 'SessionEventsRule', {
      eventBus: bus,
      ruleName: `${this.prefix}-session-events`,
      description: 'Generic session events (docs/events.schema.json) to the ingest function',
      eventPattern: { detailType: [...GENERIC_DETAIL_TYPES] },
      targets: [toIngest()],
    });
    new events.Rule(this, 'StripeEventsRule', {
      eventBus: bus,
      ruleName: `${this.prefix}-stripe-events`,
      description: 'Stripe partner events (Checkout, Billing) to the ingest function',
      eventPattern: {
        source: events.Match.prefix(STRIPE_PARTNER_PREFIX),
        detailType: [...STRIPE_EVENT_TYPES],
      },
      targets: [toIngest()],
    });
    new events.Rule(this, 'ShopifyEventsRule', {
      eventBus: bus,
      ruleName: `${this.prefix}-shopify-events`,
      description: 'Shopify partner events (checkouts, orders) to the ingest function',
      eventPattern: {
        source: events.Match.prefix(SHOPIFY_PARTNER_PREFIX),
        detailType: [SHOPIFY_DETAIL_TYPE],
        detail: { metadata: { 'X-Shopify-Topic': [...SHOPIFY_TOPICS] } },
      },
      targets: [toIngest()],
    });
    const partners = [
      ['Stripe', this.config.stripeEventSourceName],
      ['Shopify', this.config.shopifyEventSourceName],
    ] as const;
    for (const [name, source] of partners) {
      if (!source) continue;
      // A partner bus takes its name from its event source.
      const partnerBus = new events.EventBus(this, `${name}PartnerBus`, { eventSourceName: source });
      new events.Rule(this, `${name}PartnerForwardRule`, {
        eventBus: partnerBus,
        ruleName: `${this.prefix}-${name.toLowerCase()}-partner`,
        description: `Every ${name} partner event to the stage's event bus`,
        eventPattern: { source: [source] },
        targets: [new targets.EventBus(bus, { deadLetterQueue: dlq })],
      });
    }
    return { bus, dlq, timers };
  }

  private functionFor(trigger: FunctionDescription['trigger']): ServiceFunction {
    const matching = FUNCTION_DESCRIPTIONS.filter(
      (d) => JSON.stringify(d.trigger) === JSON.stringify(trigger),
    );
    if (matching.length > 1)
      throw new Error(`${matching.length} functions have trigger ${JSON.stringify(trigger)}`);
    const description = matching[0];
    const fn = description && this.functions[description.id];
    if (!fn) throw new Error(`no function with trigger ${JSON.stringify(trigger)}`);
    return fn;
  }

  private addOutputs(): void {
    for (const table of Object.values(this.tables))
      new CfnOutput(this, `${capitalize(table.description.id)}TableName`, { value: table.table.tableName });
    for (const sender of Object.values(this.senders)) {
      const name = capitalize(sender.description.channel);
      new CfnOutput(this, `${name}QueueUrl`, { value: sender.queue.queueUrl });
      new CfnOutput(this, `${name}DeadLetterQueueUrl`, { value: sender.deadLetterQueue.queueUrl });
    }
    new CfnOutput(this, 'OnCallTopicArn', { value: this.operations.topic.topicArn });
    new CfnOutput(this, 'EventBusName', { value: this.eventBus.eventBusName });
    new CfnOutput(this, 'EventsDeadLetterQueueUrl', { value: this.eventsDeadLetterQueue.queueUrl });
    new CfnOutput(this, 'DashboardName', { value: this.prefix });
    if (this.api) {
      new CfnOutput(this, 'ApiUrl', { value: this.api.api.url });
      new CfnOutput(this, 'ApiReadPolicyArn', { value: this.api.readPolicy.managedPolicyArn });
      new CfnOutput(this, 'ApiOperatorPolicyArn', { value: this.api.operatorPolicy.managedPolicyArn });
      if (this.api.productPolicy)
        new CfnOutput(this, 'ApiProductPolicyArn', { value: this.api.productPolicy.managedPolicyArn });
    }
  }
}

function capitalize(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

/** `recovery-sweep` → `RecoverySweep`, for construct ids. */
function pascal(id: string): string {
  return id.split('-').map(capitalize).join('');
}

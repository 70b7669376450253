// The local runtime behind `npm start` (local/start.ts sets the environment first): the whole service on one machine. Emulators up, tables and queues created from the shared
// description, demo data loaded, the sweep and monitor on timers, one queue poller per channel sender,
// provider stand-ins, and the admin API on 127.0.0.1 — with a live log a person can follow. Ctrl-C stops
// everything and leaves no process behind.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AwsCredentialIdentity } from '@smithy/types';
import * as v from 'valibot';
import { createSqsClient } from '../shared/aws/clients.ts';
import type { AppContext } from '../shared/context.ts';
import { FUNCTION_DESCRIPTIONS, SECRETS, type SecretId } from '../shared/infra/functions.ts';
import { CHANNELS, JOB_DESCRIPTIONS } from '../shared/infra/resources.ts';
import { publicSecretsFromEnv } from '../shared/public/secrets.ts';
import { applyKeptReceipts } from '../shared/receipts/apply.ts';
import { parseSesEvent } from '../shared/receipts/ses-events.ts';
import { handleSesEvent, ReceiptNotReadyError } from '../shared/receipts/ses-handler.ts';
import { createPolicy } from '../shared/repositories/policies.ts';
import { DEFAULT_GUARD, type GuardThresholds } from '../shared/reputation/guard.ts';
import { pausable } from '../shared/reputation/pause-gate.ts';
import { finiteNumber, integer, parse } from '../shared/schema.ts';
import { channelConfigFromEnv } from '../shared/senders/config.ts';
import { createProvider } from '../shared/senders/factories/index.ts';
import { sesProviderFactoryWith } from '../shared/senders/factories/ses.ts';
import { createSenderHandler } from '../shared/senders/handler.ts';
import { cachedProviders } from '../shared/senders/providers.ts';
import { DEFAULT_SETTINGS, type Settings } from '../shared/settings.ts';
import { runRecoverySweep, type SweepEvent } from '../shared/usecases/recovery-sweep.ts';
import { RegisterSessionSchema, registerSession } from '../shared/usecases/sessions.ts';
import { type MonitorEvent, runTimeoutMonitor } from '../shared/usecases/timeout-monitor.ts';
import { loadLocalConfig } from './config.ts';
import { type Endpoints, startEmulators } from './emulators.ts';
import {
  functionContexts,
  judgedSecretReader,
  judgedSweepFanOut,
  type LocalIdentity,
  localSecretName,
} from './function-contexts.ts';
import { startApiServer } from './http-server.ts';
import { type Authorizer, functionCredentials, type IamGate, startIamGate } from './iam-gate.ts';
import { runStripeDemo, startLocalIngest } from './ingest.ts';
import {
  functionEnv,
  LOCAL_SES_CONFIGURATION_SET,
  LOCAL_SES_FROM_ADDRESS,
  LOCAL_SHARDS,
  REPO_ROOT,
  writeLocalState,
} from './local-env.ts';
import { startQueuePoller } from './queue-poller.ts';
import { type LocalReceivers, startLocalReceivers } from './receivers.ts';
import { contextForResources, createResources, type ResourceNames } from './resources.ts';
import { readSimulatedEvents } from './ses-simulator.ts';
import { withInProcessSweepWorkers } from './sweep-workers.ts';

const tty = process.stdout.isTTY;
const paint = (code: number) => (s: string) => (tty ? `\u001b[${code}m${s}\u001b[0m` : s);
const dim = paint(2);
const green = paint(32);
const yellow = paint(33);
const red = paint(31);
const cyan = paint(36);
const bold = paint(1);

function clockTime(d = new Date()): string {
  return d.toISOString().slice(11, 19);
}

function say(source: string, message: string): void {
  process.stdout.write(`${dim(clockTime())}  ${source.padEnd(8)} ${message}\n`);
}

const DemoFileSchema = v.object({
  stalled: v.array(v.partial(v.omit(RegisterSessionSchema, ['status']), ['kind'])),
  processing: v.array(
    v.object({
      sessionId: v.string(),
      kind: v.string(),
      sizeBytes: integer(0),
      startedSecondsAgo: finiteNumber(0),
    }),
  ),
});

/** Delays of seconds so a person sees the whole life of a recovery in a minute. */
const DEMO_POLICY = {
  name: 'Demo policy (seconds)',
  maxRetries: 3,
  initialDelaySeconds: 5,
  backoffMultiplier: 2,
  maxDelaySeconds: 30,
  jitter: 'equal' as const,
  enabledChannels: [...CHANNELS],
};

/** Transcriptions here time out after 30 s (+ 6 s per MB, at most 60 s), warn after 15 s. */
const DEMO_SETTINGS: Settings = {
  ...DEFAULT_SETTINGS,
  timeoutRules: {
    ...DEFAULT_SETTINGS.timeoutRules,
    transcription: { baseMinutes: 0.5, perMbMinutes: 0.1, maxMinutes: 1, warnMinutes: 0.25 },
  },
  maxLongRunning: 1,
  opsRecipients: { email: ['oncall@example.com'], slack: ['#ops-alerts'] },
  dispatchLeaseSeconds: 15,
};

function describeSweepEvent(e: SweepEvent): string | undefined {
  switch (e.type) {
    case 'claimed': {
      const next = e.nextRetryAt
        ? `next retry at ${clockTime(new Date(e.nextRetryAt))}`
        : yellow('last attempt → exhausted');
      return `${green('claimed')}  ${bold(e.sessionId)}  attempt ${e.number} of ${e.maxRetries} → ${e.channels.join(', ')}  ${dim(next)}`;
    }
    case 'redispatched':
      return `${yellow('re-dispatched')} ${e.sessionId} attempt ${e.number} (left queued by a crashed sweep)`;
    case 'conflict':
      return dim(`conflict  ${e.sessionId}: ${e.reason}`);
    case 'invalid':
      return red(`invalid item ${e.sessionId ?? '?'}: ${e.reason}`);
    case 'error':
      return red(`error ${e.sessionId ?? ''}: ${e.reason}`);
  }
}

function describeMonitorEvent(e: MonitorEvent): string | undefined {
  switch (e.type) {
    case 'timed_out':
      return `${red('timed out')} ${bold(e.sessionId)} after ${e.minutesProcessing < 2 ? 'under 2 min' : `${e.minutesProcessing} min`} processing (deadline ${clockTime(new Date(e.deadlineAt))})`;
    case 'long_running':
      return undefined;
    case 'alert':
      return `${yellow('ops alert')} "${e.summary}" → ${e.messages} message(s) to on-call`;
  }
}

export interface LocalServiceOptions {
  readonly endpoints: Endpoints;
  /** Table and queue name prefix (`local` for npm start; the tests use their own). */
  readonly prefix: string;
  /** API port; 0 picks a free one. */
  readonly port: number;
  readonly demo: boolean;
  readonly sweepEverySeconds: number;
  readonly monitorEverySeconds: number;
  /** Make the API verify SigV4 with these credentials (API_SIGV4=true). */
  readonly sigv4?: { readonly region: string; readonly credentials: AwsCredentialIdentity };
  /** The local secrets (from env or .env); random for this run where absent. */
  readonly secrets?: Partial<LocalSecrets>;
  /** The key that signs the API's cursors (CURSOR_KEY); random for this run when absent. */
  readonly cursorKey?: string;
  /** The reputation guard's thresholds, as the stage's receipts function reads them. @default DEFAULT_GUARD */
  readonly guard?: GuardThresholds;
  /** Minutes after a Shopify checkout's last update before it counts as abandoned (#14). @default 1 */
  readonly shopifyAbandonAfterMinutes?: number;
  /**
   * Judges what runs in process but is an AWS call in the cloud (async invokes, secret reads): the IAM gate's
   * `authorize`. The endpoints are the gate's when local IAM is on. @default everything allowed
   */
  readonly authorize?: Authorizer;
  /** The live log; npm start prints it, the tests drop it. */
  readonly say: (source: string, message: string) => void;
  /** Called once the API is up, before the demo data is loaded. */
  readonly onReady?: (info: {
    apiUrl: string;
    names: ResourceNames;
    receivers: LocalReceivers;
    secrets: LocalSecrets;
  }) => void;
}

/** The keys a person needs to verify a delivery or sign a callback by hand (written to endpoints.json). */
export interface LocalSecrets {
  readonly WEBHOOK_SIGNING_SECRET: string;
  readonly TWILIO_AUTH_TOKEN: string;
  readonly UNSUBSCRIBE_TOKEN_KEY: string;
  readonly STRIPE_WEBHOOK_SECRET: string;
  readonly SHOPIFY_WEBHOOK_SECRET: string;
}

export interface LocalService {
  readonly apiUrl: string;
  readonly ctx: AppContext;
  readonly names: ResourceNames;
  stop(): Promise<void>;
}

/**
 * Everything but the emulators: tables and queues, provider stand-ins, one poller per channel sender, the
 * API with the console, demo data and the two job timers. npm start runs it; so do the console's browser
 * tests, on the emulators the test run shares.
 */
export async function startLocalService(options: LocalServiceOptions): Promise<LocalService> {
  const { endpoints, say } = options;
  const stops: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => {});
  };
  try {
    const sqs = createSqsClient(endpoints);
    const names = await createResources(endpoints, sqs, options.prefix);
    const secrets: LocalSecrets = {
      WEBHOOK_SIGNING_SECRET:
        options.secrets?.WEBHOOK_SIGNING_SECRET ?? `whsec_${randomBytes(24).toString('base64')}`,
      TWILIO_AUTH_TOKEN: options.secrets?.TWILIO_AUTH_TOKEN ?? randomBytes(16).toString('hex'),
      UNSUBSCRIBE_TOKEN_KEY: options.secrets?.UNSUBSCRIBE_TOKEN_KEY ?? randomBytes(24).toString('base64url'),
      STRIPE_WEBHOOK_SECRET:
        options.secrets?.STRIPE_WEBHOOK_SECRET ?? `whsec_${randomBytes(24).toString('hex')}`,
      SHOPIFY_WEBHOOK_SECRET: options.secrets?.SHOPIFY_WEBHOOK_SECRET ?? randomBytes(24).toString('hex'),
    };
    const receivers = await startLocalReceivers({
      webhookSecret: secrets.WEBHOOK_SIGNING_SECRET,
      twilioAuthToken: secrets.TWILIO_AUTH_TOKEN,
    });
    stops.push(() => receivers.stop());
    // The guard the receipts judge with, public routes and SES events alike (the stage's, from env in npm start).
    const guard = options.guard ?? DEFAULT_GUARD;
    const settings: Settings = {
      ...DEMO_SETTINGS,
      schedules: {
        'recovery-sweep': { rateSeconds: options.sweepEverySeconds, enabled: true },
        'timeout-monitor': { rateSeconds: options.monitorEverySeconds, enabled: true },
      },
    };
    const cursorKey = options.cursorKey;
    // The operator's context (demo data, the console's own reads): the `local` key, an administrator.
    const operatorCtx = contextForResources(endpoints, sqs, names, {
      shards: LOCAL_SHARDS,
      settings,
      ...(cursorKey ? { cursorKey: async () => cursorKey } : {}),
    });
    // Each function under its own key: local IAM judges it against that function's synthesized role.
    const identity: LocalIdentity = {
      endpoints,
      prefix: options.prefix,
      ...(options.authorize ? { authorize: options.authorize } : {}),
    };
    const ctxFor = functionContexts(operatorCtx, identity);
    // A sweep whose backlog exceeds its limit fans out to workers run in this process (the Lambda invokes
    // itself); each worker's run shows in the log like the scheduled one's.
    const sweepCtx = judgedSweepFanOut(
      identity,
      withInProcessSweepWorkers(
        ctxFor('recovery-sweep'),
        (run) =>
          say(
            'sweep',
            dim(
              `worker ${run.runId} (shards ${run.shardGroup?.join(',') ?? '?'}) ${run.status}: claimed ${run.counts.claimed}${run.error ? ` — ${run.error}` : ''}`,
            ),
          ),
        (error, work) => say('sweep', `worker on shards ${work.shards.join(',')} crashed: ${String(error)}`),
      ).ctx,
    );
    const monitorCtx = ctxFor('timeout-monitor');

    // Senders: every channel configured against the stand-ins except WhatsApp, disabled on purpose (not in
    // ENABLED_CHANNELS) so the demo shows a deliberate `skipped channel_disabled`. Their credentials are
    // read by secret name, as in AWS, each read judged by local IAM for the sender that makes it.
    const secretName = (id: SecretId) => localSecretName(identity, SECRETS[id].suffix);
    const secretValues = new Map<string, string>([
      [secretName('slackWebhook'), receivers.env.SLACK_WEBHOOK_URL ?? ''],
      [
        secretName('twilio'),
        JSON.stringify({
          accountSid: receivers.env.TWILIO_ACCOUNT_SID,
          authToken: secrets.TWILIO_AUTH_TOKEN,
        }),
      ],
      [secretName('webhookSigning'), secrets.WEBHOOK_SIGNING_SECRET],
      [secretName('unsubscribeKey'), secrets.UNSUBSCRIBE_TOKEN_KEY],
    ]);
    const senderEnv: NodeJS.ProcessEnv = {
      ...functionEnv(endpoints, names),
      ...receivers.env,
      ENABLED_CHANNELS: 'email,slack,sms,webhook',
      SES_FROM_ADDRESS: LOCAL_SES_FROM_ADDRESS,
      // Through a configuration set, so the SES simulator publishes its events (bounces, complaints, …).
      SES_CONFIGURATION_SET: LOCAL_SES_CONFIGURATION_SET,
      SMS_FROM_NUMBER: '+15005550006',
      WEBHOOK_ALLOW_HTTP: 'true',
      UNSUBSCRIBE_TOKEN_KEY: secrets.UNSUBSCRIBE_TOKEN_KEY,
      [SECRETS.slackWebhook.envVar]: secretName('slackWebhook'),
      [SECRETS.twilio.envVar]: secretName('twilio'),
      [SECRETS.webhookSigning.envVar]: secretName('webhookSigning'),
      [SECRETS.unsubscribeKey.envVar]: secretName('unsubscribeKey'),
      // The admin API's URL, set once it listens: unsubscribe links and Twilio callbacks point at it.
      PUBLIC_BASE_URL: `http://127.0.0.1:${options.port || 3000}`,
    };
    const providers = cachedProviders(operatorCtx.clock, (config, clock) =>
      config.channel === 'email'
        ? sesProviderFactoryWith(functionCredentials('sender-email'))(config, clock)
        : createProvider(config, clock),
    );
    for (const channel of CHANNELS) {
      const functionId = `sender-${channel}`;
      const ctx = ctxFor(functionId);
      const senderHandler = createSenderHandler(channel, {
        ctx,
        config: channelConfigFromEnv(senderEnv, judgedSecretReader(identity, functionId, secretValues)),
        providers,
        stage: 'local',
        // As deployed: the Twilio senders apply receipts that came before `sent` (functions/sender-sms.ts).
        ...(channel === 'sms' || channel === 'whatsapp' ? { keptReceipts: applyKeptReceipts } : {}),
        onResult: (r) => {
          if ('error' in r) return say(channel, red(`error: ${r.error.message}`));
          const o = r.outcome;
          if (o.status === 'sent')
            say(channel, `${green('sent')}     via ${o.provider} ${dim(`id ${o.providerMessageId}`)}`);
          else if (o.status === 'failed') say(channel, `${red('failed')}   via ${o.provider}: ${o.error}`);
          else if (o.status === 'skipped') say(channel, `${yellow('skipped')}  ${o.reason}`);
          else say(channel, dim(`duplicate delivery ignored (already ${o.current})`));
        },
      });
      // Email waits behind the reputation guard's pause gate, as the deployed email sender does.
      const handler =
        channel === 'email'
          ? pausable(senderHandler, {
              ctx,
              channel,
              onDeferred: (n, why) =>
                say(channel, yellow(`paused: ${n} message(s) wait on the queue (${why})`)),
            })
          : senderHandler;
      const poller = startQueuePoller({
        // The event source mapping receives with the function's role in AWS.
        sqs: ctx.sqs,
        queueUrl: names.queues[channel].url,
        handler,
        batchSize: 10,
        waitSeconds: 1,
      });
      stops.push(() => poller.stop());
    }

    // Product events (#14): POST /v1/events, the two webhooks and the checkout timers, as the ingest function.
    const ingestCtx = ctxFor('ingest');
    const ingest = startLocalIngest({
      ctx: ingestCtx,
      sqs: ingestCtx.sqs,
      timerQueueUrl: names.events.url,
      abandonAfterMinutes: options.shopifyAbandonAfterMinutes ?? 1,
      say,
    });
    stops.push(() => ingest.stop());
    // Secrets the ingest function reads by name in AWS, judged for it here.
    const hookSecret = (id: 'stripeWebhook' | 'shopifyWebhook', value: string) => async () => {
      const name = secretName(id);
      const read = judgedSecretReader(identity, 'ingest', new Map([[name, value]]));
      return (await read(name)) ?? '';
    };
    const api = await startApiServer({
      ctx: operatorCtx,
      functions: { ctxFor, identity },
      port: options.port,
      console: true,
      sigv4: options.sigv4,
      publicRoutes: {
        secrets: publicSecretsFromEnv(
          { ...senderEnv },
          judgedSecretReader(identity, 'receipts', secretValues),
        ),
        guard,
        hookSecrets: {
          stripe: hookSecret('stripeWebhook', secrets.STRIPE_WEBHOOK_SECRET),
          shopify: hookSecret('shopifyWebhook', secrets.SHOPIFY_WEBHOOK_SECRET),
        },
      },
      ingest: ingest.deps,
    });
    stops.push(() => api.stop());
    senderEnv.PUBLIC_BASE_URL = api.url;
    receivers.control.setInboundUrl(`${api.url}/v1/public/hooks/twilio/inbound`);
    stops.push(startReceiptsPoller(ctxFor('receipts'), endpoints.ses, api.url, guard, say));
    options.onReady?.({ apiUrl: api.url, names, receivers, secrets });

    if (options.demo) {
      await loadDemo(operatorCtx, receivers.urls.webhook, say);
      let demoStopped = false;
      const demo = runStripeDemo({
        ctx: operatorCtx,
        deps: ingest.deps,
        apiUrl: api.url,
        stripeSecret: secrets.STRIPE_WEBHOOK_SECRET,
        say,
        stopped: () => demoStopped,
      }).catch((error: unknown) => say('demo', red(`Stripe demo failed: ${String(error)}`)));
      stops.push(async () => {
        demoStopped = true;
        await demo;
      });
    }

    say(
      'local',
      `sweep every ${options.sweepEverySeconds} s, timeout monitor every ${options.monitorEverySeconds} s`,
    );
    stops.push(
      repeat(options.sweepEverySeconds * 1000, say, async () => {
        const run = await runRecoverySweep(sweepCtx, {
          trigger: 'local',
          onEvent: (e) => {
            const line = describeSweepEvent(e);
            if (line) say('sweep', line);
          },
        });
        if (run.status !== 'succeeded' || run.counts.claimed || run.counts.redispatched) {
          say(
            'sweep',
            dim(
              `run ${run.runId} ${run.status}: selected ${run.counts.selected}, claimed ${run.counts.claimed}, dispatched ${run.counts.dispatched} messages (${run.durationMs} ms)${run.reason ? ` — ${run.reason}` : ''}`,
            ),
          );
        }
      }),
    );
    stops.push(
      repeat(options.monitorEverySeconds * 1000, say, async () => {
        const run = await runTimeoutMonitor(monitorCtx, {
          trigger: 'local',
          onEvent: (e) => {
            const line = describeMonitorEvent(e);
            if (line) say('monitor', line);
          },
        });
        if (run.counts.timedOut || run.counts.longRunning) {
          say(
            'monitor',
            dim(
              `run ${run.runId}: ${run.counts.timedOut} timed out, ${run.counts.longRunning} running long (${run.durationMs} ms)`,
            ),
          );
        }
      }),
    );
    return { apiUrl: api.url, ctx: operatorCtx, names, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function main(): Promise<void> {
  const config = loadLocalConfig();
  say('local', 'starting session-recovery on this machine (Ctrl-C to stop)');
  const iamOn = config.LOCAL_IAM === 'on';
  // With local IAM the gate takes the ports a person sees and the emulators sit behind it on free ones.
  const emulators = await startEmulators({
    ...(iamOn
      ? {}
      : { dynamodbPort: config.DYNAMODB_PORT, sqsPort: config.SQS_PORT, sesPort: config.SES_PORT }),
    log: (line) => say('local', line),
  });
  const stops: Array<() => Promise<void>> = [() => emulators.stop()];
  let stopping = false;
  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    say('local', 'stopping: timers, pollers, API, receivers, emulators…');
    for (const stop of stops.reverse()) await stop().catch(() => {});
    say('local', 'stopped cleanly');
    process.exit(code);
  };
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));

  let gate: IamGate | undefined;
  if (iamOn) {
    try {
      const started = Date.now();
      // Imported here: the CDK app is loaded only when local IAM needs the template.
      const { synthesizeFunctionPolicies } = await import('./iam-policies.ts');
      const policies = synthesizeFunctionPolicies(emulators.endpoints.region);
      gate = await startIamGate({
        upstream: emulators.endpoints,
        policies,
        ports: { dynamodb: config.DYNAMODB_PORT, sqs: config.SQS_PORT, ses: config.SES_PORT },
        onDenied: (d) => say('iam', red(`denied ${d.functionId} ${d.action} ${d.resource}`)),
      });
      stops.push(() => gate?.stop() ?? Promise.resolve());
      say(
        'iam',
        `enforced from the synthesized template for ${Object.keys(policies.functions).length} functions ${dim(`(synthesized in ${Date.now() - started} ms; LOCAL_IAM=off turns it off)`)}`,
      );
    } catch (error) {
      process.stderr.write(
        `${red('local IAM could not start')}: ${error instanceof Error ? error.message : String(error)}\n`,
      );
      await stopAll(1);
      return;
    }
  } else say('iam', yellow('off (LOCAL_IAM=off): every function may do anything, as no stage allows'));

  try {
    const endpoints = gate?.endpoints ?? emulators.endpoints;
    const sigv4 =
      config.API_SIGV4 === 'true'
        ? {
            region: endpoints.region,
            credentials: {
              accessKeyId: config.LOCAL_ACCESS_KEY_ID,
              secretAccessKey: config.LOCAL_SECRET_ACCESS_KEY,
            },
          }
        : undefined;
    const service = await startLocalService({
      endpoints,
      prefix: 'local',
      port: config.PORT,
      demo: config.DEMO === 'true',
      sweepEverySeconds:
        config.SWEEP_INTERVAL_SECONDS ?? JOB_DESCRIPTIONS['recovery-sweep'].localIntervalSeconds,
      monitorEverySeconds:
        config.MONITOR_INTERVAL_SECONDS ?? JOB_DESCRIPTIONS['timeout-monitor'].localIntervalSeconds,
      sigv4,
      cursorKey: config.CURSOR_KEY,
      secrets: {
        WEBHOOK_SIGNING_SECRET: config.WEBHOOK_SIGNING_SECRET,
        TWILIO_AUTH_TOKEN: config.TWILIO_AUTH_TOKEN,
        UNSUBSCRIBE_TOKEN_KEY: config.UNSUBSCRIBE_TOKEN_KEY,
        STRIPE_WEBHOOK_SECRET: config.STRIPE_WEBHOOK_SECRET,
        SHOPIFY_WEBHOOK_SECRET: config.SHOPIFY_WEBHOOK_SECRET,
      },
      shopifyAbandonAfterMinutes: config.SHOPIFY_ABANDON_AFTER_MINUTES,
      guard: config.guard,
      ...(gate ? { authorize: gate.authorize } : {}),
      say,
      onReady: ({ apiUrl, names, receivers, secrets }) => {
        const sesStore = `${endpoints.ses}/store`;
        writeLocalState({
          pid: process.pid,
          startedAt: new Date().toISOString(),
          endpoints,
          api: apiUrl,
          sesStore,
          receivers: { ...receivers.urls },
          secrets: {
            ...secrets,
            TWILIO_ACCOUNT_SID: receivers.env.TWILIO_ACCOUNT_SID ?? '',
            twilioStatusCallback: `${apiUrl}/v1/public/hooks/twilio/status`,
            twilioInbound: `${apiUrl}/v1/public/hooks/twilio/inbound`,
            stripeWebhook: `${apiUrl}/v1/public/hooks/stripe`,
            shopifyWebhook: `${apiUrl}/v1/public/hooks/shopify`,
          },
          iam: gate ? 'enforced' : 'off',
          functions: Object.fromEntries(FUNCTION_DESCRIPTIONS.map((f) => [f.id, functionCredentials(f.id)])),
          // npm run events sets Shopify checkouts' timers with the same delay as this run.
          env: {
            ...functionEnv(endpoints, names),
            SHOPIFY_ABANDON_AFTER_MINUTES: String(config.SHOPIFY_ABANDON_AFTER_MINUTES),
          },
        });
        const consoleLine = sigv4
          ? `    Console    the API checks SigV4 (API_SIGV4=true): open it through the signing proxy, ${cyan(`npx session-recovery console --api ${apiUrl}/`)}`
          : `    Console    ${cyan(`${apiUrl}/console`)}   the operator console, on the demo data`;
        process.stdout.write(
          [
            '',
            bold('  Endpoints (also written to .local/endpoints.json)'),
            consoleLine,
            `    Admin API  ${cyan(`${apiUrl}/v1`)}${sigv4 ? `   SigV4 required (access key ${sigv4.credentials.accessKeyId}, region ${sigv4.region})` : ''}`,
            `    DynamoDB   ${cyan(endpoints.dynamodb)}   tables ${Object.values(names.tables).join(', ')}`,
            `    SQS        ${cyan(endpoints.sqs)}   queues local-<channel> and local-<channel>-dlq`,
            `    SES        ${cyan(endpoints.ses)}   sent mail: ${cyan(sesStore)}`,
            gate
              ? `    IAM        each function signs with its own key (functions in .local/endpoints.json), judged against its role; local/local is an administrator`
              : `    IAM        off (LOCAL_IAM=off)`,
            '',
            bold('  Try'),
            `    curl -s ${apiUrl}/v1/sessions?status=recovering | head -c 600`,
            `    curl -s ${apiUrl}/v1/sessions/demo-checkout-1/timeline`,
            `    curl -s ${apiUrl}/v1/admin/jobs/status`,
            `    npm run events -- send events/stripe-checkout-expired.json   (product events, as from EventBridge)`,
            `    aws --endpoint-url ${endpoints.dynamodb} dynamodb scan --table-name ${names.tables.sessions} --region ${endpoints.region}`,
            '',
            '',
          ].join('\n'),
        );
      },
    });
    stops.push(() => service.stop());
    if (config.RUN_SECONDS > 0) setTimeout(() => void stopAll(0), config.RUN_SECONDS * 1000).unref();
  } catch (error) {
    process.stderr.write(
      `${red('failed to start')}: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    await stopAll(1);
  }
}

/** The demo's recipient who clicks the one-click unsubscribe link of the first email she gets. */
const DEMO_UNSUBSCRIBER = 'uma.unsubscribes@example.com';

/**
 * What EventBridge does in AWS: every SES event the simulator publishes goes to the receipts handler. An
 * event for an outcome not yet recorded `sent` is tried again on the next tick (Lambda's async retry).
 */
function startReceiptsPoller(
  ctx: AppContext,
  sesUrl: string,
  apiUrl: string,
  guard: GuardThresholds,
  say: (source: string, message: string) => void,
): () => Promise<void> {
  let after = 0;
  const waiting: Array<{ event: unknown; tries: number }> = [];
  const clicked = new Set<string>();
  return repeat(1000, say, async () => {
    const fresh = await readSimulatedEvents(sesUrl, after);
    if (fresh.length) after = fresh[fresh.length - 1]?.seq ?? after;
    const batch = [...waiting.splice(0), ...fresh.map((e) => ({ event: e.event as unknown, tries: 0 }))];
    for (const item of batch) {
      try {
        const applied = await handleSesEvent(ctx, item.event, guard);
        const { detail } = parseSesEvent(item.event);
        if (detail.eventType === 'Send') continue;
        const to = detail.mail.destination.join(', ');
        const outcome = applied.outcomeStatus ? ` → outcome ${applied.outcomeStatus}` : '';
        const suppressed = applied.suppressed.length
          ? yellow(` → suppressed ${applied.suppressed.join(', ')}`)
          : '';
        say('receipt', `email ${detail.eventType.toLowerCase()} ${to}${outcome}${suppressed}`);
        if (detail.eventType === 'Delivery' && to === DEMO_UNSUBSCRIBER && !clicked.has(to)) {
          clicked.add(to);
          await clickUnsubscribe(sesUrl, detail.mail.messageId, apiUrl, say);
        }
      } catch (error) {
        if (error instanceof ReceiptNotReadyError && item.tries < 5)
          waiting.push({ ...item, tries: item.tries + 1 });
        else
          say(
            'receipt',
            red(`receipt not applied: ${error instanceof Error ? error.message : String(error)}`),
          );
      }
    }
  });
}

/** A mail client's one-click: POST List-Unsubscribe=One-Click to the email's List-Unsubscribe URL. */
async function clickUnsubscribe(
  sesUrl: string,
  messageId: string,
  apiUrl: string,
  say: (source: string, message: string) => void,
): Promise<void> {
  const raw = await (await fetch(`${sesUrl}/raw/${encodeURIComponent(messageId)}`)).text();
  const link = /^List-Unsubscribe: <([^>]+)>\r?$/m.exec(raw)?.[1];
  if (!link?.startsWith(apiUrl)) return say('demo', red('no List-Unsubscribe link in the email'));
  const res = await fetch(link, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'List-Unsubscribe=One-Click',
  });
  say(
    'demo',
    `${DEMO_UNSUBSCRIBER} clicked one-click unsubscribe → ${res.status}; later reminders are skipped`,
  );
}

/** Runs `task` now and then every `ms`, never overlapping itself; returns a stop function. */
function repeat(
  ms: number,
  say: (source: string, message: string) => void,
  task: () => Promise<void>,
): () => Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let stopped = false;
  const tick = () => {
    running = task()
      .catch((error: unknown) => say('local', red(`job error: ${String(error)}`)))
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, ms);
      });
  };
  tick();
  return async () => {
    stopped = true;
    clearTimeout(timer);
    await running;
  };
}

async function loadDemo(
  ctx: AppContext,
  webhookUrl: string,
  say: (source: string, message: string) => void,
): Promise<void> {
  const demo = parse(
    DemoFileSchema,
    JSON.parse(readFileSync(join(REPO_ROOT, 'events', 'demo-sessions.json'), 'utf8')),
  );
  const audit = { triggeredBy: 'local-demo' };
  const policy = await createPolicy(
    ctx,
    { ...DEMO_POLICY, orgId: 'demo', active: true },
    { ...audit, at: new Date() },
  );
  for (const s of demo.stalled) {
    await registerSession(
      ctx,
      {
        ...s,
        kind: s.kind ?? 'checkout',
        status: 'stalled',
        orgId: 'demo',
        contact: { ...s.contact, webhookUrl },
      },
      audit,
    );
  }
  for (const p of demo.processing) {
    await registerSession(
      ctx,
      {
        sessionId: p.sessionId,
        kind: p.kind,
        status: 'processing',
        sizeBytes: p.sizeBytes,
        processingStartedAt: new Date(Date.now() - p.startedSecondsAgo * 1000).toISOString(),
      },
      audit,
    );
  }
  say(
    'demo',
    `loaded ${demo.stalled.length} stalled checkouts (policy ${policy.policyId}: ${DEMO_POLICY.maxRetries} retries, ${DEMO_POLICY.initialDelaySeconds} s ×${DEMO_POLICY.backoffMultiplier}, channels ${DEMO_POLICY.enabledChannels.join(', ')}; whatsapp is disabled) and ${demo.processing.length} processing transcriptions (deadline 30–60 s)`,
  );
}

export { main };

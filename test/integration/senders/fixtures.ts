// Messages, sessions and sender wiring for the sender tests: a recovery message as the sweep builds it,
// a session item in the state a claim leaves it, and channel configs pointing at the local receivers.
import { randomBytes } from 'node:crypto';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import * as v from 'valibot';
import { afterAll, beforeAll, beforeEach, vi } from 'vitest';
import { LOCAL_SES_CONFIGURATION_SET } from '../../../local/local-env.ts';
import { type LocalReceivers, startLocalReceivers } from '../../../local/receivers.ts';
import type { AppContext } from '../../../shared/context.ts';
import type { Channel } from '../../../shared/infra/resources.ts';
import type { OpsAlertMessage, RecoveryMessage } from '../../../shared/messages.ts';
import { parse } from '../../../shared/schema.ts';
import { type ChannelConfig, staticChannelConfig } from '../../../shared/senders/config.ts';
import type { DeliveryDeps, DeliveryLogger } from '../../../shared/senders/deliver.ts';
import { createProvider } from '../../../shared/senders/factories/index.ts';
import { cachedProviders } from '../../../shared/senders/providers.ts';
import { createTestContext, type manualClock } from '../../support/context.ts';

export const ATTEMPT_AT = '2026-03-02T10:00:00.000Z';
/** The unsubscribe token key and public base URL the test senders sign their links with. */
export const TEST_UNSUBSCRIBE_KEY = 'test-unsubscribe-key-0123456789abcdef';
export const TEST_PUBLIC_BASE_URL = 'http://127.0.0.1:3999';

/** What a delivery test file runs against: the local receivers and an isolated context on the emulators. */
export interface DeliveryTestBed {
  receivers: LocalReceivers;
  ctx: AppContext;
  sesEndpoint: string;
}

/**
 * Starts the receivers and a context once for the file, puts `clock` back to `start` and clears the receivers
 * before each test, and stops them after; the fields are set once the file's first hook has run.
 */
export function deliveryTestBed(clock: ReturnType<typeof manualClock>, start: string): DeliveryTestBed {
  const bed = {} as DeliveryTestBed;
  beforeAll(async () => {
    bed.receivers = await startLocalReceivers();
    const test = await createTestContext({ clock: clock.clock });
    bed.ctx = test.ctx;
    bed.sesEndpoint = test.endpoints.ses;
  });
  afterAll(async () => {
    await bed.receivers.stop();
  });
  beforeEach(() => {
    clock.set(start);
    bed.receivers.control.reset();
    bed.receivers.control.clearRequests();
  });
  return bed;
}

/** A delivery log that records and prints nothing. */
export function quietLog() {
  return { info: vi.fn(), warn: vi.fn(), error: vi.fn() } satisfies DeliveryLogger;
}

export function uniqueId(prefix: string): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}

export function recoveryMessage(overrides: Partial<RecoveryMessage> = {}): RecoveryMessage {
  const sessionId = overrides.sessionId ?? uniqueId('s');
  return {
    v: 1,
    type: 'recovery',
    attemptId: `${sessionId}#1`,
    sessionId,
    number: 1,
    maxRetries: 3,
    fence: 2,
    attemptAt: ATTEMPT_AT,
    channel: 'email',
    recipient: `${sessionId}@example.com`,
    templateId: 'recovery_attempt',
    data: { kind: 'checkout', recoveryUrl: `https://shop.example.com/recover/${sessionId}`, name: 'Ada' },
    createdAt: ATTEMPT_AT,
    ...overrides,
  };
}

export function opsAlertMessage(overrides: Partial<OpsAlertMessage> = {}): OpsAlertMessage {
  return {
    v: 1,
    type: 'ops_alert',
    alertId: uniqueId('run'),
    source: 'timeout-monitor',
    severity: 'warning',
    channel: 'slack',
    recipient: '#ops',
    templateId: 'ops_alert',
    summary: '4 sessions run past their deadline',
    data: { longRunning: 4 },
    createdAt: ATTEMPT_AT,
    ...overrides,
  };
}

/** A session as the claim of attempt 1 leaves it: version 2, attemptFence 2. */
export async function putSession(
  ctx: AppContext,
  sessionId: string,
  overrides: Record<string, unknown> = {},
): Promise<void> {
  await ctx.ddb.send(
    new PutCommand({
      TableName: ctx.tables.sessions,
      Item: {
        sessionId,
        kind: 'checkout',
        status: 'recovering',
        retryCount: 1,
        maxRetries: 3,
        attemptFence: 2,
        version: 2,
        contact: { email: `${sessionId}@example.com`, name: 'Ada' },
        recoveryUrl: `https://shop.example.com/recover/${sessionId}`,
        createdAt: '2026-03-01T00:00:00.000Z',
        updatedAt: ATTEMPT_AT,
        ...overrides,
      },
    }),
  );
}

/** Every channel enabled, HTTP channels pointed at the receivers, email at the SES emulator. */
export function receiverConfigs(
  receivers: LocalReceivers,
  sesEndpoint: string,
  timeoutMs = 2000,
): Record<Channel, ChannelConfig> {
  const env = receivers.env;
  const twilio = {
    accountSid: env.TWILIO_ACCOUNT_SID ?? '',
    authToken: env.TWILIO_AUTH_TOKEN ?? '',
    apiBaseUrl: env.TWILIO_API_BASE_URL,
    from: '+15005550006',
    statusCallbackUrl: `${TEST_PUBLIC_BASE_URL}/v1/public/hooks/twilio/status`,
    timeoutMs,
  };
  return {
    email: {
      enabled: true,
      channel: 'email',
      fromAddress: 'recovery@example.com',
      configurationSetName: LOCAL_SES_CONFIGURATION_SET,
      unsubscribe: { key: TEST_UNSUBSCRIBE_KEY, publicBaseUrl: TEST_PUBLIC_BASE_URL },
      sesEndpoint,
      region: 'us-east-1',
      timeoutMs,
    },
    slack: { enabled: true, channel: 'slack', webhookUrl: receivers.urls.slack, timeoutMs },
    sms: { enabled: true, channel: 'sms', ...twilio },
    whatsapp: { enabled: true, channel: 'whatsapp', ...twilio },
    webhook: {
      enabled: true,
      channel: 'webhook',
      signingSecret: env.WEBHOOK_SIGNING_SECRET ?? '',
      allowHttp: true,
      timeoutMs,
    },
  };
}

const SesStoreSchema = v.object({
  emails: v.array(v.looseObject({ destination: v.object({ to: v.array(v.string()) }) })),
});

/** The emails the SES emulator holds for `address` (its store is shared by every test file). */
export async function sesEmailsTo(sesEndpoint: string, address: string) {
  const store = parse(SesStoreSchema, await (await fetch(`${sesEndpoint}/store`)).json());
  return store.emails.filter((e) => e.destination.to.includes(address));
}

export function recipientFor(channel: Channel, receivers: LocalReceivers, id: string): string {
  switch (channel) {
    case 'email':
      return `${id}@example.com`;
    case 'slack':
      return '#recovery';
    case 'sms':
    case 'whatsapp':
      return '+14155550100';
    case 'webhook':
      return receivers.urls.webhook;
  }
}

/**
 * The delivery use case's collaborators against the local receivers and the SES emulator, with a quiet log:
 * leases follow the test's clock, providers sign with real time (the receivers check it).
 */
export function receiverDeliveryDeps(
  ctx: AppContext,
  clock: () => Date,
  receivers: LocalReceivers,
  sesEndpoint: string,
): DeliveryDeps {
  return {
    ctx,
    clock,
    config: staticChannelConfig(receiverConfigs(receivers, sesEndpoint)),
    providers: cachedProviders(() => new Date(), createProvider),
    log: { info: () => {}, warn: () => {}, error: () => {} },
  };
}

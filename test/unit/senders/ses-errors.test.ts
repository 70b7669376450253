// SES failures the emulator cannot produce (throttling, rejection, an outage), through aws-sdk-client-mock:
// only the sorting into transient and permanent is under test here; the happy path runs against the emulator.
import { MessageRejected, SESClient, SESServiceException, SendEmailCommand } from '@aws-sdk/client-ses';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import {
  PermanentProviderError,
  ProviderConfigError,
  TransientProviderError,
} from '../../../shared/providers/errors.ts';
import { createSesProvider } from '../../../shared/providers/ses.ts';

const ses = mockClient(SESClient);
afterEach(() => ses.reset());

const message = {
  v: 1 as const,
  type: 'recovery' as const,
  attemptId: 's#1',
  sessionId: 's',
  number: 1,
  maxRetries: 3,
  fence: 1,
  attemptAt: '2026-03-02T10:00:00.000Z',
  channel: 'email' as const,
  recipient: 'ada@example.com',
  templateId: 'recovery_attempt' as const,
  data: {},
  createdAt: '2026-03-02T10:00:00.000Z',
};
const rendered = { subject: 's', text: 't', html: '<p>h</p>' };

function serviceError(name: string, status: number): SESServiceException {
  return new SESServiceException({
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status },
    message: name,
  });
}

function provider() {
  return createSesProvider({
    client: new SESClient({ region: 'us-east-1' }),
    fromAddress: 'r@example.com',
    timeoutMs: 1000,
  });
}

describe('ses provider failures', () => {
  it('treats Throttling (a 400 in SES) as transient', async () => {
    // Prepare
    ses.on(SendEmailCommand).rejects(serviceError('Throttling', 400));
    // Act
    const failure = provider().send(message, rendered);
    // Assess
    await expect(failure).rejects.toBeInstanceOf(TransientProviderError);
  });

  it('treats an SES 5xx as transient', async () => {
    // Prepare
    ses.on(SendEmailCommand).rejects(serviceError('ServiceUnavailable', 503));
    // Act
    const failure = provider().send(message, rendered);
    // Assess
    await expect(failure).rejects.toBeInstanceOf(TransientProviderError);
  });

  it('treats MessageRejected as permanent with SES’s reason', async () => {
    // Prepare
    ses.on(SendEmailCommand).rejects(
      new MessageRejected({
        $metadata: { httpStatusCode: 400 },
        message: 'Illegal address',
      }),
    );
    // Act
    const failure = provider().send(message, rendered);
    // Assess
    await expect(failure).rejects.toBeInstanceOf(PermanentProviderError);
    await expect(failure).rejects.toMatchObject({ reason: 'ses MessageRejected: Illegal address' });
  });

  it('treats an unverified identity as our misconfiguration, not the message’s fault', async () => {
    // Prepare
    ses.on(SendEmailCommand).rejects(
      new MessageRejected({
        $metadata: { httpStatusCode: 400 },
        message: 'Email address is not verified.',
      }),
    );
    // Act
    const failure = provider().send(message, rendered);
    // Assess
    await expect(failure).rejects.toBeInstanceOf(ProviderConfigError);
    await expect(failure).rejects.toMatchObject({
      reason: 'ses MessageRejected: Email address is not verified.',
    });
  });

  it('sends both bodies as UTF-8 from the configured identity', async () => {
    // Prepare
    ses.on(SendEmailCommand).resolves({ MessageId: 'mid-1' });
    // Act
    const result = await provider().send(message, rendered);
    // Assess
    expect(result.providerMessageId).toBe('mid-1');
    expect(ses.commandCalls(SendEmailCommand)[0]?.args[0].input).toMatchObject({
      Source: 'r@example.com',
      Destination: { ToAddresses: ['ada@example.com'] },
      Message: {
        Body: { Text: { Data: 't', Charset: 'UTF-8' }, Html: { Data: '<p>h</p>', Charset: 'UTF-8' } },
      },
    });
  });
});

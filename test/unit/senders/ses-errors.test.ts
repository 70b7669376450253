// SES failures the emulator cannot produce (throttling, rejection, an outage), through aws-sdk-client-mock:
// only the sorting into transient and permanent is under test here; the happy path runs against the emulator.
import { MessageRejected, SESClient, SESServiceException, SendRawEmailCommand } from '@aws-sdk/client-ses';
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
    unsubscribe: { key: 'k'.repeat(32), publicBaseUrl: 'https://api.example.com/prod' },
  });
}

describe('ses provider failures', () => {
  it('treats Throttling (a 400 in SES) as transient', async () => {
    // Prepare
    ses.on(SendRawEmailCommand).rejects(serviceError('Throttling', 400));
    // Act
    const failure = provider().send(message, rendered);
    // Assess
    await expect(failure).rejects.toBeInstanceOf(TransientProviderError);
  });

  it('treats an SES 5xx as transient', async () => {
    // Prepare
    ses.on(SendRawEmailCommand).rejects(serviceError('ServiceUnavailable', 503));
    // Act
    const failure = provider().send(message, rendered);
    // Assess
    await expect(failure).rejects.toBeInstanceOf(TransientProviderError);
  });

  it('treats MessageRejected as permanent with SES’s reason', async () => {
    // Prepare
    ses.on(SendRawEmailCommand).rejects(
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
    ses.on(SendRawEmailCommand).rejects(
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

  it('sends one raw MIME message with both bodies, the one-click headers and the outcome ref tag', async () => {
    // Prepare
    ses.on(SendRawEmailCommand).resolves({ MessageId: 'mid-1' });
    // Act
    const result = await provider().send(message, rendered);
    // Assess
    expect(result.providerMessageId).toBe('mid-1');
    const input = ses.commandCalls(SendRawEmailCommand)[0]?.args[0].input;
    expect(input).toMatchObject({ Source: 'r@example.com', Destinations: ['ada@example.com'] });
    const raw = Buffer.from(input?.RawMessage?.Data ?? new Uint8Array()).toString('utf8');
    expect(raw).toMatch(
      /^List-Unsubscribe: <https:\/\/api\.example\.com\/prod\/v1\/public\/unsubscribe\/u1\.[^>]+>\r$/m,
    );
    expect(raw).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click\r$/m);
    expect(raw).toContain('Content-Type: multipart/alternative');
    expect(input?.Tags?.[0]?.Name).toBe('sr_ref');
  });
});

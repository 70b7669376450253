// Email through Amazon SES (SendEmail, v1 API): HTML and text bodies, UTF-8. SES reports throttling as a
// 400 `Throttling`, so failures are sorted by error name first and HTTP status second.
import { type SESClient, SendEmailCommand } from '@aws-sdk/client-ses';
import type { ChannelMessage } from '../messages.ts';
import { PermanentProviderError, ProviderConfigError, TransientProviderError } from './errors.ts';
import { recipientOf } from './recipient.ts';
import type { NotificationProvider, ProviderResult, RenderedNotification } from './types.ts';

export interface SesProviderOptions {
  readonly client: SESClient;
  /** A verified SES identity. */
  readonly fromAddress: string;
  readonly configurationSetName?: string;
  readonly timeoutMs: number;
}

/** Errors SES (and the SDK underneath) raise for conditions that pass on their own. */
const TRANSIENT_ERROR_NAMES = new Set([
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'InternalFailure',
  'InternalServerError',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
  'AbortError',
]);

interface SdkErrorShape {
  readonly name?: string;
  readonly message?: string;
  readonly $metadata?: { readonly httpStatusCode?: number };
  readonly $retryable?: unknown;
}

/** SES refusing the sender rather than the message: access, identity, configuration set, paused account. */
const CONFIG_ERROR_NAMES = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'SignatureDoesNotMatch',
  'ConfigurationSetDoesNotExist',
  'ConfigurationSetDoesNotExistException',
  'MailFromDomainNotVerifiedException',
  'AccountSendingPausedException',
  'ConfigurationSetSendingPausedException',
]);

/** Sorts an error thrown by SESClient.send into transient, a misconfiguration of ours, or permanent. */
export function classifySesError(
  error: unknown,
): TransientProviderError | ProviderConfigError | PermanentProviderError {
  const e = (typeof error === 'object' && error !== null ? error : {}) as SdkErrorShape;
  const name = e.name ?? 'Error';
  const status = e.$metadata?.httpStatusCode;
  const message = `${name}: ${e.message ?? String(error)}`;
  // No HTTP status means SES never answered (connection refused, reset, DNS, our own timeout).
  if (
    TRANSIENT_ERROR_NAMES.has(name) ||
    e.$retryable ||
    status === undefined ||
    status === 429 ||
    status >= 500
  ) {
    return new TransientProviderError(`ses: ${message}`, { status, cause: error });
  }
  if (CONFIG_ERROR_NAMES.has(name) || (name === 'MessageRejected' && /not verified/i.test(e.message ?? ''))) {
    return new ProviderConfigError(`ses ${message}`, { status, cause: error });
  }
  return new PermanentProviderError(`ses ${message}`, { status, cause: error });
}

export function createSesProvider(options: SesProviderOptions): NotificationProvider {
  return {
    channel: 'email',
    name: 'ses',
    async send(message: ChannelMessage, rendered: RenderedNotification): Promise<ProviderResult> {
      const to = recipientOf(message, 'ses');
      const command = new SendEmailCommand({
        Source: options.fromAddress,
        Destination: { ToAddresses: [to] },
        Message: {
          Subject: { Data: rendered.subject, Charset: 'UTF-8' },
          Body: {
            Text: { Data: rendered.text, Charset: 'UTF-8' },
            ...(rendered.html ? { Html: { Data: rendered.html, Charset: 'UTF-8' } } : {}),
          },
        },
        ConfigurationSetName: options.configurationSetName,
      });
      try {
        const out = await options.client.send(command, {
          abortSignal: AbortSignal.timeout(options.timeoutMs),
        });
        // SES accepted the mail; a missing id must not turn into a retry and a second email.
        return { providerMessageId: out.MessageId ?? 'ses-unknown' };
      } catch (error) {
        if (
          error instanceof TransientProviderError ||
          error instanceof PermanentProviderError ||
          error instanceof ProviderConfigError
        )
          throw error;
        throw classifySesError(error);
      }
    },
  };
}

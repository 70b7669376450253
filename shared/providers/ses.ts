// Email through Amazon SES (SendRawEmail, v1 API): a MIME message built here (./mime.ts) with HTML and
// text bodies, UTF-8, so that recovery emails can carry RFC 8058 one-click unsubscribe headers, which v1
// SendEmail cannot set (README, design notes: why raw MIME over SES v2). Each send carries the outcome ref
// as a message tag, so SES's events find their outcome. SES reports throttling as a 400 `Throttling`, so
// failures are sorted by error name first and HTTP status second.
import { type SESClient, SendRawEmailCommand } from '@aws-sdk/client-ses';
import { createUnsubscribeToken, unsubscribeUrl } from '../consent/unsubscribe-token.ts';
import type { ChannelMessage } from '../messages.ts';
import { encodeOutcomeRef, outcomeRefOf } from '../receipts/outcome-ref.ts';
import { REF_TAG } from '../receipts/ses-tags.ts';
import { normaliseEmail } from '../recipients/address.ts';
import { escapeHtml } from '../templates/escape.ts';
import { PermanentProviderError, ProviderConfigError, TransientProviderError } from './errors.ts';
import { composeMime } from './mime.ts';
import { recipientOf } from './recipient.ts';
import type { NotificationProvider, ProviderResult, RenderedNotification } from './types.ts';

export interface SesProviderOptions {
  readonly client: SESClient;
  /** A verified SES identity. */
  readonly fromAddress: string;
  readonly configurationSetName?: string;
  readonly timeoutMs: number;
  /** One-click unsubscribe for recovery emails: the token key and the public API's base URL. */
  readonly unsubscribe?: { readonly key: string; readonly publicBaseUrl: string };
  readonly clock?: () => Date;
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
function classifySesError(
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
      let { text, html } = rendered;
      const headers: Array<[string, string]> = [];
      if (message.type === 'recovery') {
        // RFC 8058: every recovery email (a reminder is promotional) can be left with one click.
        const address = normaliseEmail(to);
        if (!options.unsubscribe || !address)
          throw new PermanentProviderError('ses: no unsubscribe link can be made for this recipient');
        const orgId = typeof message.data.orgId === 'string' ? message.data.orgId : undefined;
        const url = unsubscribeUrl(
          options.unsubscribe.publicBaseUrl,
          createUnsubscribeToken(options.unsubscribe.key, { address, orgId }),
        );
        headers.push(
          ['List-Unsubscribe', `<${url}>`],
          ['List-Unsubscribe-Post', 'List-Unsubscribe=One-Click'],
        );
        text = `${text}\n\nTo stop these reminders, unsubscribe: ${url}\n`;
        html = html
          ? `${html}\n<p style="font-size:12px;color:#666">To stop these reminders, <a href="${escapeHtml(url)}">unsubscribe</a>.</p>`
          : undefined;
      }
      const ref = outcomeRefOf(message);
      const encodedRef = ref && encodeOutcomeRef(ref);
      const raw = composeMime({
        from: options.fromAddress,
        to,
        subject: rendered.subject,
        text,
        ...(html ? { html } : {}),
        headers,
        date: options.clock?.(),
      });
      const command = new SendRawEmailCommand({
        Source: options.fromAddress,
        Destinations: [to],
        RawMessage: { Data: Buffer.from(raw, 'utf8') },
        ConfigurationSetName: options.configurationSetName,
        ...(encodedRef ? { Tags: [{ Name: REF_TAG, Value: encodedRef }] } : {}),
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

// The product's own endpoint: a signed JSON POST per notification, so the product can push it to the
// customer itself (SSE, in-app), signed in the Standard Webhooks format (./webhook-signature.ts). Any 2xx
// accepts; a 401/403 is that endpoint's refusal, a permanent failure of the message (not a misconfiguration
// of the channel, unlike Slack's or Twilio's); the `webhook-id` header stays the same across retries,
// so the product can drop a second copy (the one case the sender cannot rule out, see shared/senders).
import type { ChannelMessage } from '../messages.ts';
import { PermanentProviderError } from './errors.ts';
import { isSuccess, postOnce, throwForStatus } from './http.ts';
import { recipientOf } from './recipient.ts';
import type { NotificationProvider, ProviderResult, RenderedNotification } from './types.ts';
import { signWebhook } from './webhook-signature.ts';

export interface WebhookProviderOptions {
  /** HMAC-SHA256 key shared with the product. */
  readonly signingSecret: string;
  readonly timeoutMs: number;
  /** Plain http is refused unless allowed (the local receivers listen on http://127.0.0.1). */
  readonly allowHttp?: boolean;
  readonly clock?: () => Date;
  readonly fetch?: typeof fetch;
}

/** Stable for a message on this channel: the same on every retry and replay. */
export function webhookDeliveryId(message: ChannelMessage): string {
  return message.type === 'recovery'
    ? `${message.attemptId}:webhook`
    : `${message.alertId}:webhook:${message.recipient ?? 'none'}`;
}

/** The JSON document the product receives. */
function webhookPayload(message: ChannelMessage, rendered: RenderedNotification, sentAt: Date) {
  const common = {
    id: webhookDeliveryId(message),
    template: message.templateId,
    subject: rendered.subject,
    text: rendered.text,
    data: message.data,
    sentAt: sentAt.toISOString(),
  };
  if (message.type === 'recovery') {
    return {
      ...common,
      type: 'recovery' as const,
      sessionId: message.sessionId,
      attemptId: message.attemptId,
      attemptNumber: message.number,
      maxRetries: message.maxRetries,
      final: message.templateId === 'final_attempt',
      recoveryUrl: rendered.link,
    };
  }
  return {
    ...common,
    type: 'ops_alert' as const,
    alertId: message.alertId,
    source: message.source,
    severity: message.severity,
    summary: message.summary,
  };
}

function targetUrl(raw: string, allowHttp: boolean): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch (error) {
    throw new PermanentProviderError(`webhook: recipient is not a URL`, { cause: error });
  }
  if (url.protocol === 'https:' || (allowHttp && url.protocol === 'http:')) return url.href;
  throw new PermanentProviderError(`webhook: ${url.protocol} URLs are not allowed, use https`);
}

export function createWebhookProvider(options: WebhookProviderOptions): NotificationProvider {
  const clock = options.clock ?? (() => new Date());
  return {
    channel: 'webhook',
    name: 'webhook',
    async send(message: ChannelMessage, rendered: RenderedNotification): Promise<ProviderResult> {
      const url = targetUrl(recipientOf(message, 'webhook'), options.allowHttp ?? false);
      const now = clock();
      const body = JSON.stringify(webhookPayload(message, rendered, now));
      const id = webhookDeliveryId(message);
      // Signed at send time, not at enqueue time: a retry an hour later must still be within tolerance.
      const signature = signWebhook(options.signingSecret, id, body, Math.floor(now.getTime() / 1000));
      const answer = await postOnce(
        url,
        {
          headers: {
            'content-type': 'application/json; charset=utf-8',
            'user-agent': 'session-recovery-webhook/1',
            // Standard Webhooks: webhook-id (stable across retries), webhook-timestamp, webhook-signature.
            ...signature,
          },
          body,
        },
        { provider: 'webhook', timeoutMs: options.timeoutMs, fetch: options.fetch },
      );
      if (!isSuccess(answer.status)) {
        const reason = answer.text.trim().slice(0, 500) || 'no reason given';
        if (answer.status === 401 || answer.status === 403) {
          // The URL is the recipient's (a session's contact.webhookUrl), not a credential of ours: its
          // refusal fails this message for good. It must not mark the whole channel misconfigured (readyz
          // error, DLQ, page) the way Slack's or Twilio's 401 does.
          throw new PermanentProviderError(
            `webhook ${answer.status} from the recipient's endpoint: ${reason} (it refused the signed request; check the signing secret it holds)`,
            { status: answer.status },
          );
        }
        throwForStatus(answer, reason, { provider: 'webhook', now });
      }
      return { providerMessageId: id };
    },
  };
}

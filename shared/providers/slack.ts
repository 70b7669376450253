// Slack through an incoming webhook: POST {text} as JSON; Slack answers 200 `ok`, or a short error word
// (`invalid_payload`, `no_service`, `channel_is_archived`, …) with a 4xx, 429 with Retry-After, or a 5xx.
// The webhook URL decides the channel; a contact's `slackChannel` only names it in the logs and outcome.
import { randomUUID } from 'node:crypto';
import type { ChannelMessage } from '../messages.ts';
import { isSuccess, postOnce, throwForStatus } from './http.ts';
import type { NotificationProvider, ProviderResult, RenderedNotification } from './types.ts';

export interface SlackProviderOptions {
  /** The incoming-webhook URL (a secret: whoever has it can post). */
  readonly webhookUrl: string;
  readonly timeoutMs: number;
  readonly clock?: () => Date;
  readonly fetch?: typeof fetch;
}

export function createSlackProvider(options: SlackProviderOptions): NotificationProvider {
  const clock = options.clock ?? (() => new Date());
  return {
    channel: 'slack',
    name: 'slack',
    async send(_message: ChannelMessage, rendered: RenderedNotification): Promise<ProviderResult> {
      const answer = await postOnce(
        options.webhookUrl,
        {
          headers: { 'content-type': 'application/json; charset=utf-8' },
          // Unfurling the recovery link would put a preview of the customer's session in the channel.
          body: JSON.stringify({ text: rendered.text, unfurl_links: false, unfurl_media: false }),
        },
        { provider: 'slack', timeoutMs: options.timeoutMs, fetch: options.fetch },
      );
      if (!isSuccess(answer.status)) {
        throwForStatus(answer, answer.text.trim() || 'no reason given', { provider: 'slack', now: clock() });
      }
      // Incoming webhooks return no message id; Slack's request id is the closest thing to quote to Slack.
      return { providerMessageId: answer.headers.get('x-slack-req-id') ?? `slack-${randomUUID()}` };
    },
  };
}

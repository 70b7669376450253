// What every channel provider offers the sender: one call that delivers one rendered notification.
import type { Channel } from '../infra/resources.ts';
import type { ChannelMessage } from '../messages.ts';

/** A notification rendered for one channel (see shared/templates). */
export interface RenderedNotification {
  readonly subject: string;
  /** Body in the channel's own text format: plain for email/SMS/WhatsApp/webhook, mrkdwn for Slack. */
  readonly text: string;
  /** Email only: the HTML body, every interpolated value escaped. */
  readonly html?: string;
  /** The recovery link as rendered (http/https only), for providers that carry it as a field. */
  readonly link?: string;
}

export interface ProviderResult {
  /** The provider's id for the message (SES MessageId, Twilio SM…, …), stored on the outcome. */
  readonly providerMessageId: string;
}

/**
 * Sends one message. Resolves when the provider accepted it; rejects with TransientProviderError or
 * PermanentProviderError (anything else is treated as transient by the sender).
 */
export interface NotificationProvider {
  readonly channel: Channel;
  /** Stored on the outcome item: `ses`, `slack`, `twilio`, `webhook`, … */
  readonly name: string;
  send(message: ChannelMessage, rendered: RenderedNotification): Promise<ProviderResult>;
}

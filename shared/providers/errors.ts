// The two ways a provider call can fail, as the sender needs to tell them apart: try again later
// (network, timeout, 5xx, 429) or never (the provider refused this message for good).

export interface TransientProviderErrorOptions {
  /** From the provider's `Retry-After`, in seconds from now; the sender stretches the message's visibility. */
  readonly retryAfterSeconds?: number;
  /** HTTP status, when the provider answered at all. */
  readonly status?: number;
  readonly cause?: unknown;
}

/** Worth another try: the sender fails the record so SQS redelivers it (and, in the end, dead-letters it). */
export class TransientProviderError extends Error {
  readonly retryAfterSeconds?: number;
  readonly status?: number;

  constructor(message: string, options: TransientProviderErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = 'TransientProviderError';
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.status = options.status;
  }
}

/** The provider refused this message for a reason a retry cannot fix; the outcome becomes `failed`. */
export class PermanentProviderError extends Error {
  readonly status?: number;

  constructor(
    /** The provider's own words (code and message), stored on the outcome item for operators. */
    readonly reason: string,
    options: { readonly status?: number; readonly cause?: unknown } = {},
  ) {
    super(reason, { cause: options.cause });
    this.name = 'PermanentProviderError';
    this.status = options.status;
  }
}

/**
 * The provider refused us, not the message: our credential, signing secret or sender identity is wrong
 * (401/403, SES access denied or an unverified identity). That is a misconfiguration, not the message's
 * fault: the message is retried and waits in the DLQ, and the channel shows as misconfigured, until the
 * configuration is fixed and the message replayed.
 */
export class ProviderConfigError extends Error {
  readonly status?: number;

  constructor(
    readonly reason: string,
    options: { readonly status?: number; readonly cause?: unknown } = {},
  ) {
    super(reason, { cause: options.cause });
    this.name = 'ProviderConfigError';
    this.status = options.status;
  }
}

/**
 * The provider refused because the recipient opted out (Twilio 21610: they replied STOP). Permanent, and
 * the sender also records the opt-out in the recipient store so no later attempt calls the provider.
 */
export class RecipientOptedOutError extends PermanentProviderError {
  constructor(reason: string, options: { readonly status?: number; readonly cause?: unknown } = {}) {
    super(reason, options);
    this.name = 'RecipientOptedOutError';
  }
}

/**
 * The notification could not be made into a request: its template failed to render, or a header would be
 * malformed (a line break in a value, a bad name). Nothing was sent and no retry can fix it: the sender
 * records `failed: render_error: template …`, and no provider was called.
 */
export class RenderError extends PermanentProviderError {
  constructor(reason: string, options: { readonly cause?: unknown } = {}) {
    super(reason, options);
    this.name = 'RenderError';
  }
}

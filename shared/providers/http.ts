// One HTTP POST to a provider with a hard timeout, and the rule that sorts its failures: network errors,
// timeouts, 408, 429 and 5xx are transient (with the provider's Retry-After), every other non-2xx is permanent.
import { PermanentProviderError, ProviderConfigError, TransientProviderError } from './errors.ts';

export interface HttpAnswer {
  readonly status: number;
  readonly headers: Headers;
  /** The body as text, cut to a few KB: only ever used for ids and error reasons. */
  readonly text: string;
}

export interface PostOptions {
  /** Name used in error messages (`slack`, `twilio`, `webhook`). */
  readonly provider: string;
  readonly timeoutMs: number;
  /** Injected in tests; the global fetch otherwise. */
  readonly fetch?: typeof fetch;
}

const MAX_BODY_CHARS = 4000;

/** POSTs once. Rejects only with TransientProviderError (no answer); any HTTP answer is returned. */
export async function postOnce(
  url: string,
  init: { readonly headers: Record<string, string>; readonly body: string },
  options: PostOptions,
): Promise<HttpAnswer> {
  const doFetch = options.fetch ?? fetch;
  // One signal covers connect, request and reading the body: a provider that stalls mid-body still times out.
  const signal = AbortSignal.timeout(options.timeoutMs);
  try {
    const response = await doFetch(url, {
      method: 'POST',
      headers: init.headers,
      body: init.body,
      // A redirect would turn the POST into a GET somewhere else; a provider URL must be the final one.
      redirect: 'manual',
      signal,
    });
    const text = (await response.text()).slice(0, MAX_BODY_CHARS);
    return { status: response.status, headers: response.headers, text };
  } catch (error) {
    const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
    const detail = timedOut
      ? `no answer within ${options.timeoutMs} ms`
      : error instanceof Error
        ? describeNetworkError(error)
        : String(error);
    throw new TransientProviderError(`${options.provider}: ${detail}`, { cause: error });
  }
}

function describeNetworkError(error: Error): string {
  // undici reports `fetch failed` and keeps the useful part (ECONNREFUSED, ENOTFOUND, …) in the cause.
  const cause = error.cause;
  if (cause instanceof Error) {
    const code = (cause as Error & { code?: unknown }).code;
    return `${error.message}: ${typeof code === 'string' ? `${code} ` : ''}${cause.message}`.trim();
  }
  return error.message;
}

/** Seconds to wait from a `Retry-After` header: delta-seconds or an HTTP-date; undefined when absent or bad. */
export function parseRetryAfter(value: string | null | undefined, now: Date): number | undefined {
  if (value === null || value === undefined) return undefined;
  const trimmed = value.trim();
  if (trimmed === '') return undefined;
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  // HTTP-dates always name a month; V8's lenient Date.parse would otherwise read `-5` or `1.5` as dates.
  if (!/[a-z]{3}/i.test(trimmed)) return undefined;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil((at - now.getTime()) / 1000));
}

export function isSuccess(status: number): boolean {
  return status >= 200 && status < 300;
}

/**
 * Throws the error a non-2xx answer stands for. `reason` is the provider's own explanation, already
 * extracted from its body by the caller.
 */
export function throwForStatus(
  answer: HttpAnswer,
  reason: string,
  options: { provider: string; now: Date },
): never {
  const { status } = answer;
  if (status === 408 || status === 429 || status >= 500) {
    throw new TransientProviderError(`${options.provider} answered ${status}: ${reason}`, {
      status,
      retryAfterSeconds: parseRetryAfter(answer.headers.get('retry-after'), options.now),
    });
  }
  if (status === 401 || status === 403) {
    throw new ProviderConfigError(
      `${options.provider} refused our credentials (${status}): ${reason}; check the channel's secret`,
      { status },
    );
  }
  if (status >= 300 && status < 400) {
    const location = answer.headers.get('location') ?? 'an unnamed location';
    throw new PermanentProviderError(
      `${options.provider} redirected (${status}) to ${location}; configure the final URL`,
      {
        status,
      },
    );
  }
  throw new PermanentProviderError(`${options.provider} ${status}: ${reason}`, { status });
}

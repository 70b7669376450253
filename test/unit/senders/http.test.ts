import { describe, expect, it } from 'vitest';
import {
  PermanentProviderError,
  ProviderConfigError,
  TransientProviderError,
} from '../../../shared/providers/errors.ts';
import { type HttpAnswer, parseRetryAfter, throwForStatus } from '../../../shared/providers/http.ts';

const now = new Date('2026-03-02T10:00:00.000Z');

function answer(status: number, headers: Record<string, string> = {}): HttpAnswer {
  return { status, headers: new Headers(headers), text: '' };
}

describe('parseRetryAfter', () => {
  it.each([
    ['2', 2],
    [' 120 ', 120],
    ['0', 0],
    ['Mon, 02 Mar 2026 10:00:30 GMT', 30],
    ['Mon, 02 Mar 2026 09:59:00 GMT', 0],
  ])('reads %j as %d seconds', (header, seconds) => {
    // Prepare
    // Act
    const parsed = parseRetryAfter(header, now);
    // Assess
    expect(parsed).toBe(seconds);
  });

  it.each([null, undefined, '', 'soon', '-5', '1.5'])('ignores %j', (header) => {
    // Prepare
    // Act
    const parsed = parseRetryAfter(header, now);
    // Assess
    expect(parsed).toBeUndefined();
  });
});

describe('throwForStatus', () => {
  it.each([408, 429, 500, 502, 503, 504])('treats %d as transient', (status) => {
    // Prepare
    const a = answer(status, { 'retry-after': '4' });
    // Act
    const thrown = (() => {
      try {
        throwForStatus(a, 'x', { provider: 'p', now });
      } catch (error) {
        return error;
      }
    })();
    // Assess
    expect(thrown).toBeInstanceOf(TransientProviderError);
    expect(thrown).toMatchObject({ status, retryAfterSeconds: 4 });
  });

  it.each([401, 403])(
    'treats %d as our misconfiguration (a refused credential), not the message’s fault',
    (status) => {
      // Prepare
      const a = answer(status);
      // Act
      const call = () => throwForStatus(a, 'invalid_token', { provider: 'slack', now });
      // Assess
      expect(call).toThrow(ProviderConfigError);
      expect(call).toThrow(`slack refused our credentials (${status}): invalid_token`);
    },
  );

  it.each([400, 404, 410, 422])('treats %d as permanent, keeping the provider’s reason', (status) => {
    // Prepare
    const a = answer(status);
    // Act
    const call = () => throwForStatus(a, 'invalid_payload', { provider: 'slack', now });
    // Assess
    expect(call).toThrow(PermanentProviderError);
    expect(call).toThrow(`slack ${status}: invalid_payload`);
  });

  it('refuses to follow a redirect, as a permanent error naming the target', () => {
    // Prepare
    const a = answer(301, { location: 'https://elsewhere.example/hook' });
    // Act
    const call = () => throwForStatus(a, '', { provider: 'webhook', now });
    // Assess
    expect(call).toThrow(/redirected \(301\) to https:\/\/elsewhere\.example\/hook/);
  });
});

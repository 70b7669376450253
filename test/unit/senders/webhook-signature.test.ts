import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { signWebhookBody, verifyWebhookSignature } from '../../../shared/providers/webhook-signature.ts';

const secret = 'whsec-unit-test-secret-0123456789';
const now = new Date('2026-03-02T10:00:00.000Z');
const t = Math.floor(now.getTime() / 1000);

describe('webhook signatures', () => {
  it('verifies a body signed now, and one signed within the tolerance', () => {
    // Prepare
    const body = '{"id":"a#1:webhook","type":"recovery"}';
    // Act
    const fresh = verifyWebhookSignature(secret, signWebhookBody(secret, body, t), body, now);
    const slightlyOld = verifyWebhookSignature(secret, signWebhookBody(secret, body, t - 299), body, now);
    // Assess
    expect(fresh).toEqual({ valid: true, timestamp: t });
    expect(slightlyOld.valid).toBe(true);
  });

  it('refuses a tampered body', () => {
    // Prepare
    const header = signWebhookBody(secret, '{"amount":1}', t);
    // Act
    const result = verifyWebhookSignature(secret, header, '{"amount":9}', now);
    // Assess
    expect(result).toEqual({ valid: false, reason: 'signature_mismatch' });
  });

  it('refuses a timestamp older (or further ahead) than the tolerance', () => {
    // Prepare
    const body = '{}';
    // Act
    const old = verifyWebhookSignature(secret, signWebhookBody(secret, body, t - 301), body, now);
    const ahead = verifyWebhookSignature(secret, signWebhookBody(secret, body, t + 301), body, now);
    const tight = verifyWebhookSignature(secret, signWebhookBody(secret, body, t - 10), body, now, 5);
    // Assess
    expect(old).toEqual({ valid: false, reason: 'timestamp_out_of_tolerance' });
    expect(ahead).toEqual({ valid: false, reason: 'timestamp_out_of_tolerance' });
    expect(tight.valid).toBe(false);
  });

  it('refuses a header re-labelled with a newer timestamp (the timestamp is signed)', () => {
    // Prepare
    const body = '{}';
    const stale = signWebhookBody(secret, body, t - 3600);
    const relabelled = stale.replace(`t=${t - 3600}`, `t=${t}`);
    // Act
    const result = verifyWebhookSignature(secret, relabelled, body, now);
    // Assess
    expect(result).toEqual({ valid: false, reason: 'signature_mismatch' });
  });

  it.each([undefined, null, '', 'v1=abc', 't=1', 'garbage'])(
    'refuses header %j as missing or malformed',
    (header) => {
      // Prepare
      // Act
      const result = verifyWebhookSignature(secret, header, '{}', now);
      // Assess
      expect(result.valid).toBe(false);
    },
  );

  it('accepts any of several v1 signatures (secret rotation)', () => {
    // Prepare
    const body = '{"x":1}';
    const oldKey = signWebhookBody('old-secret-0123456789', body, t).split(',')[1];
    const header = `${signWebhookBody(secret, body, t)},${oldKey}`;
    // Act
    const withNew = verifyWebhookSignature(secret, header, body, now);
    const withOld = verifyWebhookSignature('old-secret-0123456789', header, body, now);
    // Assess
    expect(withNew.valid).toBe(true);
    expect(withOld.valid).toBe(true);
  });

  it('verifies every body it signed, and no body with one character changed', () => {
    // Prepare
    const property = fc.property(fc.string({ minLength: 1 }), fc.nat(), (body, position) => {
      const header = signWebhookBody(secret, body, t);
      const i = position % body.length;
      const changed = body.slice(0, i) + String.fromCharCode(body.charCodeAt(i) ^ 1) + body.slice(i + 1);
      // Act
      const original = verifyWebhookSignature(secret, header, body, now);
      const altered = verifyWebhookSignature(secret, header, changed, now);
      // Assess
      return original.valid && !altered.valid;
    });
    // Act + Assess
    fc.assert(property, { numRuns: 200 });
  });
});

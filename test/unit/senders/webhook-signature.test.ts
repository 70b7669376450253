// The Standard Webhooks signature: our signer against the `standardwebhooks` package (the verifier a
// product uses), tolerance, tampering and key rotation.
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import {
  isStandardWebhookSecret,
  signWebhook,
  verifyWebhook,
} from '../../../shared/providers/webhook-signature.ts';

const secret = `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`;
const body = '{"type":"recovery","amount":1}';
const now = new Date('2026-03-02T10:00:00Z');
const t = Math.floor(now.getTime() / 1000);

describe('Standard Webhooks signature', () => {
  it('is what the standardwebhooks package signs, and it verifies ours', () => {
    // Act
    const ours = signWebhook(secret, 'msg_1', body, t);
    const theirs = new Webhook(secret).sign('msg_1', now, body);
    // Assess
    expect(ours['webhook-signature']).toBe(theirs);
    expect(verifyWebhook(secret, { ...ours }, body, now)).toEqual({ valid: true, timestamp: t, id: 'msg_1' });
  });

  it('refuses a changed body, a changed id and a timestamp outside 300 s', () => {
    // Prepare
    const headers = { ...signWebhook(secret, 'msg_1', body, t) };
    // Act / Assess
    expect(verifyWebhook(secret, headers, body.replace('1', '2'), now)).toMatchObject({ valid: false });
    expect(verifyWebhook(secret, { ...headers, 'webhook-id': 'msg_2' }, body, now)).toMatchObject({
      valid: false,
      reason: 'signature_mismatch',
    });
    const old = { ...signWebhook(secret, 'msg_1', body, t - 301) };
    expect(verifyWebhook(secret, old, body, now)).toEqual({
      valid: false,
      reason: 'timestamp_out_of_tolerance',
    });
  });

  it('accepts any of several space-separated signatures (key rotation)', () => {
    // Prepare
    const other = `whsec_${Buffer.from('another key of sixteen+ bytes').toString('base64')}`;
    const a = signWebhook(secret, 'msg_1', body, t);
    const b = signWebhook(other, 'msg_1', body, t);
    const headers = { ...a, 'webhook-signature': `${b['webhook-signature']} ${a['webhook-signature']}` };
    // Act / Assess
    expect(verifyWebhook(secret, headers, body, now).valid).toBe(true);
    expect(verifyWebhook(other, headers, body, now).valid).toBe(true);
  });

  it('knows a Standard Webhooks secret from another string', () => {
    expect(isStandardWebhookSecret(secret)).toBe(true);
    expect(isStandardWebhookSecret('plain-secret-0123456789')).toBe(false);
    expect(isStandardWebhookSecret('whsec_c2hvcnQ=')).toBe(false);
  });
});

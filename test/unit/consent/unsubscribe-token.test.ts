// The one-click unsubscribe token: it names recipient and org, and every single-character change of it is
// refused, including a last base64url character that would decode to the same bytes.
import { describe, expect, it } from 'vitest';
import { keywordOf } from '../../../shared/consent/sms-keywords.ts';
import { createUnsubscribeToken, verifyUnsubscribeToken } from '../../../shared/consent/unsubscribe-token.ts';
import { classifyAddress, normalisePhone } from '../../../shared/recipients/address.ts';

const key = 'k'.repeat(40);
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.';

describe('unsubscribe token', () => {
  it('round-trips recipient and org, and another key refuses it', () => {
    const token = createUnsubscribeToken(key, { address: 'ada@example.com', orgId: 'org-1' });
    expect(verifyUnsubscribeToken(key, token)).toEqual({ address: 'ada@example.com', orgId: 'org-1' });
    expect(verifyUnsubscribeToken('x'.repeat(40), token)).toBeUndefined();
  });

  it('refuses every token with one character changed, at every position', () => {
    const token = createUnsubscribeToken(key, { address: 'grace@example.com' });
    for (let i = 0; i < token.length; i++) {
      for (const c of ALPHABET) {
        if (c === token[i]) continue;
        const altered = token.slice(0, i) + c + token.slice(i + 1);
        expect(verifyUnsubscribeToken(key, altered), `${i}:${c}`).toBeUndefined();
      }
    }
  });
});

describe('addresses and keywords', () => {
  it('normalises phones to E.164 and emails to lower case', () => {
    expect(normalisePhone('whatsapp:+1 (415) 555-0100')).toBe('+14155550100');
    expect(normalisePhone('0044 20 7946 0958')).toBe('+442079460958');
    expect(classifyAddress(' Ada@Example.COM ')).toMatchObject({
      address: 'ada@example.com',
      channels: ['email'],
    });
    expect(classifyAddress('not an address')).toBeUndefined();
  });

  it('reads STOP and START as Twilio does, and nothing else', () => {
    expect(keywordOf(' stop ')).toBe('stop');
    expect(keywordOf('Unsubscribe.')).toBe('stop');
    expect(keywordOf('start')).toBe('start');
    expect(keywordOf('please stop sending')).toBeUndefined();
  });
});

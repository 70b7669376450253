// The schema seam (shared/schema.ts) keeps what the service accepted and refused before it moved to
// valibot, where valibot's own choices differ: addresses stored sessions carry, metadata keys a product
// may use, calendar days, links with hidden whitespace, and every unknown field named.
import { describe, expect, it } from 'vitest';
import { MetadataSchema } from '../../shared/domain/metadata.ts';
import { SessionSchema } from '../../shared/domain/session.ts';
import { RegisterSessionSchema } from '../../shared/domain/session-input.ts';
import { email, isoDateTime, safeParse } from '../../shared/schema.ts';
import { settingsFromEnv } from '../../shared/settings.ts';

const stored = {
  sessionId: 's-1',
  kind: 'checkout',
  status: 'stalled',
  retryCount: 0,
  version: 3,
  createdAt: '2026-03-02T10:00:00.000Z',
  updatedAt: '2026-03-02T10:00:00.000Z',
};

describe('shared/schema.ts', () => {
  it.each(["o'brien@example.com", 'a@xn--mller-kva.de', 'first.last+tag@sub.example.co.uk'])(
    'accepts the address %s, in a stored session too',
    (address) => {
      // Act
      const alone = safeParse(email, address);
      const session = safeParse(SessionSchema, { ...stored, contact: { email: address } });
      // Assess
      expect(alone.success).toBe(true);
      expect(session.success).toBe(true);
    },
  );

  it.each(['plain', 'a@b', '.a@example.com', 'a..b@example.com', 'a@example.com '])(
    'refuses the address %j',
    (address) => {
      expect(safeParse(email, address).success).toBe(false);
    },
  );

  it('keeps every metadata key a product may use, constructor and prototype included', () => {
    // Prepare
    const metadata = { constructor: 'x', prototype: { a: 1 }, cart: [1, 2] };
    // Act
    const input = safeParse(MetadataSchema, metadata);
    const read = safeParse(SessionSchema, { ...stored, metadata });
    // Assess
    expect(input.success && input.data).toEqual(metadata);
    expect(read.success && read.data.metadata).toEqual(metadata);
  });

  it('refuses metadata that is an array or names __proto__', () => {
    // Act
    const array = safeParse(MetadataSchema, ['a', 'b']);
    const proto = safeParse(MetadataSchema, JSON.parse('{"__proto__": {"polluted": true}}'));
    // Assess
    expect(array.success).toBe(false);
    expect(proto.success).toBe(false);
  });

  it.each([
    ['2026-02-28T10:00:00Z', true],
    ['2028-02-29T10:00:00.123+02:00', true],
    ['2026-02-29T10:00:00Z', false],
    ['2026-02-30T10:00:00Z', false],
    ['2026-04-31T10:00:00Z', false],
    ['2026-03-02T10:00Z', false],
    ['2026-03-02 10:00:00Z', false],
    ['2026-03-02T10:00:00+0200', false],
  ])('reads %s as a timestamp: %s', (text, valid) => {
    expect(safeParse(isoDateTime, text).success).toBe(valid);
  });

  it('refuses a link with a line break, tab or space in it', () => {
    for (const recoveryUrl of [
      'https://shop.example/r/1\n',
      'https://shop.example/r/\t1',
      ' https://shop.example/r/1',
    ]) {
      // Act
      const result = safeParse(RegisterSessionSchema, {
        sessionId: 's-2',
        kind: 'checkout',
        status: 'stalled',
        recoveryUrl,
      });
      // Assess
      expect(result.success ? [] : result.issues.map((i) => i.path.join('.')), recoveryUrl).toEqual([
        'recoveryUrl',
      ]);
    }
  });

  it('names every unknown field, at the top and nested, once each', () => {
    // Act
    const result = safeParse(RegisterSessionSchema, {
      sessionId: 's-3',
      kind: 'checkout',
      status: 'stalled',
      color: 'red',
      size: 2,
      contact: { fax: '+14155550100', pager: '1', email: 'a@example.com' },
    });
    // Assess
    expect(result.success).toBe(false);
    expect(result.success ? [] : result.issues).toEqual(
      expect.arrayContaining([
        { path: ['color'], message: 'unknown field' },
        { path: ['size'], message: 'unknown field' },
        { path: ['contact', 'fax'], message: 'unknown field' },
        { path: ['contact', 'pager'], message: 'unknown field' },
      ]),
    );
    expect(result.success ? 0 : result.issues.length).toBe(4);
  });

  it('refuses timeout rules given as an array or under a reserved key, naming the setting', () => {
    // Prepare
    const rule = { baseMinutes: 30, perMbMinutes: 1, maxMinutes: 120, warnMinutes: 15 };
    // Act
    const asArray = () => settingsFromEnv({ TIMEOUT_RULES: JSON.stringify([rule]) });
    const reserved = () => settingsFromEnv({ TIMEOUT_RULES: `{"constructor": ${JSON.stringify(rule)}}` });
    const fine = settingsFromEnv({ TIMEOUT_RULES: JSON.stringify({ export: rule }) });
    // Assess
    expect(asArray).toThrow(/TIMEOUT_RULES/);
    expect(reserved).toThrow(/TIMEOUT_RULES: keys __proto__, constructor and prototype are not allowed/);
    expect(fine.timeoutRules.export).toEqual(rule);
  });
});

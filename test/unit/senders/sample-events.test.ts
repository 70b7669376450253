// The sample SQS events in events/ must stay valid channel messages, or `npm run invoke` lies.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CHANNELS } from '../../../shared/infra/resources.ts';
import { ChannelMessageSchema } from '../../../shared/messages.ts';
import { safeParse } from '../../../shared/schema.ts';

describe('events/sqs-<channel>.json', () => {
  it.each(CHANNELS)('holds valid %s messages only', (channel) => {
    // Prepare
    const event = JSON.parse(readFileSync(`events/sqs-${channel}.json`, 'utf8')) as {
      Records: Array<{ body: string }>;
    };
    // Act
    const parsed = event.Records.map((r) => safeParse(ChannelMessageSchema, JSON.parse(r.body)));
    // Assess
    expect(parsed.every((p) => p.success && p.data.channel === channel)).toBe(true);
    expect(parsed.map((p) => (p.success ? p.data.type : undefined)).sort()).toEqual([
      'ops_alert',
      'recovery',
    ]);
  });
});

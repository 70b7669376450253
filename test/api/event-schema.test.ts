// docs/events.schema.json (#14) is what the code generates (regenerate with `npm run openapi`), and the
// generic fixtures in events/ are events it describes.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EVENTS_SCHEMA_PATH, renderEventsSchema } from '../../bin/openapi.ts';
import { REPO_ROOT } from '../../local/local-env.ts';
import { GENERIC_DETAIL_TYPES, sessionEventDetailSchema } from '../../shared/events/generic.ts';
import { safeParse } from '../../shared/schema.ts';

describe('docs/events.schema.json', () => {
  it('is current: regenerate with `npm run openapi`', () => {
    const shipped = readFileSync(join(REPO_ROOT, EVENTS_SCHEMA_PATH), 'utf8');
    expect(shipped === renderEventsSchema(), 'docs/events.schema.json is stale: run `npm run openapi`').toBe(
      true,
    );
  });

  it('names every detail-type and describes every field', () => {
    const doc = JSON.parse(renderEventsSchema());
    expect(Object.keys(doc['x-detail-types'])).toEqual([...GENERIC_DETAIL_TYPES]);
    for (const def of ['SessionEventDetail', 'ProductEventBody']) {
      for (const [name, property] of Object.entries(
        doc.$defs[def].properties as Record<string, { description?: string }>,
      ))
        expect(property.description, `${def}.${name}`).toBeTruthy();
    }
    expect(doc.$defs.ProductEventBody.required).toEqual(
      expect.arrayContaining(['id', 'type', 'time', 'sessionId']),
    );
  });

  it('describes the generic fixtures in events/', () => {
    for (const name of ['session-stalled.json', 'session-recovered.json']) {
      const event = JSON.parse(readFileSync(join(REPO_ROOT, 'events', name), 'utf8'));
      expect(GENERIC_DETAIL_TYPES).toContain(event['detail-type']);
      expect(safeParse(sessionEventDetailSchema(), event.detail).success, name).toBe(true);
    }
  });
});

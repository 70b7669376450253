// The route table is what CDK builds the REST API from: unique routes under /v1, reads that are GETs,
// and a module light enough for the CDK app (no AWS SDK, no use cases).
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { createAdminBindings } from '../../shared/api/admin-bindings.ts';
import { createBindings } from '../../shared/api/bindings.ts';
import { createHookBindings, createIngestBindings } from '../../shared/events/bindings.ts';
import { createPublicBindings } from '../../shared/public/bindings.ts';
import { DEFAULT_GUARD } from '../../shared/reputation/guard.ts';

const BINDINGS = {
  ...createBindings(async () => ({})),
  ...createAdminBindings(async () => {}),
  ...createPublicBindings({
    secrets: {
      unsubscribeKey: async () => 'k'.repeat(32),
      twilio: async () => ({ accountSid: '', authToken: '' }),
    },
    guard: DEFAULT_GUARD,
  }),
  ...createIngestBindings({ abandonAfterMinutes: 60 }),
  ...createHookBindings({
    abandonAfterMinutes: 60,
    secrets: { stripe: async () => 's'.repeat(16), shopify: async () => 's'.repeat(16) },
  }),
};

import { ROUTE, ROUTES } from '../../shared/api/routes.ts';
import { ROUTE_WORDS } from '../../shared/domain/session-input.ts';

describe('route table', () => {
  it('names every static word of its paths in ROUTE_WORDS, which registration refuses as a session id', () => {
    // Act
    const words = new Set(
      ROUTES.flatMap((r) => r.path.split('/')).filter((segment) => segment && !segment.startsWith('{')),
    );
    // Assess
    expect([...ROUTE_WORDS].sort()).toEqual([...words].sort());
  });

  it('declares each method and path once, under /v1, with its id as key and a binding', () => {
    // Act
    const keys = ROUTES.map((r) => `${r.method} ${r.path}`);
    // Assess
    expect(new Set(keys).size).toBe(keys.length);
    for (const [id, route] of Object.entries(ROUTE)) {
      expect(route.id).toBe(id);
      expect(route.path.startsWith('/v1/')).toBe(true);
      expect(route.access === 'read').toBe(route.method === 'GET');
      expect(typeof (BINDINGS as Record<string, unknown>)[route.id]).toBe('function');
      // Public exactly under /v1/public/ (authorization NONE there, AWS_IAM everywhere else).
      expect(route.path.startsWith('/v1/public/')).toBe('public' in route);
    }
  });

  it('loads without the AWS SDK or any use case, so the CDK app can import it', async () => {
    // Act
    const result = await build({
      entryPoints: ['shared/api/routes.ts'],
      bundle: true,
      platform: 'node',
      format: 'esm',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile.inputs);
    // Assess
    expect(
      inputs.filter((i) => i.includes('@aws-sdk') || i.includes('usecases') || i.includes('repositories')),
    ).toEqual([]);
  });
});

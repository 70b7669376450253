// The OpenAPI document: valid OpenAPI 3.1 by a standard validator, every $ref resolving, and exactly the
// routes of the route table. Also checks that the API's request schemas name the same fields as the use
// cases' own schemas, so the two cannot drift apart silently.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import { describe, expect, it } from 'vitest';
import { renderOpenApiDocument } from '../../bin/openapi.ts';
import { REPO_ROOT } from '../../local/local-env.ts';
import { buildOpenApiDocument } from '../../shared/api/openapi.ts';
import { ROUTES } from '../../shared/api/routes.ts';
import {
  CreatePolicyBody,
  RegenerateBody,
  RegisterSessionBody,
  UpdateSessionBody,
} from '../../shared/api/schemas.ts';
import { PolicyRulesSchema } from '../../shared/domain/policy-input.ts';
import { OPENAPI_ASSET } from '../../shared/infra/assets.ts';
import { safeParse } from '../../shared/schema.ts';
import {
  RegenerateSchema,
  RegisterSessionSchema,
  UpdateSessionSchema,
} from '../../shared/usecases/sessions.ts';

function refsOf(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) for (const item of node) refsOf(item, out);
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string') out.push(v);
      else refsOf(v, out);
    }
  }
  return out;
}

describe('OpenAPI document', () => {
  it('passes the OpenAPI 3.1 schema validation and resolves every $ref', async () => {
    // Prepare
    const doc = buildOpenApiDocument();
    const validator = new Validator();
    // Act
    const result = await validator.validate(doc);
    // Assess
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
    const components = (doc.components as { schemas: Record<string, unknown> }).schemas;
    for (const ref of refsOf(doc)) {
      expect(ref).toMatch(/^#\/components\/schemas\//);
      expect(components[ref.replace('#/components/schemas/', '')], ref).toBeDefined();
    }
    expect(() => validator.resolveRefs()).not.toThrow();
  });

  it('uses a validator that does refuse a broken document (the check above is not vacuous)', async () => {
    // Prepare
    const doc = buildOpenApiDocument();
    const broken = { ...doc, paths: { '/v1/x': { get: { responses: { 200: { content: 'nope' } } } } } };
    // Act
    const result = await new Validator().validate(broken);
    // Assess
    expect(result.valid).toBe(false);
  });

  it('lists exactly the routes of the route table, with their statuses', () => {
    // Prepare
    const doc = buildOpenApiDocument();
    const paths = doc.paths as Record<
      string,
      Record<string, { operationId: string; responses: Record<string, unknown> }>
    >;
    // Act
    const documented = Object.entries(paths).flatMap(([path, item]) =>
      Object.entries(item).map(([method, op]) => ({ key: `${method.toUpperCase()} ${path}`, op })),
    );
    // Assess
    expect(documented.map((d) => d.key).sort()).toEqual(ROUTES.map((r) => `${r.method} ${r.path}`).sort());
    for (const route of ROUTES) {
      const op = paths[route.path]?.[route.method.toLowerCase()];
      expect(op?.operationId).toBe(route.id);
      const statuses = [...route.responses.map((r) => r.status), ...route.errors].map(String);
      expect(Object.keys(op?.responses ?? {})).toEqual(expect.arrayContaining(statuses));
    }
  });

  it('is the document the API Lambda ships (docs/openapi.json): regenerate with `npm run openapi`', () => {
    // Prepare
    const shipped = readFileSync(join(REPO_ROOT, OPENAPI_ASSET.from), 'utf8');
    // Act
    const generated = renderOpenApiDocument();
    // Assess
    expect(shipped === generated, 'docs/openapi.json is stale: run `npm run openapi`').toBe(true);
  });

  it('describes every field of a request body, its bounds and its descriptions', () => {
    // Prepare
    const doc = buildOpenApiDocument();
    const schemas = (doc.components as { schemas: Record<string, Record<string, unknown>> }).schemas;
    // Act
    const replay = schemas.ReplayDlqRequest as {
      properties: Record<string, Record<string, unknown>>;
      additionalProperties?: unknown;
    };
    // Assess
    expect(Object.keys(replay.properties).sort()).toEqual(
      ['attemptId', 'cursor', 'dryRun', 'errorContains', 'force', 'limit', 'sessionId'].sort(),
    );
    expect(replay.properties.limit).toMatchObject({
      type: 'integer',
      minimum: 1,
      maximum: 1000,
      default: 100,
    });
    expect(replay.properties.errorContains?.description).toMatch(/Case-insensitive/);
    expect(replay.additionalProperties).toBe(false);
  });

  it('documents query parameters, path parameters and If-Match from the schemas', () => {
    // Prepare
    const doc = buildOpenApiDocument();
    const paths = doc.paths as Record<string, Record<string, { parameters: Array<Record<string, unknown>> }>>;
    // Act
    const list = paths['/v1/sessions']?.get?.parameters ?? [];
    const patch = paths['/v1/sessions/{id}']?.patch?.parameters ?? [];
    // Assess
    expect(list.map((p) => p.name)).toEqual(['status', 'kind', 'orgId', 'recipient', 'limit', 'cursor']);
    expect(list.every((p) => p.required === false)).toBe(true);
    expect(patch).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'id', in: 'path', required: true }),
        expect.objectContaining({ name: 'If-Match', in: 'header' }),
      ]),
    );
  });
});

describe('request schemas and use-case schemas', () => {
  it('name the same fields, so a field added to a use case shows up as a test failure here', () => {
    // Prepare
    const pairs = [
      [RegisterSessionBody, RegisterSessionSchema],
      [UpdateSessionBody, UpdateSessionSchema],
      [RegenerateBody, RegenerateSchema],
    ] as const;
    // Assess
    for (const [api, usecase] of pairs)
      expect(Object.keys(api.entries).sort()).toEqual(Object.keys(usecase.entries).sort());
    expect(Object.keys(CreatePolicyBody.entries).sort()).toEqual(
      [...Object.keys(PolicyRulesSchema.entries), 'name', 'orgId', 'active'].sort(),
    );
  });

  it('accept no body that the use case would refuse', () => {
    // Prepare
    const bodies = [
      { sessionId: 'a', kind: 'k', status: 'stalled' },
      {
        sessionId: 'b.c:d-e_f',
        kind: 'upload',
        status: 'processing',
        orgId: 'acme',
        contact: { email: 'x@example.com', phone: '+14155550100', timezone: 'Europe/Paris' },
        recoveryUrl: 'https://example.com/r/1',
        sizeBytes: 1024,
        processingStartedAt: '2026-03-02T10:00:00+01:00',
        metadata: { a: [1, { b: null }] },
      },
    ];
    // Assess
    for (const b of bodies) {
      expect(safeParse(RegisterSessionBody, b).success).toBe(true);
      expect(safeParse(RegisterSessionSchema, b).success).toBe(true);
    }
  });
});

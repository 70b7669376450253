// A first deploy that can be retried (#20): what keeps data is retained on delete and replacement but not
// after a failed create (RetainExceptOnCreate), so the rollback of a failed first create removes every
// fixed-name resource it made and the retry does not fail with "already exists"; DLQs follow the configured
// policy like the data; deletion protection is switched on only after everything else was created.
import { describe, expect, it } from 'vitest';
import { type CfnTemplate, CUSTOM_RESOURCE_PROVIDER_ID, props, resourcesOfType, synth } from './synth.ts';

const retained = synth({ enabledChannels: 'email', sesFromAddress: 'notifications@example.com' });
const destroyed = synth({ removalPolicy: 'destroy' });

const KEPT_TYPES = [
  'AWS::DynamoDB::Table',
  'AWS::SecretsManager::Secret',
  'AWS::SQS::Queue',
  'AWS::Logs::LogGroup',
];

/** A resource whose name is fixed in the template: a leftover of it makes the next create fail. */
function hasFixedName(properties: Record<string, unknown>): boolean {
  return Object.entries(properties).some(([k, v]) => /Name$/.test(k) && typeof v === 'string');
}

describe('removalPolicy retain (the default)', () => {
  it('keeps tables, secrets, queues (DLQs above all) and log groups, except after a failed create', () => {
    for (const type of KEPT_TYPES) {
      const found = resourcesOfType(retained.json, type);
      expect(found.length, type).toBeGreaterThan(0);
      for (const [id, r] of found) {
        expect(r.DeletionPolicy, id).toBe('RetainExceptOnCreate');
        expect(r.UpdateReplacePolicy, id).toBe('Retain');
      }
    }
    const dlqs = resourcesOfType(retained.json, 'AWS::SQS::Queue').filter(([, q]) =>
      String(props(q).QueueName).endsWith('-dlq'),
    );
    // One per channel (5), per job (2), receipts' and the events'.
    expect(dlqs.length).toBe(9);
  });

  it('retains nothing with a fixed name on a failed create', () => {
    const blocking = Object.entries(retained.json.Resources).filter(
      ([, r]) => r.DeletionPolicy === 'Retain' && hasFixedName(props(r)),
    );
    expect(blocking.map(([id]) => id)).toEqual([]);
  });

  it('creates the tables unprotected and protects them last, after every other resource', () => {
    const { json } = retained;
    const tables = resourcesOfType(json, 'AWS::DynamoDB::Table');
    expect(tables).toHaveLength(3);
    for (const [id, table] of tables) expect(props(table).DeletionProtectionEnabled, id).toBeUndefined();

    const protections = resourcesOfType(json, 'Custom::TableDeletionProtection');
    expect(protections).toHaveLength(3);
    const others = Object.keys(json.Resources).filter(
      (id) =>
        !id.startsWith('TableDeletionProtection') &&
        // AwsCustomResource's singleton provider, which the protection runs on.
        !id.startsWith(CUSTOM_RESOURCE_PROVIDER_ID),
    );
    expect(others.length).toBeGreaterThan(100);
    const tableNames = tables.map(([, t]) => props(t).TableName);
    const calledOn: unknown[] = [];
    for (const [id, protection] of protections) {
      const dependsOn = new Set(protection.DependsOn as string[]);
      expect(
        others.filter((o) => !dependsOn.has(o)),
        id,
      ).toEqual([]);
      const create = JSON.parse(JSON.stringify(props(protection).Create)) as unknown;
      const call = sdkCall(json, create);
      expect(call).toMatchObject({ action: 'UpdateTable', parameters: { DeletionProtectionEnabled: true } });
      calledOn.push(call.parameters.TableName);
      // Runs again on an update: the same call (with the table definition's digest in its id).
      expect(sdkCall(json, props(protection).Update)).toEqual(call);
    }
    expect(calledOn.sort()).toEqual([...tableNames].sort());
  });
});

describe('removalPolicy destroy (throwaway stages)', () => {
  it('deletes tables, secrets and queues with the stack, and adds no deletion protection', () => {
    for (const type of KEPT_TYPES.slice(0, 3)) {
      for (const [id, r] of resourcesOfType(destroyed.json, type))
        expect(r.DeletionPolicy, id).toBe('Delete');
    }
    expect(resourcesOfType(destroyed.json, 'Custom::TableDeletionProtection')).toEqual([]);
  });
});

/** The SDK call of an AwsCustomResource's Create/Update property (a Fn::Join of JSON with refs to names). */
function sdkCall(
  json: CfnTemplate,
  value: unknown,
): { action: string; parameters: { TableName: string; DeletionProtectionEnabled: boolean } } {
  const join = (value as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  const text = join
    ? join[1]
        .map((part) => {
          if (typeof part === 'string') return part;
          const ref = (part as { Ref?: string }).Ref;
          return String(props(json.Resources[ref ?? ''] ?? { Type: '' }).TableName ?? ref);
        })
        .join('')
    : String(value);
  return JSON.parse(text);
}

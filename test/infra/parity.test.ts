// What deploys is what runs locally: the stack's tables, queues, schedules and API routes are compared with
// what the local runtime creates from the same descriptions (local/resources.ts `tableInput`, queue names
// and attributes, job rates, the route table).
import { describe, expect, it } from 'vitest';
import { tableInput } from '../../local/resources.ts';
import { ROUTES, routesOf } from '../../shared/api/routes.ts';
import {
  CHANNEL_QUEUES,
  JOB_DESCRIPTIONS,
  JOBS,
  queueName,
  TABLES,
  visibilityTimeoutSeconds,
} from '../../shared/infra/resources.ts';
import { type CfnTemplate, props, refOf, resourcesOfType, synth } from './synth.ts';

const PREFIX = 'session-recovery-dev';
const { template, json } = synth();

type Keyed = { AttributeName: string };
const byName = <T extends Keyed>(items: readonly T[] | undefined) =>
  [...(items ?? [])].sort((a, b) => a.AttributeName.localeCompare(b.AttributeName));

function deployedTable(t: CfnTemplate, name: string) {
  const found = resourcesOfType(t, 'AWS::DynamoDB::Table').find(([, r]) => props(r).TableName === name);
  if (!found) throw new Error(`no table ${name} in the template`);
  return found[1];
}

describe('tables', () => {
  it('deploys exactly the tables the local runtime creates', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', TABLES.length);
  });

  for (const description of TABLES) {
    it(`${description.id}: same keys, attributes and GSIs as local/resources.ts`, () => {
      // Prepare
      const local = tableInput(PREFIX, description);
      // Act
      const deployed = props<{
        KeySchema: unknown[];
        AttributeDefinitions: Keyed[];
        GlobalSecondaryIndexes?: { IndexName: string; KeySchema: unknown[]; Projection: unknown }[];
        BillingMode: string;
      }>(deployedTable(json, local.TableName!));
      // Assess
      expect(deployed.KeySchema).toEqual(local.KeySchema);
      expect(byName(deployed.AttributeDefinitions)).toEqual(byName(local.AttributeDefinitions as Keyed[]));
      expect(deployed.BillingMode).toBe(local.BillingMode);
      const sortIndexes = <T extends { IndexName?: string }>(xs: readonly T[] | undefined) =>
        [...(xs ?? [])].sort((a, b) => (a.IndexName ?? '').localeCompare(b.IndexName ?? ''));
      expect(sortIndexes(deployed.GlobalSecondaryIndexes)).toEqual(sortIndexes(local.GlobalSecondaryIndexes));
    });
  }

  it('keeps every table recoverable: PITR, encryption, retained on delete (deletion protection: retain.test.ts)', () => {
    for (const [id, table] of resourcesOfType(json, 'AWS::DynamoDB::Table')) {
      expect(props(table).PointInTimeRecoverySpecification, id).toEqual({ PointInTimeRecoveryEnabled: true });
      expect(props(table).SSESpecification, id).toEqual({ SSEEnabled: true });
      expect(table.DeletionPolicy, id).toBe('RetainExceptOnCreate');
      expect(table.UpdateReplacePolicy, id).toBe('Retain');
    }
  });

  it('expires transient items on the attribute the description names', () => {
    for (const description of TABLES) {
      const ttl = props(deployedTable(json, `${PREFIX}-${description.id}`)).TimeToLiveSpecification;
      expect(ttl, description.id).toEqual(
        description.ttlAttribute ? { AttributeName: description.ttlAttribute, Enabled: true } : undefined,
      );
    }
  });
});

describe('queues', () => {
  it('deploys each channel queue with the local name, visibility and redrive to the local DLQ name', () => {
    const queues = resourcesOfType(json, 'AWS::SQS::Queue');
    const byQueueName = new Map(queues.map(([id, q]) => [props(q).QueueName as string, { id, q }]));
    for (const queue of CHANNEL_QUEUES) {
      const main = byQueueName.get(queueName(PREFIX, queue));
      const dlq = byQueueName.get(queueName(PREFIX, queue, true));
      expect(main, queue.channel).toBeDefined();
      expect(dlq, queue.channel).toBeDefined();
      expect(props(main!.q).VisibilityTimeout).toBe(visibilityTimeoutSeconds(queue));
      const redrive = props<{ RedrivePolicy: { deadLetterTargetArn: unknown; maxReceiveCount: number } }>(
        main!.q,
      ).RedrivePolicy;
      expect(refOf(redrive.deadLetterTargetArn)).toBe(dlq!.id);
      expect(redrive.maxReceiveCount).toBe(queue.maxReceiveCount);
    }
  });

  it('consumes each channel queue with the batch size and concurrency of its description', () => {
    for (const queue of CHANNEL_QUEUES) {
      const [queueId] = resourcesOfType(json, 'AWS::SQS::Queue').find(
        ([, q]) => props(q).QueueName === queueName(PREFIX, queue),
      )!;
      const mapping = resourcesOfType(json, 'AWS::Lambda::EventSourceMapping').find(
        ([, m]) => refOf(props(m).EventSourceArn) === queueId,
      );
      expect(mapping, queue.channel).toBeDefined();
      expect(props(mapping![1]).BatchSize).toBe(queue.batchSize);
      expect(props(mapping![1]).ScalingConfig).toEqual({ MaximumConcurrency: queue.maxConcurrency });
    }
  });
});

describe('schedules', () => {
  it('runs each job at the rate of its description, with the handler the local runtime times', () => {
    for (const job of JOBS) {
      const description = JOB_DESCRIPTIONS[job];
      const [, rule] = resourcesOfType(json, 'AWS::Events::Rule').find(
        ([, r]) => props(r).Name === `${PREFIX}-${job}`,
      )!;
      const unit = description.rateMinutes === 1 ? 'minute' : 'minutes';
      expect(props(rule).ScheduleExpression).toBe(`rate(${description.rateMinutes} ${unit})`);
      const target = props<{ Targets: { Arn: unknown }[] }>(rule).Targets[0]!;
      const fn = json.Resources[refOf(target.Arn) ?? '']!;
      expect(props(fn).FunctionName).toBe(`${PREFIX}-${description.handler}`);
      expect(props(fn).Timeout).toBe(description.timeoutSeconds);
    }
  });
});

describe('routes', () => {
  /** `METHOD /full/path` of every API Gateway method, rebuilt from the resource tree. */
  function deployedRoutes(): string[] {
    const pathOf = (id: string | undefined): string => {
      const resource = id ? json.Resources[id] : undefined;
      if (resource?.Type !== 'AWS::ApiGateway::Resource') return '';
      const p = props<{ ParentId: unknown; PathPart: string }>(resource);
      return `${pathOf(refOf(p.ParentId))}/${p.PathPart}`;
    };
    return resourcesOfType(json, 'AWS::ApiGateway::Method')
      .map(([, m]) => `${props(m).HttpMethod} ${pathOf(refOf(props(m).ResourceId)) || '/'}`)
      .sort();
  }

  it('deploys one method per route of shared/api/routes.ts, and no other', () => {
    const declared = ROUTES.map((r) => `${r.method} ${r.path}`).sort();
    expect(deployedRoutes()).toEqual(declared);
  });

  it('sends each route to the function the route table names, which API Gateway may invoke', () => {
    // Prepare: the logical id of each API function, found by its physical name.
    const lambdaIds = new Map(
      resourcesOfType(json, 'AWS::Lambda::Function').map(([id, r]) => [String(props(r).FunctionName), id]),
    );
    const idOf = (fn: string) => lambdaIds.get(`${PREFIX}-${fn}`);
    // Act: per method, the function its integration URI names.
    const methods = resourcesOfType(json, 'AWS::ApiGateway::Method');
    const targetOf = (m: (typeof methods)[number][1]) =>
      JSON.stringify(props<{ Integration: unknown }>(m).Integration).match(/"([A-Za-z0-9]+)","Arn"/)?.[1];
    const targets = methods.map(([, m]) => targetOf(m));
    const permitted = resourcesOfType(json, 'AWS::Lambda::Permission')
      .filter(([, r]) => props(r).Principal === 'apigateway.amazonaws.com')
      .map(([, r]) => refOf(props<{ FunctionName: unknown }>(r).FunctionName));
    // Assess
    for (const fn of ['api', 'api-admin'] as const) {
      expect(targets.filter((t) => t === idOf(fn)).length, fn).toBe(routesOf(fn).length);
      expect(permitted, fn).toContain(idOf(fn));
    }
    expect(targets.length).toBe(ROUTES.length);
  });
});

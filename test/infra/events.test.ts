// Product events in the template (#14): the stage's bus and its three rules to the ingest function with their
// DLQ and retries, the events DLQ's alarm, the ingest function's grants, the checkout timer queue and its
// mapping, POST /v1/events behind AWS_IAM and the two webhook routes with authorization NONE, and the
// partner event buses when their sources are configured.
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { ROUTE } from '../../shared/api/routes.ts';
import { GENERIC_DETAIL_TYPES } from '../../shared/events/generic.ts';
import { STRIPE_EVENT_TYPES } from '../../shared/events/stripe.ts';
import { ALL_CHANNELS_CONTEXT, props, refOf, resourcesOfType, synth } from './synth.ts';

const { template, json, stack } = synth(ALL_CHANNELS_CONTEXT);
const ingestId = stack.getLogicalId(stack.functions.ingest?.node.defaultChild as never);
const busId = stack.getLogicalId(stack.eventBus.node.defaultChild as never);
const dlqId = stack.getLogicalId(stack.eventsDeadLetterQueue.node.defaultChild as never);

function rulesOnBus() {
  return resourcesOfType(json, 'AWS::Events::Rule').filter(([, r]) => refOf(props(r).EventBusName) === busId);
}

describe('the event bus', () => {
  it('is one bus per stage', () => {
    template.hasResourceProperties('AWS::Events::EventBus', { Name: 'session-recovery-dev-events' });
  });

  it('routes generic, Stripe and Shopify events to the ingest function, each with retries and the events DLQ', () => {
    const rules = rulesOnBus();
    expect(rules).toHaveLength(3);
    const patterns = rules.map(([, r]) => props<{ EventPattern: Record<string, unknown> }>(r).EventPattern);
    expect(patterns).toContainEqual({ 'detail-type': [...GENERIC_DETAIL_TYPES] });
    expect(patterns).toContainEqual({
      source: [{ prefix: 'aws.partner/stripe.com/' }],
      'detail-type': [...STRIPE_EVENT_TYPES],
    });
    expect(patterns).toContainEqual({
      source: [{ prefix: 'aws.partner/shopify.com/' }],
      'detail-type': ['shopifyWebhook'],
      detail: { metadata: { 'X-Shopify-Topic': ['checkouts/create', 'checkouts/update', 'orders/create'] } },
    });
    for (const [id, rule] of rules) {
      expect(props(rule).Targets, id).toEqual([
        expect.objectContaining({
          Arn: { 'Fn::GetAtt': [ingestId, 'Arn'] },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [dlqId, 'Arn'] } },
          RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 86_400 },
        }),
      ]);
    }
  });

  it('sends failed invocations and failed checkout timers to the same DLQ, whose alarm pages', () => {
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: ingestId },
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [dlqId, 'Arn'] } } },
    });
    template.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'session-recovery-dev-checkout-timers',
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] }, maxReceiveCount: 5 },
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'session-recovery-dev-events-dlq',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlqId, 'QueueName'] } }],
      Threshold: 1,
      AlarmActions: Match.anyValue(),
    });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: ingestId },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it('forwards configured partner event sources from their partner buses to the stage bus', () => {
    const source = 'aws.partner/stripe.com/ed_test_61RmD8XnUqZ0k7wKp16RmD8X2bT0Qk4mYwS9c1a2b3c4';
    const partner = synth({ ...ALL_CHANNELS_CONTEXT, stripeEventSourceName: source }, { routes: null });
    partner.template.hasResourceProperties('AWS::Events::EventBus', {
      Name: source,
      EventSourceName: source,
    });
    partner.template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: [source] },
      Targets: [Match.objectLike({ DeadLetterConfig: Match.anyValue(), RoleArn: Match.anyValue() })],
    });
  });
});

describe('the ingest function', () => {
  const fn = json.Resources[ingestId]!;
  const roleId = refOf(props<{ Role: unknown }>(fn).Role);
  const statements = resourcesOfType(json, 'AWS::IAM::Policy')
    .filter(([, p]) => (props<{ Roles: unknown[] }>(p).Roles ?? []).some((r) => refOf(r) === roleId))
    .flatMap(
      ([, p]) =>
        props<{ PolicyDocument: { Statement: Array<Record<string, unknown>> } }>(p).PolicyDocument.Statement,
    );
  const actions = statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]) as string[]);

  it('writes the three tables (no Scan, no index), sends to its timer queue, reads only the two webhook keys', () => {
    expect(actions).toEqual(
      expect.arrayContaining(['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query']),
    );
    expect(actions).not.toContain('dynamodb:Scan');
    expect(JSON.stringify(statements)).not.toContain('/index/');
    const sends = statements.filter((s) => JSON.stringify(s.Action).includes('sqs:SendMessage'));
    expect(JSON.stringify(sends.map((s) => s.Resource))).toContain('CheckoutTimerQueue');
    const secrets = JSON.stringify(statements.filter((s) => s.Action === 'secretsmanager:GetSecretValue'));
    expect(secrets).toContain('stripe-webhook-??????');
    expect(secrets).toContain('shopify-webhook-??????');
    expect(secrets).not.toContain('twilio');
    expect(actions).not.toContain('ses:SendEmail');
    const env = props<{ Environment: { Variables: Record<string, unknown> } }>(fn).Environment.Variables;
    expect(Object.keys(env)).toEqual(
      expect.arrayContaining([
        'SESSIONS_TABLE',
        'TIMELINE_TABLE',
        'CONTROL_TABLE',
        'CHECKOUT_TIMER_QUEUE_URL',
        'STRIPE_WEBHOOK_SECRET_NAME',
        'SHOPIFY_WEBHOOK_SECRET_NAME',
        'SHOPIFY_ABANDON_AFTER_MINUTES',
      ]),
    );
  });
});

describe('routes', () => {
  const methods = resourcesOfType(json, 'AWS::ApiGateway::Method');
  const pathOf = (resourceId: string | undefined): string => {
    const parts: string[] = [];
    let id = resourceId;
    while (id && json.Resources[id]?.Type === 'AWS::ApiGateway::Resource') {
      const p = props<{ PathPart: string; ParentId: unknown }>(json.Resources[id] as never);
      parts.unshift(p.PathPart);
      id = refOf(p.ParentId);
    }
    return `/${parts.join('/')}`;
  };
  const method = (path: string) =>
    methods
      .map(([, m]) =>
        props<{ HttpMethod: string; AuthorizationType: string; ResourceId: unknown; Integration: unknown }>(
          m,
        ),
      )
      .find((m) => m.HttpMethod === 'POST' && pathOf(refOf(m.ResourceId)) === path);

  it('puts POST /v1/events behind AWS_IAM and both webhooks at NONE, all served by the ingest function', () => {
    expect(method(ROUTE.postEvent.path)?.AuthorizationType).toBe('AWS_IAM');
    expect(method(ROUTE.stripeHook.path)?.AuthorizationType).toBe('NONE');
    expect(method(ROUTE.shopifyHook.path)?.AuthorizationType).toBe('NONE');
    for (const path of [ROUTE.postEvent.path, ROUTE.stripeHook.path, ROUTE.shopifyHook.path])
      expect(JSON.stringify(method(path)?.Integration), path).toContain(ingestId);
  });

  it('lets the operator policy call POST /v1/events, and names no webhook route in any policy', () => {
    const policies = JSON.stringify(resourcesOfType(json, 'AWS::IAM::ManagedPolicy'));
    expect(policies).toContain('/POST/v1/events');
    expect(policies).not.toContain('hooks/stripe');
  });
});

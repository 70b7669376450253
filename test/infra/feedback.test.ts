// Delivery feedback and consent in the template (#13): the SES configuration set and its EventBridge
// destination, the rule to the receipts function and its grants, the public routes (authorization NONE,
// throttled) against every other route (AWS_IAM), and the reputation alarms.
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { ROUTES } from '../../shared/api/routes.ts';
import { ALL_CHANNELS_CONTEXT, props, refOf, resourcesOfType, synth } from './synth.ts';

const { template, json, stack } = synth(ALL_CHANNELS_CONTEXT);
const receiptsId = stack.getLogicalId(stack.functions.receipts?.node.defaultChild as never);

describe('SES event publishing', () => {
  it('adds an EventBridge destination for every event the receipts read to the named (imported) set', () => {
    // `sesConfigurationSet` names an existing set: imported, not created (first-deploy.test.ts has both).
    template.resourceCountIs('AWS::SES::ConfigurationSet', 0);
    template.hasResourceProperties('AWS::SES::ConfigurationSetEventDestination', {
      ConfigurationSetName: 'session-recovery',
      EventDestination: {
        Enabled: true,
        EventBridgeDestination: { EventBusArn: Match.anyValue() },
        MatchingEventTypes: Match.arrayWith([
          'send',
          'delivery',
          'bounce',
          'complaint',
          'reject',
          'deliveryDelay',
          'renderingFailure',
        ]),
      },
    });
  });

  it('routes SES events of that configuration set to the receipts function, with a DLQ', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.ses'],
        'detail-type': Match.arrayWith(['Email Delivered', 'Email Bounced', 'Email Complaint Received']),
        detail: { mail: { tags: { 'ses:configuration-set': ['session-recovery'] } } },
      },
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [receiptsId, 'Arn'] },
          DeadLetterConfig: { Arn: Match.anyValue() },
          RetryPolicy: Match.anyValue(),
        }),
      ],
    });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: Match.anyValue() } },
    });
  });

  it('lets the email sender send only through the configuration set, with the unsubscribe key by name', () => {
    const email = stack.functions['sender-email'];
    const env = props<{ Environment: { Variables: Record<string, unknown> } }>(
      json.Resources[stack.getLogicalId(email?.node.defaultChild as never)] as never,
    ).Environment.Variables;
    expect(env.SES_CONFIGURATION_SET).toBe('session-recovery');
    expect(env.UNSUBSCRIBE_KEY_SECRET_NAME).toBe('session-recovery/dev/unsubscribe-key');
    expect(env.PUBLIC_BASE_URL).toBeDefined();
    expect(env).not.toHaveProperty('UNSUBSCRIBE_TOKEN_KEY');
  });
});

describe('the receipts function', () => {
  const fn = json.Resources[receiptsId];
  const env = props<{ Environment: { Variables: Record<string, unknown> }; Layers?: unknown[] }>(fn as never);

  it('names its tables, both keys by secret name and the public base URL, and reads secrets through the extension', () => {
    expect(Object.keys(env.Environment.Variables)).toEqual(
      expect.arrayContaining([
        'TIMELINE_TABLE',
        'CONTROL_TABLE',
        'TWILIO_SECRET_NAME',
        'UNSUBSCRIBE_KEY_SECRET_NAME',
        'PUBLIC_BASE_URL',
        'REPUTATION_PAUSE_BOUNCE_PERCENT',
      ]),
    );
    expect(env.Layers).toHaveLength(1);
  });

  it('is granted the timeline and control tables to write, the sessions table to read, and two secrets', () => {
    const roleId = refOf(props<{ Role: unknown }>(fn as never).Role);
    const statements = resourcesOfType(json, 'AWS::IAM::Policy')
      .filter(([, p]) => (props<{ Roles: unknown[] }>(p).Roles ?? []).some((r) => refOf(r) === roleId))
      .flatMap(
        ([, p]) =>
          props<{ PolicyDocument: { Statement: Array<Record<string, unknown>> } }>(p).PolicyDocument
            .Statement,
      );
    const actions = statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
    expect(actions).toContain('dynamodb:PutItem');
    expect(actions).toContain('secretsmanager:GetSecretValue');
    expect(actions).not.toContain('dynamodb:Scan');
    // SendMessage only to its own DLQ (the async invocations' failure destination).
    const sends = statements.filter((s) => JSON.stringify(s.Action).includes('sqs:SendMessage'));
    expect(JSON.stringify(sends.map((s) => s.Resource))).toContain('ReceiptsDeadLetterQueue');
    expect(sends).toHaveLength(1);
    const secretArns = JSON.stringify(statements.filter((s) => s.Action === 'secretsmanager:GetSecretValue'));
    expect(secretArns).toContain('twilio-??????');
    expect(secretArns).toContain('unsubscribe-key-??????');
  });
});

describe('public routes are their own surface', () => {
  const methods = resourcesOfType(json, 'AWS::ApiGateway::Method');
  const pathOf = (resourceId: string | undefined): string => {
    const parts: string[] = [];
    let id = resourceId;
    while (id && json.Resources[id]?.Type === 'AWS::ApiGateway::Resource') {
      const p = props<{ PathPart: string; ParentId: unknown }>(json.Resources[id] as never);
      parts.unshift(p.PathPart);
      id = refOf(p.ParentId) ?? (p.ParentId as { 'Fn::GetAtt'?: string[] })['Fn::GetAtt']?.[0];
    }
    return `/${parts.join('/')}`;
  };

  it('every method under /v1/public/ is NONE, every other method AWS_IAM, and the table agrees', () => {
    expect(methods).toHaveLength(ROUTES.length);
    const seen = methods.map(([, m]) => {
      const p = props<{ AuthorizationType: string; HttpMethod: string; ResourceId: unknown }>(m);
      return { path: pathOf(refOf(p.ResourceId)), method: p.HttpMethod, auth: p.AuthorizationType };
    });
    for (const method of seen) {
      expect(method.auth, `${method.method} ${method.path}`).toBe(
        method.path.startsWith('/v1/public/') ? 'NONE' : 'AWS_IAM',
      );
    }
    const publicRoutes = ROUTES.filter((r) => r.public).map((r) => `${r.method} ${r.path}`);
    expect(
      seen
        .filter((m) => m.auth === 'NONE')
        .map((m) => `${m.method} ${m.path}`)
        .sort(),
    ).toEqual(publicRoutes.sort());
    expect(publicRoutes.length).toBeGreaterThanOrEqual(4);
  });

  it('throttles each public route on its own (shield.test.ts: by caller), and names none in the IAM policies', () => {
    const stage = resourcesOfType(json, 'AWS::ApiGateway::Stage')[0]?.[1];
    const settings = props<{ MethodSettings: Array<Record<string, unknown>> }>(stage as never).MethodSettings;
    const publicSettings = settings.filter((s) => String(s.ResourcePath).includes('public'));
    expect(publicSettings).toHaveLength(ROUTES.filter((r) => r.public).length);
    for (const s of publicSettings)
      expect(s).toMatchObject(
        String(s.ResourcePath).includes('unsubscribe')
          ? { ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 }
          : { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
      );
    const policies = JSON.stringify(resourcesOfType(json, 'AWS::IAM::ManagedPolicy'));
    expect(policies).not.toContain('/public/');
  });

  it('puts the WAF over the whole stage, public routes included, when asked for', () => {
    synth({ ...ALL_CHANNELS_CONTEXT, apiWaf: true }).template.resourceCountIs(
      'AWS::WAFv2::WebACLAssociation',
      1,
    );
  });
});

describe('reputation alarms', () => {
  it('alarms at half of SES review thresholds, on a pause, and on the receipts DLQ', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'session-recovery-dev-email-bounce-rate',
      MetricName: 'BounceRate',
      Threshold: 2.5,
      Dimensions: Match.arrayWith([{ Name: 'channel', Value: 'email' }]),
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'session-recovery-dev-email-complaint-rate',
      MetricName: 'ComplaintRate',
      Threshold: 0.05,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'session-recovery-dev-email-sending-paused',
      MetricName: 'SendingPaused',
      Threshold: 1,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'session-recovery-dev-receipts-dlq',
      AlarmActions: Match.anyValue(),
    });
  });
});

// The admin API: SigV4 (AWS_IAM) on every method, logs and throttling on the stage, the read-only and
// operator policies split by each route's access level, WAF only when asked for.
import { Capture, Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { type ApiRoute, executeApiPath, routesMatchedBy } from '../../lib/constructs/admin-api.ts';
import { ROUTES as ROUTE_TABLE } from '../../shared/api/routes.ts';
import { type CfnTemplate, props, resourcesOfType, synth } from './synth.ts';

const ROUTES: ApiRoute[] = [
  { method: 'GET', path: '/v1/sessions', access: 'read' },
  { method: 'POST', path: '/v1/sessions', access: 'write' },
  { method: 'GET', path: '/v1/sessions/{id}', access: 'read' },
  { method: 'POST', path: '/v1/sessions/{id}/retry-now', access: 'write' },
  { method: 'GET', path: '/v1/health/readyz', access: 'read' },
];

const { template, json } = synth({}, { routes: ROUTES });
/** The stack as deployed: the whole route table of shared/api/routes.ts. */
const deployed = synth();
const withWaf = synth({ apiWaf: true }, { routes: ROUTES });

describe('methods', () => {
  it('creates one method per route, every one AWS_IAM and proxied to the API function', () => {
    template.resourceCountIs('AWS::ApiGateway::Method', ROUTES.length);
    template.allResourcesProperties('AWS::ApiGateway::Method', {
      AuthorizationType: 'AWS_IAM',
      Integration: { Type: 'AWS_PROXY' },
    });
  });

  it('requires the path parameters of a route', () => {
    template.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'POST',
      RequestParameters: { 'method.request.path.id': true },
    });
  });

  it('allows API Gateway to invoke the function through one API-scoped permission', () => {
    const permissions = resourcesOfType(json, 'AWS::Lambda::Permission').filter(
      ([, p]) => props(p).Principal === 'apigateway.amazonaws.com',
    );
    expect(permissions).toHaveLength(1);
  });
});

describe('stage', () => {
  it('writes access logs and error execution logs without bodies, and throttles', () => {
    const format = new Capture();
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'dev',
      AccessLogSetting: { DestinationArn: Match.anyValue(), Format: format },
      MethodSettings: [
        Match.objectLike({
          HttpMethod: '*',
          ResourcePath: '/*',
          LoggingLevel: 'ERROR',
          DataTraceEnabled: false,
          MetricsEnabled: true,
          ThrottlingRateLimit: 20,
          ThrottlingBurstLimit: 40,
        }),
      ],
    });
    // The caller's IAM ARN is the audit trail of every admin call.
    expect(JSON.parse(format.asString())).toMatchObject({ caller: '$context.identity.userArn' });
  });

  it('has no web ACL unless apiWaf is set, then one with managed rules and a rate limit on the stage', () => {
    template.resourceCountIs('AWS::WAFv2::WebACL', 0);
    withWaf.template.resourceCountIs('AWS::WAFv2::WebACLAssociation', 1);
    withWaf.template.hasResourceProperties('AWS::WAFv2::WebACL', {
      Scope: 'REGIONAL',
      Rules: Match.arrayWith([
        Match.objectLike({ Name: 'AWSManagedRulesCommonRuleSet' }),
        Match.objectLike({ Name: 'RatePerIp', Statement: { RateBasedStatement: Match.objectLike({}) } }),
      ]),
    });
  });
});

describe('caller policies', () => {
  function invokeResources(description: string, from: CfnTemplate = json): string[] {
    const [, policy] = resourcesOfType(from, 'AWS::IAM::ManagedPolicy').find(
      ([, p]) => props(p).Description === description,
    )!;
    const statements = props<{ PolicyDocument: { Statement: { Action: string; Resource: unknown }[] } }>(
      policy,
    ).PolicyDocument.Statement;
    expect(statements.every((s) => s.Action === 'execute-api:Invoke')).toBe(true);
    // `arn:…:<api>/<stage>/<METHOD>/<path>` → `METHOD /path`
    return statements
      .flatMap((s) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]))
      .map((r) => {
        const tail = (r as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1].at(-1) as string;
        const [, , method, ...path] = tail.split('/');
        return `${method} /${path.join('/')}`;
      })
      .sort();
  }

  it('grants the read policy exactly the read routes, and the operator policy every route', () => {
    const expected = (filter: (r: ApiRoute) => boolean) =>
      ROUTES.filter(filter)
        .map((r) => `${r.method} ${executeApiPath(r.path)}`)
        .sort();
    expect(invokeResources('Invoke the read routes of the session-recovery admin API')).toEqual(
      expected((r) => r.access === 'read'),
    );
    expect(invokeResources('Invoke every route of the session-recovery admin API')).toEqual(
      expected(() => true),
    );
  });

  it('grants the product policy register, update and read of a session, and no other route of the table', () => {
    const description =
      'Invoke the product routes of the session-recovery admin API: register, update and read sessions';
    const granted = invokeResources(description, deployed.json);
    expect(granted).toEqual([
      'GET /v1/sessions/*',
      'GET /v1/sessions/*/timeline',
      'PATCH /v1/sessions/*',
      'POST /v1/events',
      'POST /v1/sessions',
    ]);
    // By IAM's rules (`*` matches `/` too) the ARNs reach exactly the product routes, and none of these.
    const reached = granted
      .flatMap((g) => routesMatchedBy(g.replace(' ', ''), ROUTE_TABLE))
      .map((r) => `${r.method} ${r.path}`);
    expect([...new Set(reached)].sort()).toEqual([
      'GET /v1/sessions/{id}',
      'GET /v1/sessions/{id}/timeline',
      'PATCH /v1/sessions/{id}',
      'POST /v1/events',
      'POST /v1/sessions',
    ]);
    for (const operatorOnly of [
      'POST /v1/admin/dlq/{channel}/replay',
      'POST /v1/admin/jobs/{job}/pause',
      'POST /v1/admin/jobs/{job}/run',
      'POST /v1/sessions/reset-stuck',
      'POST /v1/sessions/{id}/retry-now',
      'POST /v1/sessions/{id}/recover',
      'POST /v1/recipients/{address}/suppressions',
      'DELETE /v1/recipients/{address}/suppressions/{channel}',
      'GET /v1/recipients/{address}',
      'POST /v1/retry/policies',
      'GET /v1/sessions',
    ])
      expect(reached).not.toContain(operatorOnly);
    expect(deployed.json.Outputs).toHaveProperty('ApiProductPolicyArn');
  });

  it('lets each policy of the deployed table reach, by IAM matching, only the routes of its level', () => {
    const reach = (description: string) =>
      [
        ...new Set(
          invokeResources(description, deployed.json)
            .flatMap((g) => routesMatchedBy(g.replace(' ', ''), ROUTE_TABLE))
            .map((r) => `${r.method} ${r.path}`),
        ),
      ].sort();
    const iam = ROUTE_TABLE.filter((r) => !r.public);
    expect(reach('Invoke the read routes of the session-recovery admin API')).toEqual(
      iam
        .filter((r) => r.access === 'read')
        .map((r) => `${r.method} ${r.path}`)
        .sort(),
    );
    expect(reach('Invoke every route of the session-recovery admin API')).toEqual(
      iam.map((r) => `${r.method} ${r.path}`).sort(),
    );
  });
});

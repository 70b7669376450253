// Every cdk-nag AwsSolutions finding this stack accepts, each acknowledged on the one resource it concerns,
// with the reason it is acceptable. Nothing is acknowledged stack-wide, and wildcard findings are
// acknowledged one resource string at a time, so a new resource or a new wildcard still fails synth.
import { Stack, Validations } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference.js';
import type { IConstruct } from 'constructs';
import { type AdminApi, routesMatchedBy } from './constructs/admin-api.ts';
import type { SessionRecoveryStack } from './session-recovery-stack.ts';

export interface Acknowledgement {
  readonly rule: string;
  readonly path: string;
  readonly reason: string;
}

let acknowledgements: Acknowledgement[] = [];

function acknowledge(construct: IConstruct, rule: string, reason: string): void {
  Validations.of(construct).acknowledge({ id: rule, reason });
  acknowledgements.push({ rule, path: construct.node.path, reason });
}

/** Acknowledges the accepted findings and returns them (for the tests and the deploy notes). */
export function acknowledgeNagFindings(stack: SessionRecoveryStack): readonly Acknowledgement[] {
  acknowledgements = [];
  for (const job of Object.values(stack.jobs)) {
    acknowledge(
      job.deadLetterQueue,
      'AwsSolutions-SQS3',
      'This queue is itself the dead-letter target of the EventBridge rule and of the Lambda async ' +
        'invocations of a job; a DLQ of a DLQ would only move the same messages once more. Its depth pages on-call.',
    );
  }
  acknowledge(
    stack.receiptsDeadLetterQueue,
    'AwsSolutions-SQS3',
    "This queue is itself the dead-letter target of the SES events rule and of the receipts function's async " +
      'invocations; a DLQ of a DLQ would only move the same events once more. Its depth pages on-call.',
  );
  if (stack.api) acknowledgeApi(stack.api);
  return acknowledgements;
}

function acknowledgeApi(api: AdminApi): void {
  const restApi = api.api;
  acknowledge(
    restApi,
    'AwsSolutions-APIG2',
    'API Gateway validates that path parameters are present; bodies are validated by the function with the ' +
      'same schemas that generate the OpenAPI document, answering 400 with a problem document that lists ' +
      'every bad field (API.md). Models in API Gateway would duplicate the schemas and answer in another format.',
  );
  for (const method of restApi.methods) {
    if (method.resource.path.startsWith('/v1/public/')) {
      acknowledge(
        method,
        'AwsSolutions-APIG4',
        'A public route (API.md): its callers are Twilio and mail recipients, who hold no AWS credentials. The ' +
          'function verifies each request itself (X-Twilio-Signature, an HMAC unsubscribe token) before it ' +
          'changes anything; the route has a throttle of its own and the optional WAF covers it.',
      );
    }
    acknowledge(
      method,
      'AwsSolutions-COG4',
      'Callers are operators and services with IAM principals: every method uses AWS_IAM (SigV4) as API.md ' +
        'requires, and the caller ARN becomes the audit trail. There is no user pool by design.',
    );
  }
  if (!api.webAcl) {
    acknowledge(
      restApi.deploymentStage,
      'AwsSolutions-APIG3',
      'WAF is opt-in (context apiWaf=true). Without it, API Gateway rejects every unsigned request before it ' +
        'reaches the function (AWS_IAM on every method) and stage throttling caps the volume.',
    );
  }
  const cloudWatchRole = restApi.node.tryFindChild('CloudWatchRole');
  if (cloudWatchRole) {
    acknowledge(
      cloudWatchRole,
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
      "The account-level role API Gateway uses to write execution logs; AWS's managed policy is the " +
        'documented one for it and is scoped to log groups API Gateway creates.',
    );
  }
  const policies = [api.readPolicy, api.operatorPolicy, ...(api.productPolicy ? [api.productPolicy] : [])];
  for (const policy of policies) {
    acknowledgeWildcards(
      policy,
      // `*` may stand only for a whole path segment of an execute-api ARN: a `{param}` of a route.
      (resource) =>
        resource.includes(':execute-api:') && /\/\*(\/|$)/.test(resource) && !/\*[^/]|[^/]\*/.test(resource),
      (resource) => wildcardReason(api, resource),
    );
  }
}

/**
 * What one execute-api wildcard grants, in words: every declared route it matches by IAM's rules (where `*`
 * also matches `/`, so a trailing `*` reaches deeper paths), found from the route table itself.
 */
function wildcardReason(api: AdminApi, resource: string): string {
  const marker = `/${api.stageName}/`;
  const at = resource.indexOf(marker);
  if (at < 0) throw new Error(`${resource}: not an execute-api ARN of stage ${api.stageName}`);
  const specifier = resource.slice(at + marker.length);
  const granted = routesMatchedBy(specifier, api.routes);
  if (granted.length === 0) throw new Error(`${resource} matches no declared route`);
  const params = [...new Set(granted.flatMap((r) => [...r.path.matchAll(/\{[^}]+\}/g)].map((m) => m[0])))];
  return (
    `\`${specifier}\` grants execute-api:Invoke on exactly ${granted.length === 1 ? 'one declared route' : `${granted.length} declared routes`}: ` +
    `${granted.map((r) => `${r.method} ${r.path}`).join(', ')}, for any value of ${params.join(', ')}. ` +
    "IAM's `*` matches any characters, `/` included, so every declared route under the pattern is listed " +
    'here (computed from the route table at synth); API Gateway answers 403 for any path not declared, and ' +
    'method and stage are fixed.'
  );
}

/** Acknowledges the IAM5 wildcard findings of one policy whose resources all pass `expected`; throws otherwise. */
function acknowledgeWildcards(
  policy: iam.ManagedPolicy,
  expected: (flattened: string) => boolean,
  reason: (flattened: string) => string,
): void {
  const stack = Stack.of(policy);
  const document = stack.resolve(policy.document) as { Statement?: { Resource?: unknown }[] };
  for (const statement of document.Statement ?? []) {
    const resources = Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];
    for (const resource of resources) {
      const flattened = flattenCfnReference(resource);
      if (!flattened.includes('*')) continue;
      if (!expected(flattened))
        throw new Error(`${policy.node.path}: unexpected wildcard resource ${flattened}`);
      acknowledge(policy, `AwsSolutions-IAM5[Resource::${flattened}]`, reason(flattened));
    }
  }
}

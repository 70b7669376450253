// A synthesized template's values as CloudFormation would deploy them: intrinsics (Ref, Fn::GetAtt, Fn::Join,
// Fn::Sub, Fn::FindInMap, Fn::Select, Fn::Split) resolved to realistic physical names and ARNs, so a size
// measured on the result is the size AWS measures. Generated names follow CloudFormation's pattern
// `<stack>-<logical id>-<13 characters>`, cut to the resource's maximum length, in a long region name.
import type { CfnResource } from './synth.ts';

export interface DeployTarget {
  readonly stackName: string;
  /** @default 'ap-southeast-2' (one of the longest region names) */
  readonly region?: string;
  /** @default '123456789012' */
  readonly account?: string;
}

interface Template {
  readonly Resources: Record<string, CfnResource>;
  readonly Mappings?: Record<string, Record<string, Record<string, unknown>>>;
}

/** Longest physical names CloudFormation generates, by type (its own name property wins when set). */
const NAME_LIMITS: Record<string, { readonly prop?: string; readonly max: number }> = {
  'AWS::DynamoDB::Table': { prop: 'TableName', max: 255 },
  'AWS::SQS::Queue': { prop: 'QueueName', max: 80 },
  'AWS::Lambda::Function': { prop: 'FunctionName', max: 64 },
  'AWS::IAM::Role': { prop: 'RoleName', max: 64 },
  'AWS::IAM::ManagedPolicy': { prop: 'ManagedPolicyName', max: 128 },
  'AWS::SNS::Topic': { prop: 'TopicName', max: 256 },
  'AWS::Events::EventBus': { prop: 'Name', max: 256 },
  'AWS::Events::Rule': { prop: 'Name', max: 64 },
  'AWS::Logs::LogGroup': { prop: 'LogGroupName', max: 512 },
  'AWS::SecretsManager::Secret': { prop: 'Name', max: 512 },
  'AWS::CloudWatch::Alarm': { prop: 'AlarmName', max: 255 },
  'AWS::SES::ConfigurationSet': { prop: 'Name', max: 64 },
};

export function deployedResolver(template: Template, target: DeployTarget) {
  const region = target.region ?? 'ap-southeast-2';
  const account = target.account ?? '123456789012';
  const partition = 'aws';

  const physicalName = (logicalId: string): string => {
    const resource = template.Resources[logicalId];
    if (!resource) throw new Error(`Ref to ${logicalId}, which the template does not define`);
    const limit = NAME_LIMITS[resource.Type];
    const given = limit?.prop ? resource.Properties?.[limit.prop] : undefined;
    if (given !== undefined) return String(resolve(given));
    const generated = `${target.stackName}-${logicalId}-ABCDEFGHIJKLM`;
    return generated.slice(0, limit?.max ?? 64);
  };

  const arn = (service: string, resource: string, withRegion = true) =>
    `arn:${partition}:${service}:${withRegion ? region : ''}:${account}:${resource}`;

  const ref = (name: string): unknown => {
    switch (name) {
      case 'AWS::Region':
        return region;
      case 'AWS::AccountId':
        return account;
      case 'AWS::Partition':
        return partition;
      case 'AWS::URLSuffix':
        return 'amazonaws.com';
      case 'AWS::StackName':
        return target.stackName;
      case 'AWS::StackId':
        return arn('cloudformation', `stack/${target.stackName}/12345678-1234-1234-1234-123456789012`);
      case 'AWS::NoValue':
        return undefined;
    }
    const resource = template.Resources[name];
    if (!resource) return `${name}-parameter-value`;
    const id = physicalName(name);
    switch (resource.Type) {
      case 'AWS::SQS::Queue':
        return `https://sqs.${region}.amazonaws.com/${account}/${id}`;
      case 'AWS::SNS::Topic':
        return arn('sns', id);
      case 'AWS::SecretsManager::Secret':
        return arn('secretsmanager', `secret:${id}-AbCdEf`);
      case 'AWS::IAM::ManagedPolicy':
        return arn('iam', `policy/${id}`, false);
      case 'AWS::ApiGateway::RestApi':
        return 'abcde12345';
      default:
        return id;
    }
  };

  const getAtt = (logicalId: string, attribute: string): unknown => {
    const resource = template.Resources[logicalId];
    if (!resource) throw new Error(`Fn::GetAtt of ${logicalId}, which the template does not define`);
    const id = physicalName(logicalId);
    const type = resource.Type;
    if (attribute === 'Arn') {
      switch (type) {
        case 'AWS::DynamoDB::Table':
          return arn('dynamodb', `table/${id}`);
        case 'AWS::SQS::Queue':
          return arn('sqs', id);
        case 'AWS::Lambda::Function':
          return arn('lambda', `function:${id}`);
        case 'AWS::IAM::Role':
          return arn('iam', `role/${id}`, false);
        case 'AWS::Events::Rule':
          return arn('events', `rule/${id}`);
        case 'AWS::Events::EventBus':
          return arn('events', `event-bus/${id}`);
        case 'AWS::Logs::LogGroup':
          return arn('logs', `log-group:${id}:*`);
        case 'AWS::CloudWatch::Alarm':
          return arn('cloudwatch', `alarm:${id}`);
        default:
          return arn(type.split('::')[1]?.toLowerCase() ?? 'unknown', id);
      }
    }
    if (attribute === 'StreamArn') return arn('dynamodb', `table/${id}/stream/2026-01-01T00:00:00.000`);
    if (attribute === 'QueueName' || attribute === 'Name') return id;
    if (attribute === 'QueueUrl') return `https://sqs.${region}.amazonaws.com/${account}/${id}`;
    if (attribute === 'RootResourceId') return 'abcdef1234';
    return `${id}-${attribute}`;
  };

  const sub = (text: string, vars: Record<string, unknown>): string =>
    text.replace(/\$\{([^}]+)\}/g, (_, name: string) => {
      if (name in vars) return String(resolve(vars[name]));
      const [logical, attribute] = name.split('.');
      return String(attribute ? getAtt(logical ?? '', attribute) : ref(name));
    });

  function resolve(value: unknown): unknown {
    if (Array.isArray(value)) return value.map(resolve).filter((v) => v !== undefined);
    if (!value || typeof value !== 'object') return value;
    const o = value as Record<string, unknown>;
    const [key] = Object.keys(o);
    const arg = key === undefined ? undefined : o[key];
    if (Object.keys(o).length === 1 && key !== undefined) {
      if (key === 'Ref') return ref(String(arg));
      if (key === 'Fn::GetAtt') {
        const [logical, attribute] = Array.isArray(arg) ? arg : String(arg).split('.');
        return getAtt(String(logical), String(attribute));
      }
      if (key === 'Fn::Join') {
        const [sep, parts] = arg as [string, unknown[]];
        return (resolve(parts) as unknown[]).join(sep);
      }
      if (key === 'Fn::Sub') {
        const [text, vars] = Array.isArray(arg)
          ? (arg as [string, Record<string, unknown>])
          : [String(arg), {}];
        return sub(text, vars);
      }
      if (key === 'Fn::Select') {
        const [index, list] = arg as [unknown, unknown];
        return (resolve(list) as unknown[])[Number(resolve(index))];
      }
      if (key === 'Fn::Split') {
        const [sep, text] = arg as [string, unknown];
        return String(resolve(text)).split(sep);
      }
      if (key === 'Fn::FindInMap') {
        const [map, top, second] = resolve(arg) as [string, string, string];
        const table = template.Mappings?.[map];
        const row = table?.[top] ?? Object.values(table ?? {})[0];
        return row?.[second];
      }
      if (key.startsWith('Fn::'))
        throw new Error(`${key} is not resolved here; add it to test/infra/deployed.ts`);
    }
    return Object.fromEntries(
      Object.entries(o)
        .map(([k, v]) => [k, resolve(v)] as const)
        .filter(([, v]) => v !== undefined),
    );
  }

  return { resolve, physicalName };
}

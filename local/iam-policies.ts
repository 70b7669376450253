// Each function's IAM role policies, taken from the stack exactly as `cdk synth` builds it (in process, with
// stub code instead of the esbuild bundles, which changes no grant), with every intrinsic resolved to a local
// ARN. Physical names are written with a `{{prefix}}` placeholder where the stack has its own prefix, so one
// extraction serves every local resource set: `local` for npm start, a random prefix per test file.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Annotations } from 'aws-cdk-lib';
import { createApp } from '../lib/app.ts';
import { resourcePrefix } from '../lib/config.ts';
import { SECRETS } from '../shared/infra/functions.ts';
import { type FunctionPolicies, type PolicyDocument, PREFIX_PLACEHOLDER } from './iam-gate.ts';
import {
  LOCAL_ACCOUNT,
  LOCAL_SES_CONFIGURATION_SET,
  LOCAL_SES_FROM_ADDRESS,
  REPO_ROOT,
} from './local-env.ts';

/** Context on top of cdk.json's: every channel enabled, with local mode's sender identity and settings. */
export const LOCAL_SYNTH_CONTEXT: Readonly<Record<string, unknown>> = {
  enabledChannels: 'email,slack,sms,whatsapp,webhook',
  sesFromAddress: LOCAL_SES_FROM_ADDRESS,
  sesConfigurationSet: LOCAL_SES_CONFIGURATION_SET,
  smsFromNumber: '+15005550006',
  whatsappFromNumber: '+15005550006',
  bundling: 'stub',
};

type Template = { Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }> };

/** Synthesizes the stack and extracts the policies; `edit` may change the template first (a test's variant). */
export function synthesizeFunctionPolicies(
  region: string,
  options: { edit?: (template: Template) => void } = {},
): FunctionPolicies {
  const cdkJson = JSON.parse(readFileSync(join(REPO_ROOT, 'cdk.json'), 'utf8')) as {
    context: Record<string, unknown>;
  };
  const { app, stack, config } = createApp({
    context: { ...cdkJson.context, ...LOCAL_SYNTH_CONTEXT },
    nag: false,
    cloudFormationValidation: false,
  });
  // Local mode holds every secret itself: the deploy warnings about secrets to create are not for npm start's log.
  for (const id of Object.keys(SECRETS)) {
    Annotations.of(stack).acknowledgeWarning(`session-recovery:secret-to-create:${id}`);
  }
  const template = app.synth().getStackByName(stack.stackName).template as Template;
  options.edit?.(template);
  const stackPrefix = resourcePrefix(config);
  const secretPrefix = `session-recovery/${config.stage}`;
  return extractFunctionPolicies(template, { region, account: LOCAL_ACCOUNT, stackPrefix, secretPrefix });
}

export function extractFunctionPolicies(
  template: Template,
  names: { region: string; account: string; stackPrefix: string; secretPrefix: string },
): FunctionPolicies {
  const resolver = new IntrinsicResolver(template, names.region, names.account);
  const local = (s: string) =>
    s
      .replaceAll(`${names.secretPrefix}/`, `${PREFIX_PLACEHOLDER}/`)
      .replaceAll(names.stackPrefix, PREFIX_PLACEHOLDER);
  const functions: Record<string, Record<string, PolicyDocument>> = {};
  const functionNames: Record<string, string> = {};
  for (const [, fn] of Object.entries(template.Resources)) {
    if (fn.Type !== 'AWS::Lambda::Function') continue;
    const name = String(fn.Properties?.FunctionName ?? '');
    if (!name.startsWith(`${names.stackPrefix}-`)) continue;
    const id = name.slice(names.stackPrefix.length + 1);
    const role = (fn.Properties?.Role as { 'Fn::GetAtt'?: [string, string] } | undefined)?.[
      'Fn::GetAtt'
    ]?.[0];
    if (!role) throw new Error(`function ${id} has no role of this stack`);
    const docs: Record<string, PolicyDocument> = {};
    const roleProps = template.Resources[role]?.Properties ?? {};
    for (const inline of (roleProps.Policies as Array<{ PolicyName: string; PolicyDocument: unknown }>) ?? [])
      docs[inline.PolicyName] = inline.PolicyDocument as PolicyDocument;
    if (((roleProps.ManagedPolicyArns as unknown[]) ?? []).length)
      throw new Error(
        `the role of ${id} has managed policy ARNs; local IAM cannot read AWS managed policies`,
      );
    for (const [logicalId, res] of Object.entries(template.Resources)) {
      if (res.Type !== 'AWS::IAM::Policy' && res.Type !== 'AWS::IAM::ManagedPolicy') continue;
      const roles = (res.Properties?.Roles as Array<{ Ref?: string }> | undefined) ?? [];
      if (roles.some((r) => r.Ref === role))
        docs[logicalId] = res.Properties?.PolicyDocument as PolicyDocument;
    }
    functions[id] = Object.fromEntries(
      Object.entries(docs).map(([k, doc]) => [k, JSON.parse(local(JSON.stringify(resolver.resolve(doc))))]),
    );
    functionNames[id] = local(name);
  }
  return { functions, functionNames, region: names.region, account: names.account };
}

/** Resolves Ref, Fn::GetAtt, Fn::Join and Fn::Sub to the strings AWS would see, with local names. */
class IntrinsicResolver {
  constructor(
    private readonly template: Template,
    private readonly region: string,
    private readonly account: string,
  ) {}

  resolve(value: unknown): unknown {
    if (Array.isArray(value)) return value.map((v) => this.resolve(v));
    if (!value || typeof value !== 'object') return value;
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj);
    if (keys.length === 1) {
      const [key] = keys as [string];
      const arg = obj[key];
      if (key === 'Ref') return this.ref(String(arg));
      if (key === 'Fn::GetAtt') {
        const [id, attr] = Array.isArray(arg) ? arg : String(arg).split('.');
        return this.getAtt(String(id), String(attr));
      }
      if (key === 'Fn::Join') {
        const [sep, parts] = arg as [string, unknown[]];
        return (this.resolve(parts) as unknown[]).map(String).join(sep);
      }
      if (key === 'Fn::Sub') return this.sub(arg);
      if (key.startsWith('Fn::')) throw new Error(`local IAM cannot resolve ${key} in a role policy`);
    }
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, this.resolve(v)]));
  }

  private sub(arg: unknown): string {
    const [text, vars] = Array.isArray(arg) ? (arg as [string, Record<string, unknown>]) : [String(arg), {}];
    return text.replace(/\$\{([^}]+)\}/g, (_, name: string) => {
      if (name in vars) return String(this.resolve(vars[name]));
      const dot = name.indexOf('.');
      return dot > 0 && !name.startsWith('AWS::')
        ? String(this.getAtt(name.slice(0, dot), name.slice(dot + 1)))
        : String(this.ref(name));
    });
  }

  private ref(id: string): string {
    switch (id) {
      case 'AWS::Partition':
        return 'aws';
      case 'AWS::Region':
        return this.region;
      case 'AWS::AccountId':
        return this.account;
      case 'AWS::URLSuffix':
        return 'amazonaws.com';
    }
    const res = this.resource(id);
    const p = res.Properties ?? {};
    switch (res.Type) {
      case 'AWS::SQS::Queue':
        return `https://sqs.${this.region}.amazonaws.com/${this.account}/${String(p.QueueName ?? id)}`;
      case 'AWS::SecretsManager::Secret':
        return this.getAtt(id, 'Arn');
      case 'AWS::SNS::Topic':
        return `arn:aws:sns:${this.region}:${this.account}:${String(p.TopicName ?? id)}`;
      default:
        return String(p.TableName ?? p.FunctionName ?? p.Name ?? p.QueueName ?? id);
    }
  }

  private getAtt(id: string, attr: string): string {
    const res = this.resource(id);
    const p = res.Properties ?? {};
    const r = this.region;
    const a = this.account;
    if (attr !== 'Arn') throw new Error(`local IAM cannot resolve Fn::GetAtt ${id}.${attr} in a role policy`);
    switch (res.Type) {
      case 'AWS::DynamoDB::Table':
        return `arn:aws:dynamodb:${r}:${a}:table/${String(p.TableName ?? id)}`;
      case 'AWS::SQS::Queue':
        return `arn:aws:sqs:${r}:${a}:${String(p.QueueName ?? id)}`;
      case 'AWS::Lambda::Function':
        return `arn:aws:lambda:${r}:${a}:function:${String(p.FunctionName ?? id)}`;
      case 'AWS::Logs::LogGroup':
        return `arn:aws:logs:${r}:${a}:log-group:${String(p.LogGroupName ?? id)}:*`;
      case 'AWS::Events::EventBus':
        return `arn:aws:events:${r}:${a}:event-bus/${String(p.Name ?? id)}`;
      case 'AWS::SecretsManager::Secret':
        // Secrets Manager appends six random characters; locally they are fixed.
        return `arn:aws:secretsmanager:${r}:${a}:secret:${String(p.Name ?? id)}-LOCAL0`;
      default:
        return `arn:aws:${res.Type.split('::')[1]?.toLowerCase()}:${r}:${a}:${id}`;
    }
  }

  private resource(id: string) {
    const res = this.template.Resources[id];
    if (!res) throw new Error(`a role policy refers to ${id}, which is not in the template`);
    return res;
  }
}

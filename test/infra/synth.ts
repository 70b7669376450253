// Synthesizes the stack the way `cdk synth` does (cdk.json context, feature flags, cdk-nag) but with stub
// code instead of nine esbuild bundles, and with helpers to walk the template. Each test file synthesizes
// once at module scope; synthesis is the slow part.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { createApp } from '../../lib/app.ts';
import type { ApiRoute } from '../../lib/constructs/admin-api.ts';
import { REPO_ROOT } from '../../lib/constructs/service-function.ts';
import type { SessionRecoveryStack } from '../../lib/session-recovery-stack.ts';

export const CDK_JSON_CONTEXT = (
  JSON.parse(readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }
).context;

/** Every channel enabled and configured and every optional setting given, so all grants and env are in the template. */
export const ALL_CHANNELS_CONTEXT = {
  enabledChannels: 'email,slack,sms,whatsapp,webhook',
  sesFromAddress: 'notifications@example.com',
  smsFromNumber: '+15550100001',
  whatsappFromNumber: '+15550100002',
  sesConfigurationSet: 'session-recovery',
  maxLongRunning: '5',
  timeoutRules: '{"transcription":{"baseMinutes":30,"perMbMinutes":0.5,"maxMinutes":240,"warnMinutes":20}}',
  opsAlertRecipients: '{"email":["ops@example.com"]}',
  onCallEmails: 'oncall@example.com',
  onCallHttpsUrls: 'https://pager.example.com/sns',
  publicBaseUrl: 'https://hooks.example.com/prod',
  shopifyOrgId: 'shop',
} as const;

export interface Synthesized {
  readonly stack: SessionRecoveryStack;
  readonly template: Template;
  /** The raw template JSON, for walks Template's matchers cannot express. */
  readonly json: CfnTemplate;
}

export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly DependsOn?: unknown;
  readonly DeletionPolicy?: string;
  readonly UpdateReplacePolicy?: string;
}

export interface CfnTemplate {
  readonly Resources: Record<string, CfnResource>;
  readonly Outputs?: Record<string, unknown>;
}

export interface SynthOptions {
  /** @default - ROUTES of shared/api/routes.ts; `null` for no API */
  readonly routes?: readonly ApiRoute[] | null;
  /** Run cdk-nag's AwsSolutions checks at synth. @default false */
  readonly nag?: boolean;
}

export function synth(context: Record<string, unknown> = {}, options: SynthOptions = {}): Synthesized {
  const { stack } = createApp({
    context: { ...CDK_JSON_CONTEXT, bundling: 'stub', ...context },
    routes: options.routes,
    nag: options.nag ?? false,
    // CDK's own template validation costs seconds per synth; `cdk synth` (and CI) always runs it.
    cloudFormationValidation: false,
  });
  // With `nag`, synthesis runs the cdk-nag plugin: an unacknowledged finding throws here.
  const template = Template.fromStack(stack);
  return { stack, template, json: template.toJSON() as CfnTemplate };
}

export function resourcesOfType(json: CfnTemplate, type: string): [string, CfnResource][] {
  return Object.entries(json.Resources).filter(([, r]) => r.Type === type);
}

/** `{ Ref: X }` or `{ 'Fn::GetAtt': [X, ...] }` → X. */
export function refOf(value: unknown): string | undefined {
  if (value && typeof value === 'object') {
    const v = value as Record<string, unknown>;
    if (typeof v.Ref === 'string') return v.Ref;
    const getAtt = v['Fn::GetAtt'];
    if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') return getAtt[0];
  }
  return undefined;
}

export function props<T = Record<string, unknown>>(resource: CfnResource): T {
  return (resource.Properties ?? {}) as T;
}

/** Construct id (and logical id prefix) of CDK's AwsCustomResource provider: the tables' deletion protection. */
export const CUSTOM_RESOURCE_PROVIDER_ID = 'AWS679f53fac002430cb0da5b7982bd2287';

/** The service's own functions: every Lambda function but the deploy-time custom resource provider. */
export function serviceFunctions(json: CfnTemplate): [string, CfnResource][] {
  return resourcesOfType(json, 'AWS::Lambda::Function').filter(
    ([id]) => !id.startsWith(CUSTOM_RESOURCE_PROVIDER_ID),
  );
}

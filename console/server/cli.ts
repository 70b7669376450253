// `session-recovery console [--stack NAME | --api URL] [--read-only] [--port N] [--region R] [--profile P]`:
// resolves the API (the stack's ApiUrl output, or the URL given), starts the signing proxy on 127.0.0.1
// and prints the URL to open, with this launch's token.
import { parseArgs } from 'node:util';
import * as v from 'valibot';
import { integer, numberFromText, safeParse, text } from '../../shared/schema.ts';

export const CONSOLE_USAGE = `usage: session-recovery console [--stack NAME | --api URL] [--read-only] [--port N] [--region R] [--profile P]

Serves the operator console on 127.0.0.1 against a deployed stack: every API call is signed with SigV4 using
your AWS credentials (the SDK's default chain: environment, profiles, SSO). The console can do what your IAM
identity may call; --read-only hides (and refuses) every write.

  --stack NAME    read the API URL from the stack's ApiUrl output (CloudFormation DescribeStacks)
  --api URL       the API's base URL, stage included, with or without /v1
                  (e.g. https://abc.execute-api.eu-west-1.amazonaws.com/prod/)
  --port N        local port (default: a free one)
  --region R      signing region (default: from the API URL, else AWS_REGION)
  --profile P     a named profile of your AWS config`;

const ArgsSchema = v.pipe(
  v.object({
    stack: v.optional(text(1, 128)),
    api: v.optional(
      v.pipe(v.string(), v.url('a URL such as https://abc.execute-api.eu-west-1.amazonaws.com/prod/')),
    ),
    'read-only': v.optional(v.boolean(), false),
    port: v.optional(numberFromText(integer(0, 65535)), 0),
    region: v.optional(
      v.pipe(v.string(), v.regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'an AWS region such as eu-west-1')),
    ),
    profile: v.optional(text(1, 128)),
    help: v.optional(v.boolean()),
  }),
  v.check(
    (a) => Boolean(a.help) || Boolean(a.stack) !== Boolean(a.api),
    'name the target: --stack NAME or --api URL (one of them)',
  ),
);

export class ConsoleUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** `https://abc.execute-api.eu-west-1.amazonaws.com/prod` → `eu-west-1`. */
export function regionOfApiUrl(url: string): string | undefined {
  return /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/.exec(new URL(url).hostname)?.[1];
}

async function apiUrlOfStack(
  stack: string,
  region: string | undefined,
  profile: string | undefined,
): Promise<string> {
  const { CloudFormationClient, DescribeStacksCommand } = await import('@aws-sdk/client-cloudformation');
  const { fromNodeProviderChain } = await import('@aws-sdk/credential-providers');
  const cfn = new CloudFormationClient({
    ...(region ? { region } : {}),
    credentials: fromNodeProviderChain(profile ? { profile } : {}),
  });
  const res = await cfn.send(new DescribeStacksCommand({ StackName: stack }));
  const url = res.Stacks?.[0]?.Outputs?.find((o) => o.OutputKey === 'ApiUrl')?.OutputValue;
  if (!url)
    throw new ConsoleUsageError(`stack ${stack} has no ApiUrl output (was it deployed with the API?)`);
  return url;
}

export async function runConsoleCommand(
  argv: string[],
  io: { out: (line: string) => void; err: (line: string) => void } = {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  },
): Promise<{ stop: () => Promise<void>; url: string } | undefined> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      stack: { type: 'string' },
      api: { type: 'string' },
      'read-only': { type: 'boolean' },
      port: { type: 'string' },
      region: { type: 'string' },
      profile: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const parsed = safeParse(ArgsSchema, values);
  if (!parsed.success) {
    throw new ConsoleUsageError(
      `${parsed.issues.map((i) => (i.path.length ? `--${i.path.map(String).join('.')}: ${i.message}` : i.message)).join('; ')}\n\n${CONSOLE_USAGE}`,
    );
  }
  const args = parsed.data;
  if (args.help) {
    io.out(CONSOLE_USAGE);
    return undefined;
  }
  const envRegion = process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  let apiUrl = args.api;
  if (args.stack) {
    io.err(`reading the API URL of stack ${args.stack} from CloudFormation…`);
    apiUrl = await apiUrlOfStack(args.stack, args.region ?? envRegion, args.profile);
  }
  if (!apiUrl) throw new ConsoleUsageError(CONSOLE_USAGE);
  const region = args.region ?? regionOfApiUrl(apiUrl) ?? envRegion;
  if (!region) throw new ConsoleUsageError('no signing region: pass --region or set AWS_REGION');
  const { fromNodeProviderChain } = await import('@aws-sdk/credential-providers');
  const { startConsoleProxy } = await import('./proxy.ts');
  const proxy = await startConsoleProxy({
    apiUrl,
    region,
    credentials: fromNodeProviderChain(args.profile ? { profile: args.profile } : {}),
    port: args.port,
    readOnly: args['read-only'],
  });
  io.out(`console for ${apiUrl} (region ${region}${args['read-only'] ? ', read only' : ''})`);
  io.out(`  open ${proxy.url}`);
  io.out('  (the token in this URL is this launch’s key: do not share it; Ctrl-C stops the console)');
  return { stop: proxy.stop, url: proxy.url };
}

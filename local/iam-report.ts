// `npm run iam-report`: per function, each action × resource its synthesized role grants, and whether any test
// exercised it (what local IAM's gate allowed during the last `npm test`, .local/iam-usage.json). A grant no test
// exercises either gets a test, is removed from the stack, or is listed below with the reason it must stay.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FunctionPolicies } from './iam-gate.ts';
import { REPO_ROOT } from './local-env.ts';

export const IAM_USAGE_FILE = join(REPO_ROOT, '.local', 'iam-usage.json');

/**
 * Grants no local path can exercise, and why they stay. Matched on the action, the function (where given,
 * by id prefix) and the resource (where given, a pattern on it); every entry must say what in AWS needs it.
 */
export const UNEXERCISED_BY_DESIGN: ReadonlyArray<{
  readonly action: string;
  readonly functionId?: string;
  readonly resource?: RegExp;
  readonly why: string;
}> = [
  {
    action: 'logs:CreateLogStream',
    why: "the Lambda runtime writes the function's logs to its own log group; nothing local does",
  },
  { action: 'logs:PutLogEvents', why: "the Lambda runtime writes the function's logs to its own log group" },
  {
    action: 'sqs:SendMessage',
    resource: /-(recovery-sweep|timeout-monitor|receipts|events)-dlq$/,
    why: "Lambda's asynchronous invocation sends an event that failed every retry to this DLQ with the function's role (its onFailure destination); no local path fails an async invoke",
  },
  // Lambda's SQS event source mapping polls with the function's role: `npm start`'s pollers do it with the
  // function's key, but tests call the handlers with the records directly.
  ...['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'].flatMap((action) => [
    {
      action,
      functionId: 'sender-',
      resource: /-(email|slack|sms|whatsapp|webhook)$/,
      why: "Lambda's event source mapping receives and deletes the sender's messages with its role (AWS's Lambda SQS docs: Receive, Delete, GetQueueAttributes); `npm start`'s pollers do the same with the function's key",
    },
    {
      action,
      functionId: 'ingest',
      resource: /-checkout-timers$/,
      why: "Lambda's event source mapping receives and deletes the checkout timers with the ingest role; `npm start`'s poller does the same with its key",
    },
  ]),
];

/** The reason an unexercised grant stays, if it is one of UNEXERCISED_BY_DESIGN. */
export function reasonToKeep(functionId: string, action: string, resource: string): string | undefined {
  return UNEXERCISED_BY_DESIGN.find(
    (r) =>
      r.action === action &&
      (!r.functionId || functionId.startsWith(r.functionId)) &&
      (!r.resource || r.resource.test(resource)),
  )?.why;
}

export interface GrantRow {
  readonly functionId: string;
  readonly action: string;
  readonly resource: string;
  readonly exercised: boolean;
  readonly why?: string;
}

function glob(pattern: string): RegExp {
  const escaped = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`);
}

const list = (v: string | string[] | undefined) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Every Allow action × resource of each function, against the allowed decisions recorded. */
export function grantRows(policies: FunctionPolicies, usage: Record<string, string[]>): GrantRow[] {
  const rows: GrantRow[] = [];
  for (const [functionId, docs] of Object.entries(policies.functions)) {
    const used = (usage[functionId] ?? []).map((entry) => {
      const space = entry.indexOf(' ');
      return { action: entry.slice(0, space), resource: entry.slice(space + 1) };
    });
    const seen = new Set<string>();
    for (const doc of Object.values(docs)) {
      for (const statement of doc.Statement) {
        if (statement.Effect !== 'Allow') continue;
        for (const action of list(statement.Action)) {
          for (const resource of list(statement.Resource)) {
            const key = `${action} ${resource}`;
            if (seen.has(key)) continue;
            seen.add(key);
            const actionRe = glob(action);
            const resourceRe = glob(resource);
            const exercised = used.some((u) => actionRe.test(u.action) && resourceRe.test(u.resource));
            const reason = exercised ? undefined : reasonToKeep(functionId, action, resource);
            rows.push({ functionId, action, resource, exercised, ...(reason ? { why: reason } : {}) });
          }
        }
      }
    }
  }
  return rows;
}

export function readUsage(
  file = IAM_USAGE_FILE,
): { writtenAt: string; allowed: Record<string, string[]> } | undefined {
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as { writtenAt: string; allowed: Record<string, string[]> };
}

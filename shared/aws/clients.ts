// AWS SDK clients. In Lambda they use the default chain; locally and in tests they are pointed at the
// emulators through explicit endpoints (fauxqs answers with QueueUrls on a host that does not resolve,
// and an explicit endpoint makes the SDK send there regardless of the QueueUrl's host).
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SESClient } from '@aws-sdk/client-ses';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export interface ClientEndpoints {
  readonly dynamodb?: string;
  readonly sqs?: string;
  readonly ses?: string;
  readonly region?: string;
  /**
   * Local credentials (only with an endpoint): a function's own key, which local IAM judges against its role
   * (local/iam-gate.ts). @default the operator's `local` key, an administrator
   */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

/** The operator's local key; these never leave the machine. */
const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

function localOptions(endpoints: ClientEndpoints, endpoint: string | undefined) {
  const { region } = endpoints;
  if (!endpoint) return region ? { region } : {};
  return {
    endpoint,
    region: region ?? 'us-east-1',
    credentials: endpoints.credentials ?? LOCAL_CREDENTIALS,
    maxAttempts: 3,
  };
}

export function createDynamoClient(endpoints: ClientEndpoints = {}): DynamoDBDocumentClient {
  const client = new DynamoDBClient(localOptions(endpoints, endpoints.dynamodb));
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  });
}

export function createSqsClient(endpoints: ClientEndpoints = {}): SQSClient {
  return new SQSClient(localOptions(endpoints, endpoints.sqs));
}

/**
 * SES with the SDK's retries off: SendEmail is not idempotent, so a retry after a lost answer is a second
 * email. The sender's own protocol decides on another try (at most two possible sends per notification).
 */
export function createSesClient(endpoints: ClientEndpoints = {}): SESClient {
  return new SESClient({ ...localOptions(endpoints, endpoints.ses), maxAttempts: 1 });
}

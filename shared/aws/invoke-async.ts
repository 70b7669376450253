// An asynchronous Lambda invocation (`InvocationType: Event`) as one SigV4-signed HTTPS call, with the SDK's
// own signer and the credentials and region the DynamoDB client already resolved: the Lambda client would
// add more to the sweep's bundle than its budget allows, for this one call.
import { createHash, createHmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, Provider } from '@smithy/types';

type Data = string | ArrayBuffer | ArrayBufferView;

function bytes(data: Data): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

/** SHA-256 (or HMAC-SHA256 with a secret) in the shape the signer takes. */
class NodeSha256 {
  private hash;
  constructor(private readonly secret?: Data) {
    this.hash = secret ? createHmac('sha256', bytes(secret)) : createHash('sha256');
  }
  update(data: Data): void {
    this.hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {
    this.hash = this.secret ? createHmac('sha256', bytes(this.secret)) : createHash('sha256');
  }
}

export interface InvokeTarget {
  readonly functionName: string;
  readonly region: string;
  readonly credentials: AwsCredentialIdentity | Provider<AwsCredentialIdentity>;
}

/** Queues an invocation of the function with `payload`; throws unless Lambda accepted it (202). */
export async function invokeAsync(target: InvokeTarget, payload: unknown): Promise<void> {
  const hostname = `lambda.${target.region}.amazonaws.com`;
  const path = `/2015-03-31/functions/${encodeURIComponent(target.functionName)}/invocations`;
  const body = JSON.stringify(payload);
  const signer = new SignatureV4({
    service: 'lambda',
    region: target.region,
    credentials: target.credentials,
    sha256: NodeSha256,
  });
  const signed = await signer.sign({
    method: 'POST',
    protocol: 'https:',
    hostname,
    path,
    headers: { host: hostname, 'content-type': 'application/json', 'x-amz-invocation-type': 'Event' },
    body,
  });
  const res = await fetch(`https://${hostname}${path}`, {
    method: 'POST',
    headers: signed.headers,
    body,
    signal: AbortSignal.timeout(5_000),
  });
  if (res.status !== 202) {
    throw new Error(
      `Lambda refused the asynchronous invoke of ${target.functionName}: ${res.status} ${await res.text()}`,
    );
  }
}

// SHA-256 (or HMAC-SHA256 with a secret) from node:crypto, in the shape the SDK's SigV4 signer
// (@smithy/signature-v4) takes: what the SDK's own Node hash does, without bundling it. Used where a call
// is signed by hand: the console's proxy (console/server/sigv4.ts) and the async Lambda invoker.
import { createHash, createHmac } from 'node:crypto';

type Data = string | ArrayBuffer | ArrayBufferView;

function bytes(data: Data): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

export class NodeSha256 {
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

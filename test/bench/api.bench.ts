// Admin API latency on the local server (same router and use cases as the Lambda, DynamoDB Local and
// fauxqs behind it): 50 concurrent clients for 10 s per figure, on 127.0.0.1 only.
//   api_get_session_p99_ms     GET /v1/sessions/{id} over 500 registered sessions
//   api_create_session_p99_ms  POST /v1/sessions, a new session per request
// Figures on this machine are dominated by DynamoDB Local (a JVM on the same 2 cores), not by API code.
import autocannon from 'autocannon';
import { startEmulators } from '../../local/emulators.ts';
import { startApiServer } from '../../local/http-server.ts';
import { contextForResources, createResources } from '../../local/resources.ts';
import { createSqsClient } from '../../shared/aws/clients.ts';
import { registerSession } from '../../shared/usecases/sessions.ts';
import type { Figure } from './run.ts';

const CONNECTIONS = 50;
const DURATION_SECONDS = 10;
const SEEDED = 500;

async function load(
  log: (line: string) => void,
  name: string,
  options: autocannon.Options,
): Promise<autocannon.Result> {
  log(`${name}: ${CONNECTIONS} clients for ${DURATION_SECONDS} s`);
  const result = await autocannon({ connections: CONNECTIONS, duration: DURATION_SECONDS, ...options });
  log(
    `${name}: ${result.requests.total} requests, ${result['2xx']} 2xx, ${result.non2xx} non-2xx, ${result.errors} errors; ` +
      `latency p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, ${Math.round(result.requests.average)} req/s`,
  );
  if (result.errors > 0 || result.non2xx > 0) {
    throw new Error(`${name}: ${result.errors} connection errors and ${result.non2xx} non-2xx answers`);
  }
  return result;
}

export async function bench(log: (line: string) => void): Promise<Figure[]> {
  const emulators = await startEmulators({ log });
  try {
    const sqs = createSqsClient(emulators.endpoints);
    const names = await createResources(emulators.endpoints, sqs, 'benchapi');
    const ctx = contextForResources(emulators.endpoints, sqs, names, { shards: 8 });
    log(`registering ${SEEDED} sessions to read`);
    for (let i = 0; i < SEEDED; i += 25) {
      await Promise.all(
        Array.from({ length: Math.min(25, SEEDED - i) }, (_, j) =>
          registerSession(
            ctx,
            {
              sessionId: `bench-${i + j}`,
              kind: 'checkout',
              status: 'stalled',
              contact: { email: `bench-${i + j}@example.com` },
            },
            { triggeredBy: 'bench' },
          ),
        ),
      );
    }
    const server = await startApiServer({ ctx, port: 0 });
    try {
      let reads = 0;
      const get = await load(log, 'GET /v1/sessions/{id}', {
        url: server.url,
        requests: [
          {
            method: 'GET',
            setupRequest: (req) => ({ ...req, path: `/v1/sessions/bench-${reads++ % SEEDED}` }),
          },
        ],
      });
      let creates = 0;
      const post = await load(log, 'POST /v1/sessions', {
        url: server.url,
        requests: [
          {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            setupRequest: (req) => ({
              ...req,
              path: '/v1/sessions',
              body: JSON.stringify({
                sessionId: `new-${creates++}`,
                kind: 'checkout',
                status: 'stalled',
                contact: { email: `new-${creates}@example.com` },
              }),
            }),
          },
        ],
      });
      return [
        { name: 'api_get_session_p99_ms', value: get.latency.p99, unit: 'ms' },
        { name: 'api_create_session_p99_ms', value: post.latency.p99, unit: 'ms' },
      ];
    } finally {
      await server.stop();
    }
  } finally {
    await emulators.stop();
  }
}

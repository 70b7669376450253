// Sweep figures: read amplification and scan calls over 50,000 sessions with 1,000 due, and claim
// throughput with 1 and 4 sweepers racing over the same due sessions (job lease out of the way).
import { startEmulators } from '../../local/emulators.ts';
import { contextForResources, createResources } from '../../local/resources.ts';
import { createSqsClient } from '../../shared/aws/clients.ts';
import type { AppContext } from '../../shared/context.ts';
import { DEFAULT_SETTINGS } from '../../shared/settings.ts';
import { runRecoverySweep } from '../../shared/usecases/recovery-sweep.ts';
import { countDynamoCalls } from '../support/ddb-counter.ts';
import { countIndexWrites } from '../support/index-writes.ts';
import { seedSessions, stalledSession } from '../support/seed.ts';
import type { Figure } from './run.ts';
import { scaled } from './scale.ts';

const DUE = '2026-01-01T00:00:00.000Z';
const LATER = '2099-01-01T00:00:00.000Z';

export async function bench(log: (line: string) => void): Promise<Figure[]> {
  const emulators = await startEmulators({ log });
  try {
    const sqs = createSqsClient(emulators.endpoints);
    const makeCtx = async (prefix: string): Promise<AppContext> =>
      contextForResources(emulators.endpoints, sqs, await createResources(emulators.endpoints, sqs, prefix), {
        shards: 8,
        settings: { ...DEFAULT_SETTINGS, sweepLimit: 100_000 },
      });
    const figures: Figure[] = [];

    // Read amplification: 50,000 sessions, of which 1,000 due.
    const big = await makeCtx('benchamp');
    const total = scaled(50_000);
    const due = scaled(1_000);
    let lastShown = 0;
    await seedSessions(
      big,
      Array.from({ length: total }, (_, i) => stalledSession(`s-${i}`, i < due ? DUE : LATER)),
      (done) => {
        if (done - lastShown >= 10_000 || done === total) {
          lastShown = done;
          log(`seeded ${done}/${total} sessions`);
        }
      },
    );
    const counter = countDynamoCalls(big.ddb);
    const run = await runRecoverySweep(big, { trigger: 'bench' });
    log(
      `sweep claimed ${run.counts.claimed} of ${due} due in ${run.durationMs} ms; calls ${JSON.stringify(counter.calls)}`,
    );
    figures.push({
      name: 'sweep_read_amplification',
      value: counter.itemsRead / due,
      unit: 'items/due-session',
    });
    figures.push({ name: 'sweep_scan_calls', value: counter.calls.ScanCommand ?? 0, unit: 'calls' });

    // Claim throughput, 1 sweeper then 4 racing sweepers, over 2,000 due sessions each time.
    const n = scaled(2_000);
    const one = await makeCtx('bench1');
    await seedSessions(
      one,
      Array.from({ length: n }, (_, i) => stalledSession(`o-${i}`, DUE)),
    );
    log(`1 sweeper over ${n} due sessions`);
    let t = performance.now();
    const r1 = await runRecoverySweep(one, { trigger: 'bench', bypassJobLease: true });
    const secs1 = (performance.now() - t) / 1000;
    figures.push({ name: 'claims_per_s_1_sweeper', value: r1.counts.claimed / secs1, unit: 'claims/s' });

    // Index writes of the claim (claim, publish, dispatched), modelled from the writes actually sent: per
    // attempt, and the busiest partition key's share of each index's writes (target ≤ 1/shards + 5 %).
    const indexed = await makeCtx('benchidx');
    const writes = countIndexWrites(indexed);
    await seedSessions(
      indexed,
      Array.from({ length: n }, (_, i) => stalledSession(`x-${i}`, DUE)),
    );
    writes.start();
    const rx = await runRecoverySweep(indexed, { trigger: 'bench', bypassJobLease: true });
    writes.stop();
    const attempts = Math.max(1, rx.counts.claimed);
    let worst = { index: '', key: '', share: 0 };
    for (const index of writes.perIndex.keys()) {
      const b = writes.busiest(index);
      log(
        `index ${index}: ${writes.perIndex.get(index)} writes, busiest key ${b?.key} ${((b?.share ?? 0) * 100).toFixed(1)} %`,
      );
      if (b && b.share > worst.share) worst = { index, ...b };
    }
    const status = writes.busiest('byStatus');
    log(
      `busiest key over all indexes: ${worst.index} ${worst.key}; target ≤ 1/${indexed.shards} + 5 % per sharded index`,
    );
    figures.push({
      name: 'index_writes_per_attempt',
      value: writes.total() / attempts,
      unit: 'writes/attempt',
    });
    figures.push({
      name: 'index_writes_per_attempt_byStatus',
      value: (writes.perIndex.get('byStatus') ?? 0) / attempts,
      unit: 'writes/attempt',
    });
    figures.push({ name: 'max_key_share', value: worst.share, unit: 'share' });
    figures.push({ name: 'max_key_share_byStatus', value: status?.share ?? 0, unit: 'share' });

    const four = await makeCtx('bench4');
    await seedSessions(
      four,
      Array.from({ length: n }, (_, i) => stalledSession(`f-${i}`, DUE)),
    );
    log(`4 sweepers racing over ${n} due sessions`);
    t = performance.now();
    const runs = await Promise.all(
      Array.from({ length: 4 }, (_, w) =>
        runRecoverySweep(four, { trigger: `bench-${w}`, bypassJobLease: true }),
      ),
    );
    const secs4 = (performance.now() - t) / 1000;
    const claimed = runs.reduce((s, r) => s + r.counts.claimed, 0);
    const conflicts = runs.reduce((s, r) => s + r.counts.conflicts, 0);
    log(`4 sweepers: ${claimed} claims, ${conflicts} conflicts in ${secs4.toFixed(1)} s`);
    figures.push({ name: 'claims_per_s_4_sweepers', value: claimed / secs4, unit: 'claims/s' });
    figures.push({
      name: 'claim_conflict_ratio_4_sweepers',
      value: conflicts / Math.max(1, claimed),
      unit: 'conflicts/claim',
    });
    return figures;
  } finally {
    await emulators.stop();
  }
}

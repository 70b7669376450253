// Two stages in one account share no metric (#20): every custom metric of every alarm and dashboard widget is
// in the stage's own namespace, two stages synthesized side by side watch disjoint metric identities, and
// what a function really emits (EMF, with the env the template gives it) is exactly what an alarm watches.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { stageNamespace } from '../../shared/infra/metrics.ts';
import { ALL_CHANNELS_CONTEXT, type CfnTemplate, props, resourcesOfType, synth } from './synth.ts';

const ROUTES = [{ method: 'GET', path: '/v1/health/readyz', access: 'read' }] as const;
const dev = synth(ALL_CHANNELS_CONTEXT, { routes: ROUTES });
const prod = synth({ ...ALL_CHANNELS_CONTEXT, stage: 'prod' }, { routes: ROUTES });

interface MetricIdentity {
  readonly namespace: string;
  readonly metricName: string;
  /** `name=value` pairs, sorted; a value that is a reference is the referenced resource's physical name. */
  readonly dimensions: readonly string[];
}
const key = (m: MetricIdentity) => `${m.namespace}|${m.metricName}|${m.dimensions.join(',')}`;
const isCustom = (m: MetricIdentity) => !m.namespace.startsWith('AWS/');

/** A `Ref`/`GetAtt` → the physical name of the resource it points at (stage-prefixed), else its logical id. */
function physical(json: CfnTemplate, value: unknown): string {
  if (typeof value === 'string') return value;
  const v = value as { Ref?: string; 'Fn::GetAtt'?: [string, string] };
  const id = v.Ref ?? v['Fn::GetAtt']?.[0];
  const p = id ? props(json.Resources[id] ?? { Type: '' }) : {};
  const name = p.FunctionName ?? p.QueueName ?? p.Name ?? p.TableName ?? p.AlarmName;
  if (typeof name !== 'string') throw new Error(`no physical name for ${JSON.stringify(value)}`);
  return name;
}

interface CfnMetric {
  Namespace: string;
  MetricName: string;
  Dimensions?: { Name: string; Value: unknown }[];
}
const identity = (json: CfnTemplate, m: CfnMetric): MetricIdentity => ({
  namespace: m.Namespace,
  metricName: m.MetricName,
  dimensions: (m.Dimensions ?? []).map((d) => `${d.Name}=${physical(json, d.Value)}`).sort(),
});

/** Every metric an alarm watches: its own, or each of its metric-math inputs. */
function alarmMetrics(json: CfnTemplate): { alarm: string; metric: MetricIdentity }[] {
  return resourcesOfType(json, 'AWS::CloudWatch::Alarm').flatMap(([id, alarm]) => {
    const p = props<CfnMetric & { AlarmName?: string; Metrics?: { MetricStat?: { Metric: CfnMetric } }[] }>(
      alarm,
    );
    const metrics = p.MetricName ? [p] : (p.Metrics ?? []).flatMap((m) => m.MetricStat?.Metric ?? []);
    return metrics.map((m) => ({ alarm: String(p.AlarmName ?? id), metric: identity(json, m) }));
  });
}

/** Every metric of every dashboard widget, read from the synthesized body (references put back as names). */
function dashboardMetrics(json: CfnTemplate): MetricIdentity[] {
  const [, dashboard] = resourcesOfType(json, 'AWS::CloudWatch::Dashboard')[0] ?? [];
  if (!dashboard) throw new Error('no dashboard');
  const body = props<{ DashboardBody: unknown }>(dashboard).DashboardBody as {
    'Fn::Join': [string, unknown[]];
  };
  const text = body['Fn::Join'][1]
    .map((part) => {
      if (typeof part === 'string') return part;
      const v = part as { Ref?: string };
      // Pseudo parameters (region, account) are the same in both stages; resources are not.
      return v.Ref?.startsWith('AWS::') ? v.Ref : physical(json, part);
    })
    .join('');
  const widgets = (JSON.parse(text) as { widgets: { properties: { metrics?: unknown[][] } }[] }).widgets;
  return widgets.flatMap((w) =>
    (w.properties.metrics ?? [])
      .filter((row) => typeof row[0] === 'string')
      .map((row) => {
        const [namespace, metricName, ...rest] = row as string[];
        const pairs = rest.filter((x) => typeof x === 'string');
        const dimensions: string[] = [];
        for (let i = 0; i + 1 < pairs.length; i += 2) dimensions.push(`${pairs[i]}=${pairs[i + 1]}`);
        return {
          namespace: String(namespace),
          metricName: String(metricName),
          dimensions: dimensions.sort(),
        };
      }),
  );
}

describe('stage-scoped metrics', () => {
  it("puts every custom metric of every alarm in the stage's namespace", () => {
    const watched = alarmMetrics(dev.json).filter(({ metric }) => isCustom(metric));
    // Heartbeats, failures, outbox, sweep errors, stuck sessions, each channel's misconfigured and error
    // rate, and the reputation gauges: well over 20 custom-metric alarms.
    expect(new Set(watched.map((w) => w.alarm)).size).toBeGreaterThanOrEqual(20);
    for (const { alarm, metric } of watched) expect(metric.namespace, alarm).toBe('SessionRecovery/dev');
  });

  it("puts every custom metric of every dashboard widget in the stage's namespace", () => {
    const custom = dashboardMetrics(dev.json).filter(isCustom);
    expect(custom.length).toBeGreaterThan(20);
    for (const metric of custom) expect(metric.namespace, key(metric)).toBe('SessionRecovery/dev');
  });

  it('gives two stages synthesized side by side disjoint metric identities (alarms and dashboards)', () => {
    const all = (json: CfnTemplate) => [
      ...alarmMetrics(json).map((w) => w.metric),
      ...dashboardMetrics(json),
    ];
    const devKeys = new Set(all(dev.json).map(key));
    const prodKeys = new Set(all(prod.json).map(key));
    expect(devKeys.size).toBeGreaterThan(40);
    expect(prodKeys.size).toBe(devKeys.size);
    expect([...devKeys].filter((k) => prodKeys.has(k))).toEqual([]);
  });

  it('refuses a namespace prefix CloudWatch reserves for AWS', () => {
    expect(() => synth({ metricsNamespace: 'AWS/Lambda' })).toThrow(/metricsNamespace/);
  });
});

describe('emitted EMF matches the alarms', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
    vi.restoreAllMocks();
    vi.resetModules();
  });

  /** The env the template gives a function, then the real emitter module loaded under it. */
  async function emitterEnv(functionId: string) {
    const fn = resourcesOfType(dev.json, 'AWS::Lambda::Function').find(
      ([, r]) => props(r).FunctionName === `session-recovery-dev-${functionId}`,
    );
    if (!fn) throw new Error(`no function ${functionId}`);
    const env = props<{ Environment: { Variables: Record<string, unknown> } }>(fn[1]).Environment.Variables;
    process.env.POWERTOOLS_METRICS_NAMESPACE = String(env.POWERTOOLS_METRICS_NAMESPACE);
    process.env.POWERTOOLS_SERVICE_NAME = String(env.POWERTOOLS_SERVICE_NAME);
    process.env.POWERTOOLS_METRICS_DISABLED = 'false';
    process.env.POWERTOOLS_DEV = 'true'; // Powertools then logs through the global console
    vi.resetModules();
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((line: unknown) => {
      lines.push(String(line));
    });
    return lines;
  }

  /** The metric identities in EMF lines: namespace, name and the dimension set with values. */
  function emitted(lines: readonly string[]): MetricIdentity[] {
    return lines.flatMap((line) => {
      const emf = JSON.parse(line) as Record<string, unknown> & {
        _aws: {
          CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[];
        };
      };
      return emf._aws.CloudWatchMetrics.flatMap((d) =>
        d.Metrics.flatMap((m) =>
          d.Dimensions.map((set) => ({
            namespace: d.Namespace,
            metricName: m.Name,
            dimensions: set.map((n) => `${n}=${String(emf[n])}`).sort(),
          })),
        ),
      );
    });
  }

  it("a scheduled sweep run's heartbeat is the one the heartbeat alarm watches", async () => {
    const lines = await emitterEnv('recovery-sweep');
    const { emitRunMetrics } = await import('../../shared/usecases/run-metrics.ts');
    emitRunMetrics(
      {
        job: 'recovery-sweep',
        dryRun: false,
        durationMs: 5,
        counts: {
          selected: 0,
          claimed: 0,
          dispatched: 0,
          skipped: 0,
          conflicts: 0,
          errors: 0,
          invalid: 0,
          deferred: 0,
          stuck: 0,
          timedOut: 0,
        },
      } as unknown as Parameters<typeof emitRunMetrics>[0],
      0,
      true,
    );
    const heartbeat = emitted(lines).find((m) => m.metricName === 'Heartbeat');
    expect(heartbeat?.namespace).toBe(stageNamespace('SessionRecovery', 'dev'));
    const alarm = alarmMetrics(dev.json).find(
      (w) => w.alarm === 'session-recovery-dev-recovery-sweep-heartbeat-missing',
    );
    expect(alarm && key(alarm.metric)).toBe(heartbeat && key(heartbeat));
    // And prod's alarm watches something else entirely.
    expect(alarmMetrics(prod.json).map((w) => key(w.metric))).not.toContain(heartbeat && key(heartbeat));
  });

  it("a sender's Failed count is one the error-rate alarm of its channel reads", async () => {
    const lines = await emitterEnv('sender-sms');
    const { metrics } = await import('../../shared/observability/metrics.ts');
    const { DIMENSIONS, SENDER_METRICS } = await import('../../shared/infra/metrics.ts');
    // The calls shared/senders/handler.ts's publishMetrics makes for a batch (it is not exported).
    metrics.addDimension(DIMENSIONS.channel, 'sms');
    metrics.addMetric(SENDER_METRICS.failed, 'Count', 1);
    metrics.publishStoredMetrics();
    const failed = emitted(lines).find((m) => m.metricName === SENDER_METRICS.failed);
    expect(failed).toBeDefined();
    const watchers = alarmMetrics(dev.json).filter((w) => failed && key(w.metric) === key(failed));
    expect(watchers.map((w) => w.alarm)).toContain('session-recovery-dev-sms-error-rate');
  });
});

// The one Powertools metrics emitter of a function (EMF on stdout, picked up by CloudWatch).
import { Metrics } from '@aws-lambda-powertools/metrics';

export const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'SessionRecovery',
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'session-recovery',
});

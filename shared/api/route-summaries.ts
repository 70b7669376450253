// One line on each route for the OpenAPI document, by route id. Apart from the route table so that the
// Lambdas, which bundle the table, do not carry text only the document reads.
import type { RouteId } from './routes.ts';

export const ROUTE_SUMMARIES: Record<RouteId, string> = {
  postEvent:
    'Send a product event (Session Registered, Stalled, Processing, Recovered, Completed, Cancelled): idempotent on id, applied in time order',
  stripeHook:
    'Stripe webhook endpoint (Stripe-Signature): Checkout and Billing events start and end sessions',
  shopifyHook:
    'Shopify webhook endpoint (X-Shopify-Hmac-Sha256): checkouts and orders start and end sessions',
  registerSession: 'Register a session (idempotent on sessionId: the same content again answers 200)',
  listSessions:
    'List sessions by status, kind and org, or find them by recipient; most recently entered their status first within a status',
  getSession: 'A session with its recovery state; the ETag is its version',
  updateSession:
    'Report progress: recovered/completed/cancelled end automation, processing starts the deadline clock',
  getTimeline: 'The events of a session, oldest first',
  regenerateSession: 'Move the next retry (to now by default); an exhausted session gets a fresh budget',
  retryNow: 'Make an attempt now, through the same claim as the sweep',
  pauseSession: 'Pause the automation of a session',
  resumeSession: 'Resume the automation of a session',
  recoverSession: 'Send a timed_out session back to processing with a new deadline',
  resetStuckSessions:
    'Time out sessions processing for longer than olderThanMinutes (a dry run unless dryRun: false)',
  createPolicy:
    'Create a retry policy (active by default: it replaces the org\u2019s active policy; 409, nothing written, when other activations of the org keep winning: try again)',
  listPolicies: 'List retry policies',
  getActivePolicy: 'The active policy of an org (the default policy when none is active)',
  getPolicy: 'A retry policy',
  deactivatePolicy: 'Deactivate a retry policy (policies are never deleted)',
  previewPolicy: 'The attempts the sweep will make under this policy, with their times and channels',
  getStats: 'Recovery counters of an org over whole UTC days',
  getStatsSeries: 'Recovery counters of an org per hour (last 8 days) or per UTC day, for charts',
  listAttemptNotifications: 'The notification outcomes of one attempt, one per channel',
  getJobsStatus: 'State of every scheduled job: paused, heartbeat, last success, failures',
  runJob:
    'Start a run of a job now, in the job function (202 with the run id); a dry run selects exactly as a real run and changes nothing',
  listRuns: 'Run records, newest first',
  pauseJob: 'Kill switch: the job skips its runs until resumed',
  resumeJob: 'Resume a paused job',
  listDlqs: 'Depth of every channel\u2019s dead-letter queue',
  replayDlq: 'Move matching dead letters back to the channel queue (a dry run unless dryRun: false)',
  readyz: 'Readiness: tables, dead-letter queues, job heartbeats',
  sessionsHealth: 'Session counts against the long-running and timeout thresholds',
  stuckSessions: 'Sessions still processing past their deadline',
  getRecipient:
    'Consent of an address per channel (suppressed, reason, source, since) and its latest changes',
  suppressRecipient: 'Suppress an address on a channel (operator); audited',
  liftSuppression: 'Lift the suppression of an address on a channel; audited with the caller and reason',
  getReputation:
    'Bounce and complaint rates per channel over the last 24 h, and whether sending paused itself',
  resumeChannelSending:
    'Resume a channel that the reputation guard paused (its waiting messages then go out)',
  unsubscribePage:
    'The unsubscribe page with a confirm button; changes nothing (mail scanners prefetch GETs)',
  unsubscribeOneClick:
    'RFC 8058 one-click unsubscribe: suppresses the recipient at once; 404 for a bad token',
  twilioStatus:
    'Twilio message status callbacks (SMS, WhatsApp): delivery receipts; 403 without a valid signature',
  twilioInbound: 'Inbound SMS: STOP suppresses the number, START lifts it; 403 without a valid signature',
  openApi: 'This API as an OpenAPI 3.1 document',
};

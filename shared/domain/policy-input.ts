// What an operator writes to create a retry policy: the tunable rules with their bounds, a name, and where
// it applies. Apart from the stored-policy schema (./retry-policy.ts) so that the functions that only read
// policies (sweep, monitor) neither bundle nor build these input schemas.
import * as v from 'valibot';
import { CHANNELS } from '../infra/resources.ts';
import { finiteNumber, type Infer, integer, text } from '../schema.ts';
import { JITTER_MODES, QuietHoursSchema } from './retry-policy.ts';

const DELAY_SECONDS = integer(0, 30 * 86400);

/** The tunable fields of a policy, as an operator writes them (shared by the use case and the API). */
const POLICY_RULES_SHAPE = {
  maxRetries: integer(0, 50),
  initialDelaySeconds: DELAY_SECONDS,
  backoffMultiplier: finiteNumber(1, 10),
  maxDelaySeconds: DELAY_SECONDS,
  jitter: v.optional(v.picklist(JITTER_MODES), 'none'),
  enabledChannels: v.pipe(
    v.array(v.picklist(CHANNELS)),
    v.minLength(1),
    v.check((list) => new Set(list).size === list.length, 'each channel once'),
  ),
  quietHours: v.optional(QuietHoursSchema),
};

const CAP_BELOW_INITIAL = 'maxDelaySeconds must be at least initialDelaySeconds';

export const PolicyRulesSchema = v.pipe(
  v.strictObject(POLICY_RULES_SHAPE),
  v.forward(
    v.check((p) => p.maxDelaySeconds >= p.initialDelaySeconds, CAP_BELOW_INITIAL),
    ['maxDelaySeconds'],
  ),
);

/** A new policy: its rules, a name, and where it applies. */
export const CreatePolicySchema = v.pipe(
  v.strictObject({
    name: text(1, 120),
    ...POLICY_RULES_SHAPE,
    orgId: v.optional(text(1, 128)),
    active: v.optional(v.boolean()),
  }),
  v.forward(
    v.check((p) => p.maxDelaySeconds >= p.initialDelaySeconds, CAP_BELOW_INITIAL),
    ['maxDelaySeconds'],
  ),
);
export type PolicyRules = Infer<typeof PolicyRulesSchema>;

// The public routes' bindings: each verifies its caller (an HMAC token, Twilio's signature) before it
// changes anything, then does one thing. A bad token is a 404 (the link names nothing), a bad signature a
// 403; neither writes.
import * as v from 'valibot';
import { fieldErrors, HttpProblem, problem } from '../api/problem.ts';
import { keywordOf } from '../consent/sms-keywords.ts';
import { verifyUnsubscribeToken } from '../consent/unsubscribe-token.ts';
import type { AppContext } from '../context.ts';
import { logger } from '../observability/logger.ts';
import { applyReceipt } from '../receipts/apply.ts';
import { observeReceipt } from '../receipts/observe.ts';
import { parseTwilioStatus, receiptFromTwilioStatus } from '../receipts/twilio-status.ts';
import { normalisePhone } from '../recipients/address.ts';
import { liftSuppression, suppressRecipient } from '../recipients/store.ts';
import type { GuardThresholds } from '../reputation/guard.ts';
import { safeParse } from '../schema.ts';
import { confirmPage, donePage, EMPTY_TWIML, notFoundPage, PAGE_CSP } from './pages.ts';
import type { PublicBindings, PublicRequest, PublicResult } from './router.ts';
import type { PublicSecrets } from './secrets.ts';
import { TWILIO_SIGNATURE_HEADER, verifyTwilioSignature } from './twilio-signature.ts';

export interface PublicBindingDeps {
  readonly secrets: PublicSecrets;
  readonly guard: GuardThresholds;
}

const html = (status: number, body: string): PublicResult => ({
  status,
  body,
  contentType: 'text/html; charset=utf-8',
  headers: { 'content-security-policy': PAGE_CSP, 'referrer-policy': 'no-referrer' },
});
const twiml = (): PublicResult => ({
  status: 200,
  body: EMPTY_TWIML,
  contentType: 'text/xml; charset=utf-8',
});

const InboundSchema = v.looseObject({
  MessageSid: v.pipe(v.string(), v.regex(/^(SM|MM)[0-9a-fA-F]{32}$/, 'a Twilio message SID')),
  AccountSid: v.pipe(v.string(), v.regex(/^AC[0-9a-fA-F]{32}$/, 'a Twilio account SID')),
  From: v.pipe(v.string(), v.maxLength(64)),
  Body: v.optional(v.pipe(v.string(), v.maxLength(1600)), ''),
});

/** Twilio's signature over this request, and the account it names; 403 otherwise, before any write. */
async function verifyTwilio(deps: PublicBindingDeps, request: PublicRequest): Promise<void> {
  const { accountSid, authToken } = await deps.secrets.twilio();
  const signed = verifyTwilioSignature(
    authToken,
    request.headers.get(TWILIO_SIGNATURE_HEADER),
    request.url,
    request.form,
  );
  if (!signed || request.form.AccountSid !== accountSid) {
    logger.warn('public route refused a request without a valid Twilio signature', { url: request.url });
    throw new HttpProblem(problem(403, 'signature', 'the X-Twilio-Signature does not match this request'));
  }
}

function badForm(issues: Parameters<typeof fieldErrors>[1]): HttpProblem {
  const errors = fieldErrors('form', issues);
  return new HttpProblem(
    problem(400, 'validation', `the request has ${errors.length} invalid field(s)`, errors),
  );
}

export function createPublicBindings(deps: PublicBindingDeps): PublicBindings {
  async function claimsOf(request: PublicRequest) {
    return verifyUnsubscribeToken(await deps.secrets.unsubscribeKey(), request.params.token ?? '');
  }

  return {
    async unsubscribePage(_ctx: AppContext, request) {
      const claims = await claimsOf(request);
      return claims ? html(200, confirmPage(claims.address)) : html(404, notFoundPage());
    },

    async unsubscribeOneClick(ctx, request) {
      const claims = await claimsOf(request);
      if (!claims) return html(404, notFoundPage());
      await suppressRecipient(ctx, {
        channel: 'email',
        address: claims.address,
        reason: 'unsubscribe',
        source: 'one-click',
        at: ctx.clock(),
        ...(claims.orgId ? { orgId: claims.orgId } : {}),
      });
      return html(200, donePage(claims.address));
    },

    async twilioStatus(ctx, request) {
      await verifyTwilio(deps, request);
      const parsed = parseTwilioStatus(request.form);
      if (!parsed.success) throw badForm(parsed.issues);
      const ref = typeof request.query.ref === 'string' ? request.query.ref : undefined;
      const receipt = receiptFromTwilioStatus(parsed.data, ref, ctx.clock());
      if (!receipt) return twiml();
      const applied = await applyReceipt(ctx, receipt);
      // Kept under its outcome: the sender applies it once it has recorded the send (Twilio never retries).
      if (applied.outcome === 'pending')
        logger.info('receipt arrived before the send was recorded; kept until it is', {
          providerMessageId: receipt.providerMessageId,
          status: receipt.status,
        });
      await observeReceipt(ctx, receipt, applied, deps.guard);
      return twiml();
    },

    async twilioInbound(ctx, request) {
      await verifyTwilio(deps, request);
      const parsed = safeParse(InboundSchema, request.form);
      if (!parsed.success) throw badForm(parsed.issues);
      const keyword = keywordOf(parsed.data.Body);
      const channel = parsed.data.From.toLowerCase().startsWith('whatsapp:') ? 'whatsapp' : 'sms';
      const address = normalisePhone(parsed.data.From);
      if (!keyword || !address) return twiml();
      const at = ctx.clock();
      const source = `twilio:${keyword === 'stop' ? 'STOP' : 'START'}`;
      if (keyword === 'stop') {
        await suppressRecipient(ctx, {
          channel,
          address,
          reason: 'stop',
          source,
          at,
          detail: parsed.data.MessageSid,
        });
      } else {
        // START lifts a STOP only: a bounce or an operator's block stays.
        await liftSuppression(ctx, { channel, address, source, at, onlyReasons: ['stop'], reason: 'START' });
      }
      return twiml();
    },
  };
}

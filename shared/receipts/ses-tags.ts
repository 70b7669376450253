// The SES message tag that carries a notification's outcome ref (./outcome-ref.ts): set by the email
// sender, read back from every SES event of the message.
export const REF_TAG = 'sr_ref';

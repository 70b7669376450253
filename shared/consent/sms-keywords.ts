// The opt-out and opt-in keywords Twilio (and the CTIA rules it follows) honour on SMS: a message that is
// exactly one of them, in any case, surrounded by whitespace or punctuation.
const STOP = new Set([
  'STOP',
  'STOPALL',
  'UNSUBSCRIBE',
  'CANCEL',
  'END',
  'QUIT',
  'OPTOUT',
  'REVOKE',
  'STOP ALL',
]);
const START = new Set(['START', 'YES', 'UNSTOP', 'OPTIN']);

export type Keyword = 'stop' | 'start';

export function keywordOf(body: string | undefined): Keyword | undefined {
  const word = (body ?? '')
    .trim()
    .replace(/[\s.!?]+$/g, '')
    .replace(/\s+/g, ' ')
    .toUpperCase();
  if (STOP.has(word)) return 'stop';
  if (START.has(word)) return 'start';
  return undefined;
}

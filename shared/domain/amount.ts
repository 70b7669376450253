// Money a session is worth: an integer in the currency's minor unit (cents for USD, yen for JPY), as Stripe
// counts it, with the ISO 4217 code. Recovered amounts are summed per currency, never converted.
import * as v from 'valibot';
import { type Infer, integer } from '../schema.ts';

export const CurrencyCode = v.pipe(v.string(), v.regex(/^[A-Za-z]{3}$/, 'an ISO 4217 code'), v.toUpperCase());

/** `value` in the currency's minor unit (cents: 4900 is 49.00 USD); described in the docs by bin/openapi.ts. */
export const AmountSchema = v.strictObject({ value: integer(0, 1e13), currency: CurrencyCode });
export type Amount = Infer<typeof AmountSchema>;

/** Digits of a currency's minor unit: ISO 4217's zero- and three-decimal currencies; two for the rest. */
export function minorUnitDigits(currency: string): number {
  const code = currency.toUpperCase();
  if ('BIF CLP DJF GNF ISK JPY KMF KRW MGA PYG RWF UGX VND VUV XAF XOF XPF'.includes(code)) return 0;
  if ('BHD IQD JOD KWD LYD OMR TND'.includes(code)) return 3;
  return 2;
}

/**
 * A decimal string in major units ("398.00", as Shopify sends prices) → minor units, exactly (no float
 * arithmetic); undefined when it is not a plain non-negative decimal with at most the currency's digits.
 */
export function minorUnitsOf(decimal: string, currency: string): number | undefined {
  const digits = minorUnitDigits(currency);
  const match = /^(\d{1,13})(?:\.(\d+))?$/.exec(decimal.trim());
  if (!match) return undefined;
  const fraction = (match[2] ?? '').replace(/0+$/, '');
  if (fraction.length > digits) return undefined;
  const value = Number(`${match[1]}${fraction.padEnd(digits, '0')}`);
  return Number.isSafeInteger(value) ? value : undefined;
}

// The number grammar every reader shares: a finite decimal number (integer, decimal, exponent,
// leading sign; no separators, no hex), read straight from the selection's characters without
// making a string per cell.

// no two quantifiers over the same digits: linear on a million of them (the old form backtracked)
export const NUMBER_RE = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
/** A date or a time of day: 2020-01-31, 2020-01, 2020-01-31T12:00:00Z, 31/01/2020, 12:30. */
export const DATE_RE = /^(?:\d{4}[-/.]\d{1,2}(?:[-/.]\d{1,2})?(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}|\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)$/;

/** A finite decimal number (integer, decimal, exponent, leading sign), or undefined. No separators, no hex. */
export function parseNumber(text: string): number | undefined {
  const v = numberAt(text, 0, text.length);
  return Number.isNaN(v) ? undefined : v;
}

const POWERS_OF_TEN = Array.from({ length: 23 }, (_, k) => 10 ** k);

/**
 * The number written in text[start, end), or NaN: the same grammar and value as parseNumber without
 * making a string. Up to 15 significant digits and a decimal exponent within 22, m / 10^k is exact
 * in both operands, so one correctly rounded division gives what Number() gives; anything longer
 * goes to Number().
 */
export function numberAt(text: string, start: number, end: number): number {
  let i = start;
  let negative = false;
  let c = text.charCodeAt(i);
  if (i < end && (c === 43 || c === 45)) {
    negative = c === 45;
    c = text.charCodeAt(++i);
  }
  let mantissa = 0;
  let digits = 0; // significant digits taken into the mantissa
  let intDigits = 0;
  let fracDigits = 0;
  let scale = 0; // power of ten to apply to the mantissa
  while (i < end && c >= 48 && c <= 57) {
    if (digits > 0 || c !== 48) {
      mantissa = mantissa * 10 + (c - 48);
      digits++;
    }
    intDigits++;
    c = text.charCodeAt(++i);
  }
  if (i < end && c === 46) {
    c = text.charCodeAt(++i);
    while (i < end && c >= 48 && c <= 57) {
      if (digits > 0 || c !== 48) {
        mantissa = mantissa * 10 + (c - 48);
        digits++;
      }
      scale--;
      fracDigits++;
      c = text.charCodeAt(++i);
    }
  }
  if (intDigits + fracDigits === 0) return NaN;
  if (i < end && (c === 101 || c === 69)) {
    c = text.charCodeAt(++i);
    let expNegative = false;
    if (c === 43 || c === 45) {
      expNegative = c === 45;
      c = text.charCodeAt(++i);
    }
    let exp = 0;
    let expDigits = 0;
    while (i < end && c >= 48 && c <= 57) {
      exp = exp < 1e6 ? exp * 10 + (c - 48) : exp;
      expDigits++;
      c = text.charCodeAt(++i);
    }
    if (expDigits === 0) return NaN;
    scale += expNegative ? -exp : exp;
  }
  if (i !== end) return NaN;
  if (digits <= 15 && scale >= -22 && scale <= 22) {
    const v = scale < 0 ? mantissa / POWERS_OF_TEN[-scale] : mantissa * POWERS_OF_TEN[scale];
    return negative ? -v : v;
  }
  const v = Number(text.slice(start, end));
  return Number.isFinite(v) ? v : NaN;
}

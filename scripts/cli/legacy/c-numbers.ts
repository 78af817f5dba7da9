/**
 * Number parsing with the C semantics `ctdb` applies to its arguments, so
 * odd inputs ("0x10", "010", "12abc", "-1") behave the same.
 */

export const EINVAL = 22;
export const ERANGE = 34;

export type CParse = { value: bigint } | { errno: number };

const SPACE = /^[ \t\n\v\f\r]*/;

/**
 * smb_strtoul/smb_strtoull(s, base 0, SMB_STR_STANDARD): strtoul rules
 * (0x = hex, leading 0 = octal, trailing garbage ignored), but no digits at
 * all or a minus sign is EINVAL and a value above 64 bits ERANGE.
 */
export function cStrtoul(text: string): CParse {
  let s = text.replace(SPACE, '');
  let negative = false;
  if (s[0] === '+' || s[0] === '-') {
    negative = s[0] === '-';
    s = s.slice(1);
  }
  let base = 10;
  if (/^0[xX][0-9a-fA-F]/.test(s)) {
    base = 16;
    s = s.slice(2);
  } else if (s.startsWith('0')) {
    base = 8;
  }
  const digits = (s.match(base === 16 ? /^[0-9a-fA-F]+/ : base === 8 ? /^[0-7]+/ : /^[0-9]+/) ?? [''])[0];
  if (digits === '') return { errno: EINVAL };
  let value = 0n;
  for (const d of digits) value = value * BigInt(base) + BigInt(parseInt(d, 16));
  if (value > 0xffffffffffffffffn) return { errno: ERANGE };
  if (negative) return { errno: EINVAL };
  return { value };
}

/** C atoi: optional blanks and sign, then decimal digits; anything else stops (no digits = 0). */
export function atoi(text: string): number {
  const m = text.replace(SPACE, '').match(/^[+-]?[0-9]+/);
  if (!m) return 0;
  return Number(BigInt.asIntN(32, BigInt(m[0])));
}

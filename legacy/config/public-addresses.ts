import { OperatorFileError, type OperatorFileWarning } from './errors.ts';
import { parseCtdbAddress } from './inet.ts';
import { fileLines, stripLeadingBlanks } from './lines.ts';

/**
 * public_addresses, read with ctdbd 4.17's rules (ctdb_set_public_addresses):
 * - leading spaces/tabs are ignored; an empty line or one whose first
 *   character is then '#' is skipped (a '#' later on is not a comment);
 * - a line is "ADDRESS/MASK IFACE[,IFACE...]", fields separated by spaces or
 *   tabs; further fields are ignored;
 * - ADDRESS is read as parseCtdbAddress reads it; MASK is an unsigned
 *   decimal (strtoul, whole field, no '-') that ctdbd stores as a 32-bit
 *   number and never range-checks;
 * - IFACE list: comma separated, empty names skipped, each must exist on the
 *   host (if_nameindex) and be at most 16 characters;
 * - the same address twice (IPv4-mapped IPv6 counts as IPv4) refuses the file.
 * A missing file is no addresses (the loader's business).
 */

export interface PublicAddress {
  /** inet_ntop spelling. */
  address: string;
  /** The mask as written (ctdbd: public_netmask_bits), not range-checked by ctdbd. */
  prefixLength: number;
  /** As listed, in order, duplicates kept (ctdbd keeps them too). */
  interfaces: string[];
}

export interface PublicAddressesFile {
  addresses: PublicAddress[];
  warnings: OperatorFileWarning[];
}

export interface ParsePublicAddressesOptions {
  file?: string;
  /** Does this interface exist here? Omitted: every name is taken as existing. */
  interfaceExists?: (name: string) => boolean;
}

/** ctdb's CTDB_IFACE_SIZE. */
export const MAX_INTERFACE_NAME = 16;
/** ctdb copies ADDRESS/MASK into a 64-byte buffer. */
const MAX_ADDRESS_FIELD = 63;
const ULONG_MAX = (1n << 64n) - 1n;

export function parsePublicAddresses(text: string, opts: ParsePublicAddressesOptions = {}): PublicAddressesFile {
  const file = opts.file ?? 'public_addresses';
  const addresses: PublicAddress[] = [];
  const warnings: OperatorFileWarning[] = [];
  const seen = new Map<string, number>();
  for (const { line, text: raw } of fileLines(text)) {
    const body = stripLeadingBlanks(raw);
    if (body === '' || body.startsWith('#')) continue;
    const bad = (reason: string) => new OperatorFileError(file, line, reason);
    const [field, ifaceList, ...extra] = body.split(/[ \t]+/).filter((f) => f !== '');
    if (ifaceList === undefined) throw bad(`no interface given for ${field} (expected ADDRESS/MASK IFACE[,IFACE...])`);
    if (extra.length > 0) warnings.push({ file, line, reason: `ignoring "${extra.join(' ')}" after the interface list (ctdbd 4.17 ignores it too)` });
    if (field.length > MAX_ADDRESS_FIELD) throw bad(`"${field}" is longer than ${MAX_ADDRESS_FIELD} characters`);
    const slash = field.lastIndexOf('/');
    if (slash === -1) throw bad(`"${field}" has no /MASK (expected ADDRESS/MASK IFACE[,IFACE...])`);
    const mask = parseMask(field.slice(slash + 1));
    if (mask === undefined) throw bad(`mask "${field.slice(slash + 1)}" is not an unsigned decimal number`);
    const addr = parseCtdbAddress(field.slice(0, slash));
    if (!addr) throw bad(`"${field.slice(0, slash)}" is not an IP address`);
    const maxBits = addr.family === 4 ? 32 : 128;
    if (mask > maxBits) {
      warnings.push({ file, line, reason: `mask /${mask} is longer than ${maxBits} bits; ctdbd 4.17 accepts it but its takeip event fails and nodes get banned; ctdb-bridge never hosts it` });
    }
    // ctdbd checks for a duplicate before it looks at the interfaces.
    const earlier = seen.get(addr.text);
    if (earlier !== undefined) throw bad(`duplicate public address ${addr.text} (first on line ${earlier})`);
    const interfaces = ifaceList.split(',').filter((n) => n !== '');
    for (const name of interfaces) {
      if (opts.interfaceExists && !opts.interfaceExists(name)) throw bad(`unknown interface ${name} for public address ${addr.text}`);
      if (name.length > MAX_INTERFACE_NAME) throw bad(`interface name "${name}" is longer than ${MAX_INTERFACE_NAME} characters`);
    }
    if (interfaces.length === 0) warnings.push({ file, line, reason: `${addr.text} has no interface (ctdbd 4.17 accepts it but can never host it)` });
    seen.set(addr.text, line);
    addresses.push({ address: addr.text, prefixLength: mask, interfaces });
  }
  return { addresses, warnings };
}

/**
 * ctdb's smb_strtoul(..., 10, SMB_STR_FULL_STR_CONV): optional leading
 * whitespace and '+', decimal digits to the end, no '-', at most ULONG_MAX;
 * then truncated to unsigned int as ctdbd stores it.
 */
function parseMask(s: string): number | undefined {
  const m = /^[\t\n\v\f\r ]*\+?([0-9]+)$/.exec(s);
  if (!m) return undefined;
  const v = BigInt(m[1]);
  if (v > ULONG_MAX) return undefined;
  return Number(v & 0xffffffffn);
}

/** One line per address, the way an operator writes them. */
export function formatPublicAddresses(addresses: readonly PublicAddress[]): string {
  return addresses.map((a) => `${a.address}/${a.prefixLength} ${a.interfaces.join(',')}\n`).join('');
}

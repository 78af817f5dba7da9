/**
 * Golden operator files: text -> what Debian's ctdb 4.17.12 makes of it.
 * The unit tests hold our readers to these tables; the compat test
 * compat-tests/operator-files.real.test.ts runs the same tables through the
 * real tools on every run, so a table entry cannot drift from ctdb:
 * - nodes: `CTDB_BASE=DIR ctdb -X listnodes` (exit status, PNN|address
 *   lines, and ctdb's "Invalid IP address ..." line for a refusal);
 * - public_addresses: a test-mode ctdbd started on a loopback address with
 *   the file (refused = it shuts down before "Set runstate to SETUP";
 *   addresses and interfaces compared with `ctdb -X ip -v`); 'lo' is the
 *   only interface assumed to exist;
 * - ctdb.conf: `ctdb-config validate` (unknown sections/keys refused) and
 *   `ctdb-config get` for the listed values; the `ctdbd` column by starting
 *   a test-mode ctdbd with the text appended to a minimal working file;
 * - addresses: glibc inet_pton/inet_ntop through python3's socket module.
 * First recorded 2026-12-04 with those tools on Debian 12 (ctdb 2:4.17.12+dfsg-0+deb12u4).
 */

export type NodesGolden = {
  name: string;
  text: string;
} & (
  /** Every entry in PNN order; "#" for a deleted node. */
  | { nodes: string[] }
  | { error: { line: number; reason: string } }
);

export const NODES_GOLDENS: NodesGolden[] = [
  { name: 'blank lines, comments, blanks around', text: '10.0.0.1\n\n10.0.0.2\n#x\n  10.0.0.3 \t\n', nodes: ['10.0.0.1', '10.0.0.2', '#', '10.0.0.3'] },
  { name: 'no final newline', text: '10.0.0.1\n10.0.0.2', nodes: ['10.0.0.1', '10.0.0.2'] },
  { name: 'CRLF', text: '10.0.0.1\r\n10.0.0.2\r\n', nodes: ['10.0.0.1', '10.0.0.2'] },
  { name: 'a CR ends the line', text: '10.0.0.1\rjunk\n', nodes: ['10.0.0.1'] },
  { name: 'a NUL ends the line', text: '10.0.0.1\u0000junk\n10.0.0.2\n', nodes: ['10.0.0.1', '10.0.0.2'] },
  { name: 'no trailing comment', text: '10.0.0.1 # first\n', error: { line: 1, reason: 'Invalid IP address 10.0.0.1 # first' } },
  { name: 'IPv4 leading zero', text: '10.0.0.1\n010.0.0.2\n', error: { line: 2, reason: 'Invalid IP address 010.0.0.2' } },
  { name: 'IPv4-mapped is IPv4', text: '::ffff:1.2.3.4\n', nodes: ['1.2.3.4'] },
  { name: 'IPv4-mapped in hex is refused', text: '::ffff:102:304\n', error: { line: 1, reason: 'Invalid IP address ::ffff:102:304' } },
  { name: 'IPv4-compatible stays IPv6', text: '::1.2.3.4\n', nodes: ['::1.2.3.4'] },
  { name: 'IPv6 case and zeros', text: 'FE80:0::1\n0000:0000:0000:0000:0000:0000:0000:0001\n1:2:3:4:5:6:7::\n', nodes: ['fe80::1', '::1', '1:2:3:4:5:6:7:0'] },
  { name: 'IPv6 in brackets', text: '[fd00::1]\n', nodes: ['fd00::1'] },
  { name: 'IPv4 in brackets', text: '[10.0.0.1]\n', error: { line: 1, reason: 'Invalid IP address [10.0.0.1]' } },
  { name: 'zone index', text: 'fe80::1%lo\n', error: { line: 1, reason: 'Invalid IP address fe80::1%lo' } },
  { name: 'duplicates are listed', text: '10.0.0.1\n10.0.0.1\n', nodes: ['10.0.0.1', '10.0.0.1'] },
  { name: 'empty file', text: '', nodes: [] },
  { name: 'only deleted nodes', text: '\n\n#\n#\n', nodes: ['#', '#'] },
  { name: 'indented comment is a deleted node', text: ' # x\n10.0.0.1\n', nodes: ['#', '10.0.0.1'] },
  { name: 'prefix length', text: '10.0.0.1/24\n', error: { line: 1, reason: 'Invalid IP address 10.0.0.1/24' } },
  { name: 'port', text: '10.0.0.1:4379\n', error: { line: 1, reason: 'Invalid IP address 10.0.0.1:4379' } },
  { name: 'byte order mark', text: '\ufeff10.0.0.1\n', error: { line: 1, reason: 'Invalid IP address \ufeff10.0.0.1' } },
  { name: 'vertical tab is not a blank', text: '10.0.0.1\v\n', error: { line: 1, reason: 'Invalid IP address 10.0.0.1\v' } },
  { name: 'bad line after a deleted node', text: '#\n10.0.0.1\nbogus\n', error: { line: 3, reason: 'Invalid IP address bogus' } },
  { name: 'unspecified address', text: '::\n0.0.0.0\n', nodes: ['::', '0.0.0.0'] },
];

export type PublicAddressesGolden = {
  name: string;
  text: string;
} & (
  /** "ADDRESS/MASK IFACE,IFACE" per address, interfaces as ctdbd keeps them. */
  | { addresses: string[] }
  | { error: { line: number; reason: RegExp } }
);

export const PUBLIC_ADDRESSES_GOLDENS: PublicAddressesGolden[] = [
  { name: 'empty', text: '', addresses: [] },
  { name: 'blank lines and a comment', text: '\n\n# c\n', addresses: [] },
  { name: 'one address', text: '10.9.0.1/24 lo\n', addresses: ['10.9.0.1/24 lo'] },
  { name: 'interface listed twice', text: '10.9.0.1/24 lo,lo\n', addresses: ['10.9.0.1/24 lo,lo'] },
  { name: 'empty interface names skipped', text: '10.9.0.1/24 ,lo,,\n', addresses: ['10.9.0.1/24 lo'] },
  { name: 'no interface at all', text: '10.9.0.1/24 ,\n', addresses: ['10.9.0.1/24 '] },
  { name: 'unknown interface', text: '10.9.0.1/24 eth99\n', error: { line: 1, reason: /unknown interface eth99/ } },
  { name: 'interface missing', text: '# c\n10.9.0.1/24\n', error: { line: 2, reason: /no interface/ } },
  { name: 'mask missing', text: '10.9.0.1 lo\n', error: { line: 1, reason: /has no \/MASK/ } },
  { name: 'mask not range-checked', text: '10.9.0.1/99 lo\n', addresses: ['10.9.0.1/99 lo'] },
  { name: 'mask truncated to 32 bits', text: '10.9.0.1/4294967296 lo\n', addresses: ['10.9.0.1/0 lo'] },
  { name: 'negative mask', text: '10.9.0.1/-1 lo\n', error: { line: 1, reason: /mask "-1"/ } },
  { name: 'mask with plus sign', text: '10.9.0.1/+8 lo\n', addresses: ['10.9.0.1/8 lo'] },
  { name: 'mask with trailing garbage', text: '10.9.0.1/24x lo\n', error: { line: 1, reason: /mask "24x"/ } },
  { name: 'empty mask', text: '10.9.0.1/ lo\n', error: { line: 1, reason: /mask ""/ } },
  { name: 'fields after the interfaces ignored', text: '10.9.0.1/24 lo extra junk\n', addresses: ['10.9.0.1/24 lo'] },
  { name: 'a trailing # is not a comment but is ignored', text: '10.9.0.1/24 lo # c\n', addresses: ['10.9.0.1/24 lo'] },
  { name: 'a # interface is an interface', text: '10.9.0.1/24 #lo\n', error: { line: 1, reason: /unknown interface #lo/ } },
  { name: 'tabs and leading blanks', text: '  \t10.9.0.1/24\tlo\n', addresses: ['10.9.0.1/24 lo'] },
  { name: 'CRLF', text: '10.9.0.1/24 lo\r\n', addresses: ['10.9.0.1/24 lo'] },
  { name: 'same address, other mask', text: '10.9.0.1/24 lo\n10.9.0.1/16 lo\n', error: { line: 2, reason: /duplicate public address 10.9.0.1/ } },
  { name: 'same address, IPv4-mapped', text: '10.9.0.1/24 lo\n::ffff:10.9.0.1/24 lo\n', error: { line: 2, reason: /duplicate public address 10.9.0.1/ } },
  { name: 'same IPv6 address, other spelling', text: 'fd00::1/64 lo\nFD00:0::1/64 lo\n', error: { line: 2, reason: /duplicate public address fd00::1/ } },
  { name: 'IPv6 in brackets', text: '[fd00::2]/64 lo\n', addresses: ['fd00::2/64 lo'] },
  { name: 'IPv6 mask beyond 128', text: 'fd00::1/200 lo\n', addresses: ['fd00::1/200 lo'] },
  { name: 'IPv4 leading zero', text: '010.9.0.1/24 lo\n', error: { line: 1, reason: /"010.9.0.1" is not an IP address/ } },
  { name: 'IPv4 octet above 255', text: '10.9.0.1/24 lo\n10.9.0.300/24 lo\n', error: { line: 2, reason: /"10.9.0.300" is not an IP address/ } },
  { name: 'a line of words', text: 'this is not an address\n', error: { line: 1, reason: /"this" has no \/MASK/ } },
  { name: 'mask /33', text: '10.9.0.1/33 lo\n', addresses: ['10.9.0.1/33 lo'] },
];

/** Values are what `ctdb-config get` prints. */
export interface CtdbConfGolden {
  name: string;
  text: string;
  /** `ctdb-config validate` (unknown sections and keys refused). */
  validate: 'accept' | { line: number; reason: RegExp };
  /** ctdbd itself (unknown sections and keys ignored), where it differs or matters. */
  ctdbd?: 'accept' | 'refuse';
  values?: Record<string, string>;
}

export const CTDB_CONF_GOLDENS: CtdbConfGolden[] = [
  { name: 'empty', text: '', validate: 'accept', values: { 'cluster/leader timeout': '5' } },
  { name: 'comments and blanks', text: '; c\n  # c\n[cluster]\n  leader   timeout   =   3  \n', validate: 'accept', values: { 'cluster/leader timeout': '3' } },
  { name: 'section names ignore case', text: '[CLUSTER]\nleader timeout = 3\n', validate: 'accept', values: { 'cluster/leader timeout': '3' } },
  { name: 'text after ] ignored', text: '[cluster] trailing\nleader timeout = 3\n', validate: 'accept', values: { 'cluster/leader timeout': '3' } },
  { name: 'blanks inside brackets', text: '[ cluster ]\nleader timeout = 3\n', validate: { line: 1, reason: /unknown section \[ cluster \]/ }, ctdbd: 'accept' },
  { name: 'keys are case-sensitive', text: '[cluster]\nLeader Timeout = 3\n', validate: { line: 2, reason: /unknown option "Leader Timeout"/ }, ctdbd: 'accept' },
  { name: 'a tab inside a key', text: '[cluster]\n  leader\ttimeout\t=\t3\t\n', validate: { line: 2, reason: /unknown option "leader\ttimeout"/ } },
  { name: 'unknown section', text: '[bogus]\nx = 1\n', validate: { line: 1, reason: /unknown section \[bogus\]/ }, ctdbd: 'accept' },
  { name: 'setting outside a section', text: 'x = 1\n', validate: { line: 1, reason: /outside any section/ }, ctdbd: 'accept' },
  { name: 'misspelt key', text: '[cluster]\nnode adress = 1.2.3.4\n', validate: { line: 2, reason: /unknown option "node adress"/ }, ctdbd: 'accept' },
  { name: 'empty value', text: '[cluster]\nleader timeout =\n', validate: { line: 2, reason: /empty value/ }, ctdbd: 'refuse' },
  { name: 'integer with trailing text', text: '[cluster]\nleader timeout = 7x\n', validate: 'accept', ctdbd: 'accept', values: { 'cluster/leader timeout': '7' } },
  { name: 'integer in hex', text: '[cluster]\nleader timeout = 0x10\n', validate: 'accept', values: { 'cluster/leader timeout': '16' } },
  { name: 'integer in octal', text: '[cluster]\nleader timeout = 010\n', validate: 'accept', values: { 'cluster/leader timeout': '8' } },
  { name: 'integer 1e3', text: '[cluster]\nleader timeout = 1e3\n', validate: 'accept', values: { 'cluster/leader timeout': '1' } },
  { name: 'integer with plus', text: '[cluster]\nleader timeout = +5\n', validate: 'accept', values: { 'cluster/leader timeout': '5' } },
  { name: 'integer text is 0', text: '[cluster]\nleader timeout = abc\n', validate: { line: 2, reason: /must be at least 1/ } },
  { name: 'integer zero', text: '[cluster]\nleader timeout = 0\n', validate: { line: 2, reason: /must be at least 1/ } },
  { name: 'integer 08 is octal 0', text: '[cluster]\nleader timeout = 08\n', validate: { line: 2, reason: /must be at least 1/ } },
  { name: 'integer negative', text: '[cluster]\nleader timeout = -1\n', validate: { line: 2, reason: /not a number from 0 to 2147483647/ } },
  { name: 'integer INT_MAX', text: '[cluster]\nleader timeout = 2147483647\n', validate: 'accept', values: { 'cluster/leader timeout': '2147483647' } },
  { name: 'integer above INT_MAX', text: '[cluster]\nleader timeout = 2147483648\n', validate: { line: 2, reason: /not a number/ } },
  { name: 'boolean 1', text: '[legacy]\nstart as stopped = 1\n', validate: { line: 2, reason: /not true, yes, false or no/ }, ctdbd: 'refuse' },
  { name: 'boolean YES', text: '[legacy]\nstart as stopped = YES\n', validate: 'accept', values: { 'legacy/start as stopped': 'true' } },
  { name: 'boolean on', text: '[legacy]\nstart as stopped = on\n', validate: { line: 2, reason: /not true, yes, false or no/ } },
  { name: 'node address', text: '[cluster]\nnode address = banana\n', validate: { line: 2, reason: /not an IP address/ } },
  { name: 'node address IPv4-mapped', text: '[cluster]\nnode address = ::ffff:1.2.3.4\n', validate: 'accept', values: { 'cluster/node address': '::ffff:1.2.3.4' } },
  { name: 'node address in brackets', text: '[cluster]\nnode address = [::1]\n', validate: { line: 2, reason: /not an IP address/ } },
  { name: 'transport', text: '[cluster]\ntransport = ib\n', validate: { line: 2, reason: /not supported/ } },
  { name: 'log level name', text: '[logging]\nlog level = LOUD\n', validate: { line: 2, reason: /not a debug level/ } },
  { name: 'log level prefix', text: '[logging]\nlog level = deb\n', validate: 'accept', values: { 'logging/log level': 'deb' } },
  { name: 'log level number', text: '[logging]\nlog level = 10\n', validate: 'accept' },
  { name: 'log level 11', text: '[logging]\nlog level = 11\n', validate: { line: 2, reason: /not a debug level/ } },
  { name: 'log level 4x', text: '[logging]\nlog level = 4x\n', validate: 'accept' },
  { name: 'log location stderr', text: '[logging]\nlocation = stderr\n', validate: { line: 2, reason: /not a log location/ } },
  { name: 'log location file only', text: '[logging]\nlocation = file\n', validate: 'accept' },
  { name: 'log location colons', text: '[logging]\nlocation = :::file\n', validate: 'accept' },
  { name: 'log location syslog option', text: '[logging]\nlocation = syslog:udp:junk\n', validate: 'accept' },
  { name: 'log location syslog bad', text: '[logging]\nlocation = syslog:foo\n', validate: { line: 2, reason: /not a log location/ } },
  { name: 'log file directory missing', text: '[logging]\nlocation = file:/nonexistent/dir/log\n', validate: { line: 2, reason: /directory \/nonexistent\/dir does not exist/ } },
  { name: 'database directory missing', text: '[database]\nvolatile database directory = /nonexistent\n', validate: { line: 2, reason: /directory \/nonexistent does not exist/ } },
  { name: 'database directory is the default', text: '[database]\nvolatile database directory = /var/lib/ctdb/volatile\n', validate: 'accept' },
  { name: 'lock debug script missing', text: '[database]\nlock debug script = /x/y/nope.sh\n', validate: { line: 2, reason: /nope.sh does not exist/ } },
  { name: 'a later default value keeps the earlier value', text: '[cluster]\nleader timeout = 4\nleader timeout = 5\n', validate: 'accept', values: { 'cluster/leader timeout': '4' } },
  { name: 'a later value wins', text: '[cluster]\nleader timeout = 4\nleader timeout = 6\n', validate: 'accept', values: { 'cluster/leader timeout': '6' } },
  { name: 'sections can repeat', text: '[cluster]\nleader timeout = 4\n[logging]\n[cluster]\nleader timeout = 8\n', validate: 'accept', values: { 'cluster/leader timeout': '8' } },
  { name: 'whitespace runs shrink', text: '[cluster]\ncluster lock = /a  b\t\tc \n', validate: 'accept', values: { 'cluster/cluster lock': '/a b\tc' } },
  { name: 'no trailing comments', text: '[cluster]\ncluster lock = /a # c\n', validate: 'accept', values: { 'cluster/cluster lock': '/a # c' } },
  { name: 'continuation line', text: '[cluster]\ncluster lock=/x\\\n  y\nleader timeout = 3\n', validate: 'accept', values: { 'cluster/cluster lock': '/x y', 'cluster/leader timeout': '3' } },
  { name: 'continuation after a blank', text: '[cluster]\ncluster lock=/x\\ \n  y\n', validate: 'accept', values: { 'cluster/cluster lock': '/x y' } },
  { name: 'value with =', text: '[cluster]\ncluster lock=x=y\n', validate: 'accept', values: { 'cluster/cluster lock': 'x=y' } },
  { name: 'CRLF', text: '[cluster]\r\nleader timeout = 4\r\nnode address = 127.0.0.1 \r\n', validate: 'accept', values: { 'cluster/leader timeout': '4', 'cluster/node address': '127.0.0.1' } },
  { name: 'a line without = is ignored', text: '[cluster]\nleader timeout = 3\njunk line\n', validate: 'accept', values: { 'cluster/leader timeout': '3' } },
  { name: 'an unclosed section drops the whole file', text: '[cluster]\nleader timeout = 3\n[cluster\nnode address = x\n', validate: 'accept', values: { 'cluster/leader timeout': '5' } },
  { name: 'a line starting with = drops the whole file', text: '[cluster]\nleader timeout = 3\n= 3\n', validate: 'accept', values: { 'cluster/leader timeout': '5' } },
  { name: 'an error before the drop still counts', text: '[cluster]\nnode address = x\n[cluster\n', validate: { line: 2, reason: /not an IP address/ } },
  { name: 'byte order mark', text: '\ufeff[cluster]\nleader timeout = 2\n', validate: { line: 2, reason: /outside any section/ } },
  { name: 'NUL ends the value', text: '[cluster]\nleader timeout = 2\u0000junk\n', validate: 'accept', values: { 'cluster/leader timeout': '2' } },
  { name: 'recovery lock still read', text: '[cluster]\nrecovery lock = /x\n', validate: 'accept', values: { 'cluster/recovery lock': '/x' } },
];

export interface InetGolden {
  text: string;
  family: 4 | 6;
  /** inet_ntop of inet_pton, or null when inet_pton refuses. */
  ntop: string | null;
}

export const INET_GOLDENS: InetGolden[] = [
  { text: '::1.2.3.4', family: 6, ntop: '::1.2.3.4' },
  { text: '::2', family: 6, ntop: '::2' },
  { text: '::0.0.0.2', family: 6, ntop: '::2' },
  { text: '::ffff:0:0', family: 6, ntop: '::ffff:0.0.0.0' },
  { text: '::ffff:1.2.3.4', family: 6, ntop: '::ffff:1.2.3.4' },
  { text: '::ffff', family: 6, ntop: '::ffff' },
  { text: '1:0:0:1:0:0:0:1', family: 6, ntop: '1:0:0:1::1' },
  { text: '1:0:0:1:0:0:1:1', family: 6, ntop: '1::1:0:0:1:1' },
  { text: '0:0:1::', family: 6, ntop: '0:0:1::' },
  { text: '1::1.2.3.4', family: 6, ntop: '1::102:304' },
  { text: '::102:304', family: 6, ntop: '::1.2.3.4' },
  { text: '1:2:3:4:5:6:7::', family: 6, ntop: '1:2:3:4:5:6:7:0' },
  { text: '::1:2:3:4:5:6:7', family: 6, ntop: '0:1:2:3:4:5:6:7' },
  { text: '1::2:3:4:5:6:7:8', family: 6, ntop: null },
  { text: '00fF::', family: 6, ntop: 'ff::' },
  { text: 'fe80::1%lo', family: 6, ntop: null },
  { text: '1:2:3:4:5:6:1.2.3.4', family: 6, ntop: '1:2:3:4:5:6:102:304' },
  { text: ':1::2', family: 6, ntop: null },
  { text: '1::2:', family: 6, ntop: null },
  { text: '::', family: 6, ntop: '::' },
  { text: '0::FFFF:1.2.3.4', family: 6, ntop: '::ffff:1.2.3.4' },
  { text: '00000::1', family: 6, ntop: null },
  { text: '::1.2.3', family: 6, ntop: null },
  { text: '::01.2.3.4', family: 6, ntop: null },
  { text: '1:::2', family: 6, ntop: null },
  { text: '1:2:3:4:5:6:7:8:9', family: 6, ntop: null },
  { text: '1.2.3.4', family: 6, ntop: null },
  { text: '01.2.3.4', family: 4, ntop: null },
  { text: '1.2.3.04', family: 4, ntop: null },
  { text: '0.0.0.0', family: 4, ntop: '0.0.0.0' },
  { text: '255.255.255.255', family: 4, ntop: '255.255.255.255' },
  { text: '256.1.1.1', family: 4, ntop: null },
  { text: '1.2.3', family: 4, ntop: null },
  { text: '1.2.3.4.', family: 4, ntop: null },
  { text: '1.2.3.4 ', family: 4, ntop: null },
  { text: ' 1.2.3.4', family: 4, ntop: null },
];

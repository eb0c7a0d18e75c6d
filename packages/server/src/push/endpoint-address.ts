/**
 * Which addresses a UnifiedPush endpoint may have (docs/PUSH.md "Endpoint addresses").
 * Endpoints are chosen by users and the daily job connects to them, so an endpoint on a
 * loopback, private, link-local, cloud-metadata or other special-purpose address would
 * let any user make the server send requests into its own network. Such addresses are
 * refused at registration ({@link endpointAddressProblem}) and again on every
 * connection ({@link guardedLookup}: the check runs on the very addresses the socket then
 * connects to, so a name that resolves to a public address at registration and to a
 * private one later — DNS rebinding — is caught). An operator allow-list
 * (UNIFIEDPUSH_ALLOW_ADDRESSES) opens chosen ranges for tests and private deployments.
 * @module
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';

/**
 * Special-purpose ranges (IANA IPv4 and IPv6 Special-Purpose Address Registries, RFC
 * 6890) that are not public unicast: nothing a push distributor on the internet uses.
 */
const SPECIAL_V4: readonly [string, number][] = [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8], // private (RFC 1918)
  ['100.64.0.0', 10], // carrier-grade NAT (RFC 6598)
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local, cloud metadata (169.254.169.254)
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation
  ['192.88.99.0', 24], // 6to4 relay anycast
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation
  ['203.0.113.0', 24], // documentation
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
];
const SPECIAL_V6: readonly [string, number][] = [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['64:ff9b::', 96], // NAT64: reaches an IPv4 address of any kind
  ['64:ff9b:1::', 48], // local NAT64
  ['100::', 64], // discard
  ['2001::', 23], // IETF protocol assignments (Teredo, ORCHID, …)
  ['2001:db8::', 32], // documentation
  ['2002::', 16], // 6to4: embeds an IPv4 address
  ['fc00::', 7], // unique local (incl. AWS metadata fd00:ec2::254)
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
];

const special = new BlockList();
for (const [net, prefix] of SPECIAL_V4) special.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of SPECIAL_V6) special.addSubnet(net, prefix, 'ipv6');

/** An IPv4-mapped IPv6 address (`::ffff:a.b.c.d` in either spelling) as IPv4. */
function unmap(ip: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (m) return m[1]!;
  const h = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(ip);
  if (!h) return ip;
  const hi = Number.parseInt(h[1]!, 16);
  const lo = Number.parseInt(h[2]!, 16);
  return [hi >> 8, hi & 255, lo >> 8, lo & 255].join('.');
}

/**
 * Parses an allow-list: comma-separated IP addresses and CIDR ranges.
 *
 * @param text - e.g. `127.0.0.1, 10.0.0.0/8, fd12::/64`
 * @returns the list, or null when an entry is not an address or range
 * @example
 * ```ts
 * parseAddressList('127.0.0.0/8,::1');
 * ```
 */
export function parseAddressList(text: string): BlockList | null {
  const list = new BlockList();
  for (const raw of text.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const [ip = '', prefix] = entry.split('/');
    const family = isIP(ip);
    if (family === 0) return null;
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (prefix === undefined) {
      list.addAddress(ip, type);
      continue;
    }
    const n = /^\d{1,3}$/.test(prefix) ? Number(prefix) : -1;
    if (n < 0 || n > (family === 4 ? 32 : 128)) return null;
    list.addSubnet(ip, n, type);
  }
  return list;
}

/**
 * True when a push endpoint may connect to `ip`: a public address, or one on the
 * operator's allow-list.
 *
 * @param ip - a textual IPv4 or IPv6 address
 * @param allow - UNIFIEDPUSH_ALLOW_ADDRESSES, or null
 */
export function addressAllowed(ip: string, allow: BlockList | null): boolean {
  const addr = unmap(ip);
  const family = isIP(addr);
  if (family === 0) return false;
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (allow?.check(addr, type)) return true;
  return !special.check(addr, type);
}

/** The error a refused address gives: code `ENDPOINT_NOT_ALLOWED`, no address in it. */
export function endpointNotAllowed(): Error & { code: string } {
  return Object.assign(new Error('the endpoint resolves to an address that is not allowed'), {
    code: 'ENDPOINT_NOT_ALLOWED',
  });
}

/** A `dns.lookup`-shaped resolver (all addresses). */
export type Resolver = (
  host: string,
  opts: { all: true },
  cb: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void;

const systemResolver: Resolver = (host, opts, cb) => dnsLookup(host, opts, cb);

/**
 * A `lookup` for `http.request`: resolves the name, refuses the connection
 * (`ENDPOINT_NOT_ALLOWED`) when any address it resolves to is not allowed, and else
 * hands those same addresses to the socket — no second resolution between check and
 * connect.
 *
 * @param allow - UNIFIEDPUSH_ALLOW_ADDRESSES, or null
 * @param resolve - the resolver (default: the system's, as `dns.lookup`)
 * @returns the lookup function
 */
export function guardedLookup(allow: BlockList | null, resolve: Resolver = systemResolver) {
  return (
    host: string,
    opts: { all?: boolean; family?: number | string },
    cb: (err: Error | null, address: string | LookupAddress[], family?: number) => void,
  ): void => {
    resolve(host, { all: true }, (err, addresses) => {
      if (err) return cb(err, []);
      if (addresses.length === 0 || addresses.some((a) => !addressAllowed(a.address, allow)))
        return cb(endpointNotAllowed(), []);
      if (opts.all) return cb(null, addresses);
      const first = addresses[0]!;
      cb(null, first.address, first.family);
    });
  };
}

/** How long registration waits for DNS before accepting the endpoint as it is. */
const REGISTRATION_DNS_TIMEOUT_MS = 2000;

/**
 * The registration check: an endpoint whose host is a forbidden IP literal, or a name
 * that resolves to a forbidden address now, is refused. A name that does not resolve now
 * is accepted (the send-time check decides: a refusal here must not depend on DNS being
 * up).
 *
 * @param endpoint - the endpoint URL (already checked to be http(s))
 * @param allow - UNIFIEDPUSH_ALLOW_ADDRESSES, or null
 * @param resolve - the resolver (default: the system's)
 * @returns null when acceptable, else a public reason (never the endpoint itself)
 */
export async function endpointAddressProblem(
  endpoint: string,
  allow: BlockList | null,
  resolve: Resolver = systemResolver,
): Promise<string | null> {
  const host = new URL(endpoint).hostname.replace(/^\[(.*)\]$/, '$1');
  const refused =
    'the endpoint is on a loopback, private, link-local or otherwise non-public address';
  if (isIP(host) !== 0) return addressAllowed(host, allow) ? null : refused;
  const addresses = await new Promise<LookupAddress[]>((done) => {
    const timer = setTimeout(() => done([]), REGISTRATION_DNS_TIMEOUT_MS);
    resolve(host, { all: true }, (err, found) => {
      clearTimeout(timer);
      done(err ? [] : found);
    });
  });
  return addresses.some((a) => !addressAllowed(a.address, allow)) ? refused : null;
}

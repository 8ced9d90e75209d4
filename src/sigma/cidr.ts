import * as ipaddr from 'ipaddr.js';

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/** A test of an address text against a CIDR range (IPv4 or IPv6); throws on a malformed range. */
export function cidrTest(range: string): (text: string) => boolean {
  if (!range.includes('/')) throw new Error(`cidr value "${range}" has no prefix length`);
  let parsed: [ipaddr.IPv4 | ipaddr.IPv6, number];
  try {
    parsed = ipaddr.parseCIDR(range);
  } catch {
    throw new Error(`cidr value "${range}" is not a CIDR range`);
  }
  const [network, bits] = parsed;
  return (text) => {
    const address = parseAddress(text);
    return address !== undefined && address.kind() === network.kind() && address.match(network, bits);
  };
}

/** Dotted-quad IPv4 (no octal, hex or shortened forms, which ipaddr.js's parse would accept) or IPv6. */
function parseAddress(text: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  if (IPV4.test(text)) return ipaddr.IPv4.isValidFourPartDecimal(text) ? ipaddr.IPv4.parse(text) : undefined;
  return text.includes(':') && ipaddr.IPv6.isValid(text) ? ipaddr.IPv6.parse(text) : undefined;
}

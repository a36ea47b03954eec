import { BlockList, isIP } from "node:net";

/**
 * Whether a peer address is a trusted proxy (node:net's BlockList does the
 * CIDR matching). IPv4-mapped IPv6 peers (::ffff:10.0.0.1) match IPv4 entries.
 */
export function trustedProxyMatcher(entries: readonly string[]): (ip: string) => boolean {
  if (entries.length === 0) return () => false;
  const list = new BlockList();
  for (const e of entries) {
    const [ip = "", bits] = e.split("/");
    const type = isIP(ip) === 6 ? "ipv6" : "ipv4";
    if (bits === undefined) list.addAddress(ip, type);
    else list.addSubnet(ip, Number(bits), type);
  }
  return (ip: string) => {
    const mapped = ip.startsWith("::ffff:") && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
    const family = isIP(mapped);
    return family !== 0 && list.check(mapped, family === 6 ? "ipv6" : "ipv4");
  };
}

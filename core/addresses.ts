/**
 * IPv4 address and CIDR helpers on top of ipaddr.js: strict parsing (no `1.2.3`, no leading
 * zeros), range classification with the documentation ranges split out, and overlap tests.
 */
import * as ipaddr from "ipaddr.js";

/** RFC 5737 documentation ranges: the only public-looking addresses the lab may use. */
export const DOCUMENTATION_CIDRS: readonly string[] = ["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"];

export type AddressClass =
    | "public"
    | "documentation"
    | "private"
    | "loopback"
    | "link-local"
    | "multicast"
    | "unspecified"
    | "broadcast"
    | "shared"
    | "reserved";

export function isIpv4(text: string): boolean {
    return ipaddr.IPv4.isValidFourPartDecimal(text);
}

/** `a.b.c.d/len` with a strict address and 0 <= len <= 32 (no leading zeros); undefined when malformed. */
export function parseCidr(text: string): { address: string; prefix: number } | undefined {
    // ipaddr.js accepts a prefix with leading zeros (`/08`); ours must be written plainly.
    if (!/\/(0|[1-9][0-9]?)$/.test(text) || !ipaddr.IPv4.isValidCIDRFourPartDecimal(text)) return undefined;
    const [address, prefix] = ipaddr.IPv4.parseCIDR(text);
    return { address: address.toString(), prefix };
}

/** The network address of a CIDR, to spot host bits (`10.0.0.1/8` -> `10.0.0.0`). */
export function networkAddress(address: string, prefix: number): string {
    return ipaddr.IPv4.networkAddressFromCIDR(`${address}/${prefix}`).toString();
}

/** Host or CIDR to canonical CIDR: `1.2.3.4` -> `1.2.3.4/32`. Assumes it was validated. */
export function toCidr(text: string): string {
    return text.includes("/") ? text : `${text}/32`;
}

/** The address part of a /32 CIDR or a bare address. */
export function hostOf(cidr: string): string {
    return cidr.split("/")[0];
}

function asRange(cidr: string): [ipaddr.IPv4, number] {
    const [a, p] = toCidr(cidr).split("/");
    return [ipaddr.IPv4.parse(a), Number(p)];
}

export function cidrContains(outer: string, inner: string): boolean {
    const [innerAddr, innerPrefix] = asRange(inner);
    const [, outerPrefix] = asRange(outer);
    return innerPrefix >= outerPrefix && innerAddr.match(asRange(outer));
}

export function cidrsOverlap(a: string, b: string): boolean {
    return cidrContains(a, b) || cidrContains(b, a);
}

/** The prefix length of a CIDR (32 for a bare address). */
export function prefixOf(cidr: string): number {
    return Number(toCidr(cidr).split("/")[1]);
}

/** First and last address of a CIDR (or the address itself for a bare host), as dotted quads. */
export function cidrBounds(cidr: string): { first: string; last: string } {
    const c = toCidr(cidr);
    return {
        first: ipaddr.IPv4.networkAddressFromCIDR(c).toString(),
        last: ipaddr.IPv4.broadcastAddressFromCIDR(c).toString(),
    };
}

/**
 * The address `n` places after `address` (before it for negative `n`); undefined past either end
 * of the address space. ipaddr.js has no address arithmetic, so this carries over its octets.
 */
export function offsetAddress(address: string, n: number): string | undefined {
    const octets = ipaddr.IPv4.parse(address).toByteArray();
    let carry = n;
    for (let i = 3; i >= 0; i--) {
        const sum = octets[i] + carry;
        octets[i] = ((sum % 256) + 256) % 256;
        carry = Math.floor(sum / 256);
    }
    return carry === 0 ? new ipaddr.IPv4(octets).toString() : undefined;
}

/** The `n`-th address of a CIDR (0 is its network address); undefined outside it. */
export function addressAt(cidr: string, n: number): string | undefined {
    const address = offsetAddress(cidrBounds(cidr).first, n);
    return address !== undefined && n >= 0 && cidrContains(cidr, address) ? address : undefined;
}

/** The prefix length of a dotted-quad netmask such as `255.255.255.0`, or undefined when it is not one. */
export function maskToPrefix(mask: string): number | undefined {
    if (!isIpv4(mask)) return undefined;
    return ipaddr.IPv4.parse(mask).prefixLengthFromSubnetMask() ?? undefined;
}

export function classify(address: string): AddressClass {
    if (DOCUMENTATION_CIDRS.some((d) => cidrContains(d, address))) return "documentation";
    const range = ipaddr.IPv4.parse(address).range();
    switch (range) {
        case "unicast":
            return "public";
        case "private":
            return "private";
        case "loopback":
            return "loopback";
        case "linkLocal":
            return "link-local";
        case "multicast":
            return "multicast";
        case "unspecified":
            return "unspecified";
        case "broadcast":
            return "broadcast";
        case "carrierGradeNat":
            return "shared";
        default:
            return "reserved";
    }
}

/**
 * The special-purpose IPv4 blocks (IANA registry, as ipaddr.js 2.5 classifies them), with the
 * class `classify` gives their network address. ipaddr.js keeps its table private, so it is
 * written out here; tests/unit/addresses.test.ts checks every block's edges against `classify`.
 */
export const SPECIAL_RANGES: readonly { readonly cidr: string; readonly cls: AddressClass }[] = [
    { cidr: "0.0.0.0/8", cls: "unspecified" },
    { cidr: "10.0.0.0/8", cls: "private" },
    { cidr: "100.64.0.0/10", cls: "shared" },
    { cidr: "127.0.0.0/8", cls: "loopback" },
    { cidr: "169.254.0.0/16", cls: "link-local" },
    { cidr: "172.16.0.0/12", cls: "private" },
    { cidr: "192.0.0.0/24", cls: "reserved" },
    { cidr: "192.0.2.0/24", cls: "documentation" },
    { cidr: "192.31.196.0/24", cls: "reserved" },
    { cidr: "192.52.193.0/24", cls: "reserved" },
    { cidr: "192.88.99.0/24", cls: "reserved" },
    { cidr: "192.168.0.0/16", cls: "private" },
    { cidr: "192.175.48.0/24", cls: "reserved" },
    { cidr: "198.18.0.0/15", cls: "reserved" },
    { cidr: "198.51.100.0/24", cls: "documentation" },
    { cidr: "203.0.113.0/24", cls: "documentation" },
    { cidr: "224.0.0.0/4", cls: "multicast" },
    { cidr: "240.0.0.0/4", cls: "reserved" },
    { cidr: "255.255.255.255/32", cls: "broadcast" },
];

/**
 * The classes of the special-purpose blocks a CIDR covers beyond its own network address's class:
 * `64.0.0.0/2` starts in public space but also spans loopback 127.0.0.0/8. Blocks equal to or
 * containing the CIDR are not listed (the CIDR's own class already says what it is).
 */
export function spannedRanges(cidr: string): { cidr: string; cls: AddressClass }[] {
    const own = toCidr(cidr);
    return SPECIAL_RANGES.filter((r) => r.cidr !== own && cidrContains(own, r.cidr)).map((r) => ({ ...r }));
}

/** A dash-separated form of a CIDR, safe in names: `203.0.113.0/24` -> `203-0-113-0-24`. */
export function cidrSlug(cidr: string): string {
    return toCidr(cidr).replace(/[./]/g, "-");
}

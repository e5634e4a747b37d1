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

/** `a.b.c.d/len` with a strict address and 0 <= len <= 32; undefined when malformed. */
export function parseCidr(text: string): { address: string; prefix: number } | undefined {
    const m = /^([0-9.]+)\/([0-9]{1,2})$/.exec(text);
    if (!m || !isIpv4(m[1])) return undefined;
    const prefix = Number(m[2]);
    if (prefix > 32 || String(prefix) !== m[2]) return undefined;
    return { address: m[1], prefix };
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

/** A dotted quad as an unsigned 32-bit integer. Assumes it was validated. */
export function ipToInt(address: string): number {
    return address.split(".").reduce((n, octet) => n * 256 + Number(octet), 0);
}

export function intToIp(n: number): string {
    return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join(".");
}

/** First and last address of a CIDR (or the address itself for a bare host), as dotted quads. */
export function cidrBounds(cidr: string): { first: string; last: string } {
    const [address, prefix] = toCidr(cidr).split("/");
    const size = 2 ** (32 - Number(prefix));
    const first = Math.floor(ipToInt(address) / size) * size;
    return { first: intToIp(first), last: intToIp(first + size - 1) };
}

/** The prefix length of a dotted-quad netmask such as `255.255.255.0`, or undefined when it is not one. */
export function maskToPrefix(mask: string): number | undefined {
    if (!isIpv4(mask)) return undefined;
    const n = ipToInt(mask);
    for (let prefix = 0; prefix <= 32; prefix++) {
        if (n === 2 ** 32 - 2 ** (32 - prefix)) return prefix;
    }
    return undefined;
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

/** Every special-purpose block ipaddr.js knows (plus the documentation ranges), with its class. */
export const SPECIAL_RANGES: readonly { readonly cidr: string; readonly cls: AddressClass }[] = (() => {
    const table = (ipaddr.IPv4.prototype as unknown as { SpecialRanges: Record<string, [ipaddr.IPv4, number][]> }).SpecialRanges;
    const blocks = Object.values(table).flat().map(([address, prefix]) => `${address.toString()}/${prefix}`);
    return [...new Set([...blocks, ...DOCUMENTATION_CIDRS])].map((cidr) => ({ cidr, cls: classify(cidr.split("/")[0]) }));
})();

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

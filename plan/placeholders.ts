/**
 * Text substitutions for what the plan shows. The mocks already hand out placeholders for the
 * values AWS assigns (program/mocks.ts); what is left are values that must be real for the
 * renderers or are random per run: the stand-in addresses of Elastic IPs, and the hashes derived
 * from the placeholder PSK (the generation, the hash of the PSK file).
 */
import type { AddressStandIn } from "../program/mocks";

const IPV4_EDGE = "(?<![0-9.])";
const IPV4_END = "(?![0-9]|\\.[0-9])";

/**
 * Text substitutions applied to every string the plan shows. Exact substrings (ids, hashes) and
 * IPv4 addresses (matched whole, so `192.0.2.1` never rewrites part of `192.0.2.10`).
 */
export class Placeholders {
    private readonly exact: [string, string][] = [];
    private readonly addresses: [RegExp, string][] = [];

    addExact(value: string, replacement: string): this {
        if (value) this.exact.push([value, replacement]);
        this.sort();
        return this;
    }

    addAddress(ip: string, replacement: string): this {
        this.addresses.push([new RegExp(`${IPV4_EDGE}${ip.replace(/\./g, "\\.")}${IPV4_END}`, "g"), replacement]);
        return this;
    }

    /** Each address the mocks handed out, replaced by the placeholder it stands for. */
    addStandIns(standIns: readonly AddressStandIn[]): this {
        for (const s of standIns) this.addAddress(s.address, s.placeholder);
        return this;
    }

    /** A copy with more substitutions on top of these (per-partner values over the stack-wide ones). */
    extend(): Placeholders {
        const copy = new Placeholders();
        copy.exact.push(...this.exact);
        copy.addresses.push(...this.addresses);
        return copy;
    }

    text(value: string): string {
        let out = value;
        for (const [needle, replacement] of this.exact) out = out.split(needle).join(replacement);
        for (const [pattern, replacement] of this.addresses) out = out.replace(pattern, replacement);
        return out;
    }

    /** Applies `text` to every string inside a JSON-like value. */
    value(v: unknown): unknown {
        if (typeof v === "string") return this.text(v);
        if (Array.isArray(v)) return v.map((x) => this.value(x));
        if (v !== null && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, this.value(x)]));
        return v;
    }

    private sort(): void {
        // Longest first, so a value is replaced whole before any shorter one inside it.
        this.exact.sort((a, b) => b[0].length - a[0].length);
    }
}

/**
 * Values the plan must not present as real. Under the mocks every cloud-assigned value (instance
 * and security group ids, network interfaces, EIP allocations and public IPs) is a made-up but
 * deterministic stand-in; the plan replaces each with a placeholder naming the resource and the
 * attribute it will come from, e.g. `<known after pulumi up: bigcorp-endpoint.id>`. The change review
 * relies on that name to trace which inputs reference a resource that is being replaced.
 *
 * The ids are recognised by the digest program/mocks.ts derives them from (sha256 of
 * `type/name`, 17 hex digits); the public IPs come from the stack outputs the program resolved.
 * tests/plan checks that no mocked id survives, so a change to the mocks' scheme fails loudly.
 */
import { createHash } from "crypto";
import type { RecordedResource } from "../program/mocks";

const KNOWN_AFTER_UP = "known after pulumi up";

export function unknownValue(resource: string, attribute: string): string {
    return `<${KNOWN_AFTER_UP}: ${resource}.${attribute}>`;
}

/** Matches every placeholder; group 1 is the resource name, group 2 the attribute. */
export const UNKNOWN_VALUE = /<known after pulumi up: ([^<>]+)\.(\w+)>/g;

/** The resource names a value refers to through placeholders. */
export function referencedResources(value: unknown): Set<string> {
    const names = new Set<string>();
    const text = JSON.stringify(value) ?? "";
    for (const m of text.matchAll(UNKNOWN_VALUE)) names.add(m[1]);
    return names;
}

function mockDigest(type: string, name: string): string {
    return createHash("sha256").update(`${type}/${name}`).digest("hex").slice(0, 17);
}

/** The ids the mocks hand out for a created resource (see mockState in program/mocks.ts). */
function mockedIds(r: RecordedResource): [string, string][] {
    const h = mockDigest(r.type, r.name);
    switch (r.type) {
        case "aws:ec2/eip:Eip":
            return [[`eipalloc-${h}`, unknownValue(r.name, "allocationId")]];
        case "aws:ec2/instance:Instance":
            return [
                [`arn:aws:ec2:::instance/i-${h}`, unknownValue(r.name, "arn")],
                [`i-${h}`, unknownValue(r.name, "id")],
                [`eni-${h}`, unknownValue(r.name, "primaryNetworkInterfaceId")],
            ];
        case "aws:ec2/securityGroup:SecurityGroup":
            return [[`sg-${h}`, unknownValue(r.name, "id")]];
        case "command:remote:Command":
            return [[`cmd-${h}`, unknownValue(r.name, "id")]];
        case "aws:iam/role:Role":
        case "aws:iam/instanceProfile:InstanceProfile": {
            const kind = r.type === "aws:iam/role:Role" ? "role" : "instance-profile";
            return [
                [`arn:aws:iam::123456789012:${kind}/${r.name}-${h.slice(0, 7)}`, unknownValue(r.name, "arn")],
                [`${r.name}-${h.slice(0, 7)}`, unknownValue(r.name, "name")],
            ];
        }
        case "aws:sns/topic:Topic":
            return [[`arn:aws:sns:eu-west-1:123456789012:${r.name}-${h.slice(0, 7)}`, unknownValue(r.name, "arn")]];
        default:
            return [[`${r.name}-${h.slice(0, 8)}`, unknownValue(r.name, "id")]];
    }
}

const IPV4_EDGE = "(?<![0-9.])";
const IPV4_END = "(?![0-9]|\\.[0-9])";

/**
 * Text substitutions applied to every string the plan shows. Exact substrings (ids, hashes) and
 * IPv4 addresses (matched whole, so `192.0.2.1` never rewrites part of `192.0.2.10`).
 */
export class Placeholders {
    private readonly exact: [string, string][] = [];
    private readonly addresses: [RegExp, string][] = [];

    /** Replaces the mocked ids of every created resource. Read resources keep their real ids. */
    addMockedIds(resources: readonly RecordedResource[]): this {
        for (const r of resources) if (!r.read) this.exact.push(...mockedIds(r));
        this.sort();
        return this;
    }

    addExact(value: string, replacement: string): this {
        if (value) this.exact.push([value, replacement]);
        this.sort();
        return this;
    }

    addAddress(ip: string, replacement: string): this {
        this.addresses.push([new RegExp(`${IPV4_EDGE}${ip.replace(/\./g, "\\.")}${IPV4_END}`, "g"), replacement]);
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
        // Longest first, so an ARN is replaced whole before the instance id inside it.
        this.exact.sort((a, b) => b[0].length - a[0].length);
    }
}

/**
 * Field readers for validation: each checks one value at one path, records a problem naming the
 * path and what was expected, and returns the value (or undefined) so validation can go on and
 * report every problem of a config at once.
 */
import { classify, isIpv4, networkAddress, parseCidr, type AddressClass } from "./addresses";

export interface ValidationIssue {
    /** Field path, e.g. `partners[1].remoteHosts[0]`. */
    readonly path: string;
    readonly message: string;
}

export function formatIssue(issue: ValidationIssue): string {
    return `${issue.path}: ${issue.message}`;
}

export type Raw = Record<string, unknown>;

function show(value: unknown): string {
    if (typeof value === "string") return JSON.stringify(value);
    if (value === undefined) return "nothing";
    if (value === null) return "null";
    if (Array.isArray(value)) return "a list";
    if (typeof value === "object") return "an object";
    return String(value);
}

/** Levenshtein distance, for "did you mean" on unknown keys. */
function distance(a: string, b: string): number {
    const row = Array.from({ length: b.length + 1 }, (_, i) => i);
    for (let i = 1; i <= a.length; i++) {
        let prev = row[0];
        row[0] = i;
        for (let j = 1; j <= b.length; j++) {
            const cur = row[j];
            row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1));
            prev = cur;
        }
    }
    return row[b.length];
}

export interface AddressRules {
    /** Address classes accepted besides `public`. */
    readonly allow: readonly AddressClass[];
    /** Human wording of what is expected, e.g. "a public IPv4 address". */
    readonly expected: string;
}

export class FieldReader {
    readonly errors: ValidationIssue[] = [];
    readonly warnings: ValidationIssue[] = [];

    constructor(private readonly allowDocumentation: boolean) {}

    error(path: string, message: string): undefined {
        this.errors.push({ path, message });
        return undefined;
    }

    warn(path: string, message: string): void {
        this.warnings.push({ path, message });
    }

    /** An object with only the given keys; unknown keys are errors with a suggestion. */
    object(path: string, value: unknown, keys: readonly string[], required: boolean): Raw | undefined {
        if (value === undefined || value === null) {
            return required ? this.error(path, "is required (an object)") : undefined;
        }
        if (typeof value !== "object" || Array.isArray(value)) {
            return this.error(path, `expected an object, got ${show(value)}`);
        }
        for (const key of Object.keys(value)) {
            if (keys.includes(key)) continue;
            const near = keys.filter((k) => distance(k, key) <= 2);
            const hint = near.length > 0 ? `; did you mean ${near.map((k) => `"${k}"`).join(" or ")}?` : `; known keys: ${keys.join(", ")}`;
            this.error(`${path ? path + "." : ""}${key}`, `unknown key${hint}`);
        }
        return value as Raw;
    }

    list(path: string, value: unknown, required: boolean, minItems = 0): unknown[] | undefined {
        if (value === undefined || value === null) {
            return required ? this.error(path, `is required (a list${minItems > 0 ? ` of at least ${minItems}` : ""})`) : undefined;
        }
        if (!Array.isArray(value)) return this.error(path, `expected a list, got ${show(value)}`);
        if (value.length < minItems) return this.error(path, `expected at least ${minItems} item${minItems > 1 ? "s" : ""}, got none`);
        return value;
    }

    string(path: string, value: unknown, required: boolean, pattern?: RegExp, expected?: string): string | undefined {
        if (value === undefined || value === null) return required ? this.error(path, "is required") : undefined;
        if (typeof value !== "string") return this.error(path, `expected a string, got ${show(value)}`);
        if (pattern && !pattern.test(value)) return this.error(path, `${show(value)} is not ${expected ?? `a match for ${pattern}`}`);
        return value;
    }

    oneOf<T extends string | number>(path: string, value: unknown, choices: readonly T[], fallback?: T): T | undefined {
        if (value === undefined || value === null) {
            return fallback !== undefined ? fallback : this.error(path, `is required (one of ${choices.join(", ")})`);
        }
        if (!choices.includes(value as T)) return this.error(path, `${show(value)} is not one of ${choices.join(", ")}`);
        return value as T;
    }

    integer(path: string, value: unknown, min: number, max: number, fallback?: number): number | undefined {
        if (value === undefined || value === null) {
            return fallback !== undefined ? fallback : this.error(path, `is required (an integer from ${min} to ${max})`);
        }
        if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
            return this.error(path, `${show(value)} is not an integer from ${min} to ${max}`);
        }
        return value;
    }

    boolean(path: string, value: unknown, fallback: boolean): boolean {
        if (value === undefined || value === null) return fallback;
        if (typeof value !== "boolean") {
            this.error(path, `expected true or false, got ${show(value)}`);
            return fallback;
        }
        return value;
    }

    /** A strict dotted-quad IPv4 address of an accepted class. */
    ipv4(path: string, value: unknown, rules: AddressRules): string | undefined {
        const text = this.string(path, value, true);
        if (text === undefined) return undefined;
        if (!isIpv4(text)) return this.error(path, `${show(text)} is not an IPv4 address`);
        return this.checkClass(path, text, text, text, rules);
    }

    /** A host or CIDR, normalised to CIDR form, without host bits. */
    cidr(path: string, value: unknown, rules: AddressRules, allowBareHost: boolean): string | undefined {
        const text = this.string(path, value, true);
        if (text === undefined) return undefined;
        if (allowBareHost && isIpv4(text)) return this.checkClass(path, text, text, `${text}/32`, rules);
        const parsed = parseCidr(text);
        if (!parsed) {
            return this.error(path, `${show(text)} is not ${allowBareHost ? "an IPv4 address or CIDR" : "an IPv4 CIDR"} (a.b.c.d/len)`);
        }
        const net = networkAddress(parsed.address, parsed.prefix);
        if (net !== parsed.address) {
            return this.error(path, `${show(text)} has host bits set; did you mean "${net}/${parsed.prefix}"?`);
        }
        return this.checkClass(path, text, parsed.address, text, rules);
    }

    private checkClass(path: string, text: string, address: string, result: string, rules: AddressRules): string | undefined {
        const cls = classify(address);
        if (rules.allow.includes(cls)) return result;
        if (cls === "documentation" && this.allowDocumentation) return result;
        const hint = cls === "documentation" ? " (documentation ranges are accepted only with allowDocumentationAddresses: true, for labs and tests)" : "";
        return this.error(path, `${show(text)} is a ${cls} address; expected ${rules.expected}${hint}`);
    }
}

export const PUBLIC: AddressRules = { allow: ["public"], expected: "a public IPv4 address" };
/** Partner encryption domains: public normally; some partners still use private ranges. */
export const PARTNER_DOMAIN: AddressRules = { allow: ["public", "private", "shared"], expected: "a routable unicast IPv4 host or network" };
/** Our VPC side: private normally; AWS also allows VPCs on public ranges. */
export const VPC_ADDRESS: AddressRules = { allow: ["public", "private", "shared"], expected: "a unicast IPv4 address or network usable in a VPC" };
/** SSH sources: anything unicast, and 0.0.0.0/0 when asked for explicitly. */
export const SSH_SOURCE: AddressRules = { allow: ["public", "private", "shared", "unspecified"], expected: "an IPv4 CIDR" };

/**
 * Field readers for validation: each checks one value at one path, records a problem naming the
 * path and what was expected, and returns the value (or undefined) so validation can go on and
 * report every problem of a config at once.
 *
 * Readers never coerce: a port written as the string "8080", a mode in the wrong case or an
 * address with a stray space is an error that says what to write instead.
 */
import { classify, isIpv4, maskToPrefix, networkAddress, parseCidr, spannedRanges, type AddressClass } from "./addresses";

export interface ValidationIssue {
    /** Field path, e.g. `partners[1].remoteHosts[0]`. */
    readonly path: string;
    readonly message: string;
}

export function formatIssue(issue: ValidationIssue): string {
    return `${issue.path}: ${issue.message}`;
}

export type Raw = Record<string, unknown>;

/** The path used for problems with the config as a whole (it is not an object at all). */
export const ROOT_PATH = "partner-vpn";

/** A string as it would be typed, with anything invisible or non-ASCII spelled out as \uXXXX. */
export function quote(text: string): string {
    return JSON.stringify(text).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

export function show(value: unknown): string {
    if (typeof value === "string") return quote(value);
    if (value === undefined) return "nothing";
    if (value === null) return "null";
    if (Array.isArray(value)) return "a list";
    if (typeof value === "object") return "an object";
    if (typeof value === "function") return "a function";
    return String(value);
}

/** `path.key`, or `path["odd key"]` for a key that is empty or not a plain word. */
export function keyPath(path: string, key: string): string {
    if (/^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(key)) return path ? `${path}.${key}` : key;
    return `${path}[${quote(key)}]`;
}

/** Levenshtein distance, case-insensitive, for "did you mean" suggestions. */
export function distance(a: string, b: string): number {
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

/** Candidates within edit distance 2 (case-insensitive), nearest first. */
export function nearest(word: string, candidates: readonly string[]): string[] {
    if (word.length > 64) return [];
    return candidates
        .map((c) => ({ c, d: distance(c, word) }))
        .filter((x) => x.d <= 2 && x.d < Math.max(word.length, 2))
        .sort((x, y) => x.d - y.d)
        .map((x) => x.c);
}

/**
 * What is wrong with the characters of a string, if anything: surrounding whitespace, or an
 * invisible or non-ASCII character (a no-break or zero-width space, a typographic dash) that
 * came along from a mail or a document. Undefined when the string is plain printable ASCII
 * without surrounding whitespace.
 */
export function characterProblem(text: string): string | undefined {
    if (text !== text.trim()) {
        return `${quote(text)} has leading or trailing whitespace; remove it (a paste from a mail or document?)`;
    }
    const bad = /[^\x20-\x7e]/.exec(text);
    if (bad) {
        const code = `U+${bad[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")}`;
        return `${quote(text)} contains an invisible or non-ASCII character (${code}) at position ${bad.index + 1}; retype it in plain ASCII`;
    }
    return undefined;
}

/** A hint for address text that is not a.b.c.d or a.b.c.d/len, when we can guess the intent. */
export function addressHint(text: string, wantCidr: boolean): string {
    const mask = /^(\S+)\s*(?:\/|\s)\s*(\d+\.\d+\.\d+\.\d+)$/.exec(text);
    if (mask && isIpv4(mask[1])) {
        const prefix = maskToPrefix(mask[2]);
        if (prefix !== undefined) return `; write the netmask as a prefix length: "${mask[1]}/${prefix}"`;
        return "; expected a prefix length (a.b.c.d/len), and that netmask is not a valid one";
    }
    if (/[,;]|\S\s+\S/.test(text)) return "; give one address or CIDR per list item";
    if (/^\d+\.\d+\.\d+\.\d+\s*-\s*\d+/.test(text)) return "; address ranges are not supported, list them as CIDRs";
    if (text.includes("*")) return "; wildcards are not supported, write a CIDR such as 10.1.2.0/24";
    if (/^\d+\.\d+\.\d+\.\d+:\d+$/.test(text)) return "; give the address without a port (ports have their own fields)";
    if (/^\d+(\.\d+){0,2}$/.test(text)) return "; all four parts of the address are needed";
    if (/(^|\.)0\d/.test(text)) return "; parts of an address may not have leading zeros";
    if (/\/0\d/.test(text)) return "; a prefix length may not have a leading zero";
    if (/\/\d+$/.test(text) && Number(text.split("/")[1]) > 32) return "; a prefix length is at most 32";
    if (wantCidr && /^\d+\.\d+\.\d+\.\d+$/.test(text)) return "; an octet is above 255";
    return "";
}

export interface AddressRules {
    /** Address classes accepted besides `public`. */
    readonly allow: readonly AddressClass[];
    /** Human wording of what is expected, e.g. "a public IPv4 address". */
    readonly expected: string;
    /** Accept exactly `0.0.0.0/0` (the caller warns about it). */
    readonly allowEverywhere?: boolean;
}

export class FieldReader {
    readonly errors: ValidationIssue[] = [];
    readonly warnings: ValidationIssue[] = [];

    constructor(readonly allowDocumentation: boolean) {}

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
            return required ? this.error(path || ROOT_PATH, "is required (an object)") : undefined;
        }
        if (typeof value !== "object" || Array.isArray(value)) {
            return this.error(path || ROOT_PATH, `expected an object, got ${show(value)}`);
        }
        for (const key of Object.keys(value)) {
            if (keys.includes(key)) continue;
            const near = nearest(key, keys);
            const hint = near.length > 0 ? `; did you mean ${near.map((k) => `"${k}"`).join(" or ")}?` : `; known keys: ${keys.join(", ")}`;
            this.error(keyPath(path, key), `unknown key${hint}`);
        }
        return value as Raw;
    }

    list(path: string, value: unknown, required: boolean, minItems = 0): unknown[] | undefined {
        if (value === undefined || value === null) {
            return required ? this.error(path, `is required (a list${minItems > 0 ? ` of at least ${minItems}` : ""})`) : undefined;
        }
        if (!Array.isArray(value)) {
            const hint = typeof value === "string" ? "; write it as a YAML list, one item per line starting with '- '" : "";
            return this.error(path, `expected a list, got ${show(value)}${hint}`);
        }
        if (value.length < minItems) return this.error(path, `expected at least ${minItems} item${minItems > 1 ? "s" : ""}, got none`);
        return value;
    }

    string(path: string, value: unknown, required: boolean, pattern?: RegExp, expected?: string): string | undefined {
        if (value === undefined || value === null) return required ? this.error(path, `is required${expected ? `; expected ${expected}` : ""}`) : undefined;
        if (typeof value !== "string") return this.error(path, `expected ${expected ?? "a string"}, got ${show(value)}`);
        const chars = characterProblem(value);
        if (chars) return this.error(path, chars);
        if (pattern && !pattern.test(value)) return this.error(path, `${show(value)} is not ${expected ?? `a match for ${pattern}`}`);
        return value;
    }

    oneOf<T extends string | number>(path: string, value: unknown, choices: readonly T[], fallback?: T): T | undefined {
        const list = choices.join(", ");
        if (value === undefined || value === null) {
            return fallback !== undefined ? fallback : this.error(path, `is required (one of ${list})`);
        }
        if (choices.includes(value as T)) return value as T;
        let hint = "";
        if (typeof value === "string") {
            const chars = characterProblem(value);
            const asNumber = choices.find((c) => typeof c === "number" && String(c) === value.trim());
            const near = nearest(value, choices.filter((c): c is T & string => typeof c === "string"));
            if (chars) hint = `; ${chars}`;
            else if (asNumber !== undefined) hint = `; write the number ${asNumber} without quotes`;
            else if (near.length > 0) hint = `; did you mean "${near[0]}"? (values are case-sensitive)`;
        }
        return this.error(path, `${show(value)} is not one of ${list}${hint}`);
    }

    integer(path: string, value: unknown, min: number, max: number, fallback?: number): number | undefined {
        if (value === undefined || value === null) {
            return fallback !== undefined ? fallback : this.error(path, `is required (an integer from ${min} to ${max})`);
        }
        if (typeof value === "number" && Number.isInteger(value) && value >= min && value <= max) return value;
        let hint = "";
        if (typeof value === "string" && /^\s*-?\d+\s*$/.test(value)) hint = `; write the number ${value.trim()} without quotes`;
        else if (typeof value === "string" && /^\d+\s*[smhd]$/.test(value.trim())) hint = "; give a plain number of seconds, e.g. 28800 for 8h";
        return this.error(path, `${show(value)} is not an integer from ${min} to ${max}${hint}`);
    }

    boolean(path: string, value: unknown, fallback: boolean): boolean {
        if (value === undefined || value === null) return fallback;
        if (typeof value !== "boolean") {
            const hint = typeof value === "string" && /^(true|false)$/i.test(value.trim()) ? `; write ${value.trim().toLowerCase()} without quotes` : "";
            this.error(path, `expected true or false, got ${show(value)}${hint}`);
            return fallback;
        }
        return value;
    }

    /** A strict dotted-quad IPv4 address of an accepted class. */
    ipv4(path: string, value: unknown, rules: AddressRules): string | undefined {
        const text = this.string(path, value, true, undefined, "an IPv4 address");
        if (text === undefined) return undefined;
        if (!isIpv4(text)) {
            const cidr = parseCidr(text);
            if (cidr) {
                const hint = cidr.prefix === 32 ? `write it without /32: "${cidr.address}"` : `give the single address without /${cidr.prefix}`;
                return this.error(path, `${show(text)} is a CIDR; expected a single IPv4 address (${hint})`);
            }
            return this.error(path, `${show(text)} is not an IPv4 address (a.b.c.d)${addressHint(text, false)}`);
        }
        return this.checkClass(path, text, text, text, rules);
    }

    /** A host or CIDR, normalised to CIDR form, without host bits. */
    cidr(path: string, value: unknown, rules: AddressRules, allowBareHost: boolean): string | undefined {
        const expected = allowBareHost ? "an IPv4 address or CIDR" : "an IPv4 CIDR";
        const text = this.string(path, value, true, undefined, expected);
        if (text === undefined) return undefined;
        if (isIpv4(text)) {
            if (allowBareHost) return this.checkClass(path, text, text, `${text}/32`, rules);
            return this.error(path, `${show(text)} is a bare address; expected an IPv4 CIDR (a.b.c.d/len), e.g. "${text}/32" for this host alone`);
        }
        const parsed = parseCidr(text);
        if (!parsed) return this.error(path, `${show(text)} is not ${expected} (a.b.c.d/len)${addressHint(text, true)}`);
        const net = networkAddress(parsed.address, parsed.prefix);
        if (net !== parsed.address) {
            return this.error(path, `${show(text)} has host bits set; expected a network address, did you mean "${net}/${parsed.prefix}"?`);
        }
        if (rules.allowEverywhere && text === "0.0.0.0/0") return text;
        if (this.checkClass(path, text, parsed.address, text, rules) === undefined) return undefined;
        const foreign = spannedRanges(text).filter((s) => !this.accepts(s.cls, rules));
        if (foreign.length > 0) {
            const spans = foreign.map((s) => `${s.cls} ${s.cidr}`).join(", ");
            return this.error(path, `${show(text)} spans ${spans}; expected ${rules.expected} (split it into CIDRs that avoid ${foreign.length > 1 ? "those ranges" : "that range"})`);
        }
        return text;
    }

    private accepts(cls: AddressClass, rules: AddressRules): boolean {
        return cls === "public" || rules.allow.includes(cls) || (cls === "documentation" && this.allowDocumentation);
    }

    private checkClass(path: string, text: string, address: string, result: string, rules: AddressRules): string | undefined {
        const cls = classify(address);
        if (this.accepts(cls, rules)) return result;
        const hint = cls === "documentation" ? " (documentation ranges are accepted only with allowDocumentationAddresses: true, for labs and tests)" : "";
        return this.error(path, `${show(text)} is ${cls === "unspecified" ? "an" : "a"} ${cls} address; expected ${rules.expected}${hint}`);
    }
}

export const PUBLIC: AddressRules = { allow: ["public"], expected: "a public IPv4 address" };
/** Partner encryption domains: public normally; some partners still use private ranges. */
export const PARTNER_DOMAIN: AddressRules = { allow: ["public", "private", "shared"], expected: "a routable unicast IPv4 host or network" };
/** Our VPC side: private normally; AWS also allows VPCs on public ranges. */
export const VPC_ADDRESS: AddressRules = { allow: ["public", "private", "shared"], expected: "a unicast IPv4 address or network usable in a VPC" };
/** SSH sources: unicast networks, and 0.0.0.0/0 (with a warning) when asked for explicitly. */
export const SSH_SOURCE: AddressRules = { allow: ["public", "private", "shared"], expected: "a unicast IPv4 CIDR (or 0.0.0.0/0)", allowEverywhere: true };

/**
 * Defence in depth for the renderers: validation already rejects bad values, but a renderer must
 * never let a value break out of its context (a swanctl value, an nginx directive, a shell word,
 * an iptables argument) even if it is called with unvalidated input. Each guard throws rather
 * than escape, because a config that needs escaping is a config that was not validated.
 */
import { isIpv4, parseCidr } from "../addresses";

export class RenderError extends Error {
    constructor(context: string, value: unknown, expected: string) {
        super(`refusing to render ${context}: ${JSON.stringify(value)} is not ${expected}`);
        this.name = "RenderError";
    }
}

/** A bare IPv4 address. */
export function ipv4(context: string, value: string): string {
    if (typeof value !== "string" || !isIpv4(value)) throw new RenderError(context, value, "an IPv4 address");
    return value;
}

/** An IPv4 CIDR `a.b.c.d/len`. */
export function cidr(context: string, value: string): string {
    if (typeof value !== "string" || !parseCidr(value)) throw new RenderError(context, value, "an IPv4 CIDR");
    return value;
}

export function port(context: string, value: number): number {
    if (!Number.isInteger(value) || value < 1 || value > 65535) throw new RenderError(context, value, "a port from 1 to 65535");
    return value;
}

export function integer(context: string, value: number, min: number, max: number): number {
    if (!Number.isInteger(value) || value < min || value > max) throw new RenderError(context, value, `an integer from ${min} to ${max}`);
    return value;
}

/** A name used in file names, chain names and config section names: a lowercase DNS label. */
export function label(context: string, value: string): string {
    if (typeof value !== "string" || !/^[a-z]([a-z0-9-]{0,16}[a-z0-9])?$/.test(value)) {
        throw new RenderError(context, value, "a lowercase DNS label of at most 18 characters");
    }
    return value;
}

/** A swanctl.conf value with no characters the settings parser treats specially. */
export function swanctlToken(context: string, value: string): string {
    if (typeof value !== "string" || !/^[A-Za-z0-9@._:/-]{1,128}$/.test(value)) {
        throw new RenderError(context, value, "a plain swanctl token (letters, digits, @ . _ : / -)");
    }
    return value;
}

/** A shell word, single-quoted; refuses values that need anything beyond a safe charset. */
export function shellWord(context: string, value: string): string {
    if (typeof value !== "string" || !/^[A-Za-z0-9@%+=:,./_-]{1,256}$/.test(value)) {
        throw new RenderError(context, value, "a plain shell word");
    }
    return `'${value}'`;
}

/**
 * An IKE identity for Libreswan's ipsec.conf (`rightid=`) and ipsec.secrets (an index): an IPv4
 * address, `@fqdn` or `user@fqdn`. A bare name would be resolved through DNS at load time (as
 * an IP identity), so it gets the `@` that makes it a literal FQDN identity, as strongSwan
 * treats it. No character that either file treats specially (space, quote, `:`, `#`, `=`).
 */
export function libreswanId(context: string, value: string): string {
    if (typeof value !== "string" || !/^[A-Za-z0-9@._-]{1,128}$/.test(value) || /@.*@/.test(value) || value.endsWith("@")) {
        throw new RenderError(context, value, "an IKE identity Libreswan reads literally (IPv4 address, FQDN or user@FQDN)");
    }
    if (isIpv4(value) || value.includes("@")) return value;
    return `@${value}`;
}

/**
 * Reads a Pulumi stack file (Pulumi.<stack>.yaml) into the flat key -> string map the Pulumi
 * runtime uses for config, without the Pulumi CLI. Encrypted values (`secure:`) cannot be read
 * offline; they are reported so callers can say so rather than guess.
 */
import { readFileSync } from "fs";
import * as YAML from "yaml";
import { CONFIG_NAMESPACE } from "../core/config";

export interface StackFileConfig {
    /** Runtime config: full key (`partner-vpn:partners`) -> value as the runtime stores it. */
    readonly values: Record<string, string>;
    /** Keys whose value is encrypted in the file. */
    readonly encryptedKeys: readonly string[];
}

function hasSecure(value: unknown): boolean {
    if (value === null || typeof value !== "object") return false;
    if (!Array.isArray(value) && Object.keys(value).length === 1 && "secure" in value) return true;
    return Object.values(value).some(hasSecure);
}

export function parseStackFile(text: string, source = "stack file"): StackFileConfig {
    const doc = YAML.parse(text) as { config?: Record<string, unknown> } | null;
    if (!doc || typeof doc !== "object" || typeof doc.config !== "object" || doc.config === null) {
        throw new Error(`${source}: expected a top-level "config:" map`);
    }
    const values: Record<string, string> = {};
    const encryptedKeys: string[] = [];
    for (const [key, value] of Object.entries(doc.config)) {
        if (hasSecure(value)) {
            encryptedKeys.push(key);
            continue;
        }
        values[key] = typeof value === "string" ? value : JSON.stringify(value);
    }
    return { values, encryptedKeys };
}

export function readStackFile(path: string): StackFileConfig {
    return parseStackFile(readFileSync(path, "utf8"), path);
}

/** Our keys without the namespace, values parsed back from their runtime string form. */
export function projectConfig(values: Readonly<Record<string, string | undefined>>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const prefix = `${CONFIG_NAMESPACE}:`;
    for (const [key, value] of Object.entries(values)) {
        if (!key.startsWith(prefix) || value === undefined) continue;
        out[key.slice(prefix.length)] = parseConfigValue(value);
    }
    return out;
}

/** The runtime stores objects, lists, numbers and booleans as JSON text and strings as-is. */
export function parseConfigValue(value: string): unknown {
    const trimmed = value.trim();
    if (/^[[{]/.test(trimmed) || /^(true|false|null|-?[0-9]+(\.[0-9]+)?)$/.test(trimmed)) {
        try {
            return JSON.parse(trimmed);
        } catch {
            return value;
        }
    }
    return value;
}

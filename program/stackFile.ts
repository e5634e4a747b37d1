/**
 * The one reader of Pulumi stack files (Pulumi.<stack>.yaml) and of runtime config: the flat
 * key -> string map the Pulumi runtime uses, without the Pulumi CLI, and the one place that
 * separates the secret keys from the plain config. Encrypted values (`secure:`) cannot be read
 * offline; they are reported so callers can say so rather than guess.
 */
import { readFileSync } from "fs";
import * as YAML from "yaml";
import { CONFIG_KEYS, CONFIG_NAMESPACE, runtimeKey, SECRET_RUNTIME_KEYS } from "../core/config";
import type { StackSecrets } from "../core/model";

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

/** The runtime config without the secret keys, and which secret keys were there. */
export function withoutSecrets(values: Readonly<Record<string, string>>): { values: Record<string, string>; removed: string[] } {
    const plain = { ...values };
    const removed = SECRET_RUNTIME_KEYS.filter((key) => key in plain);
    for (const key of removed) delete plain[key];
    return { values: plain, removed };
}

/** Our plain config (namespace and secret keys removed, values parsed): what validateStackConfig takes. */
export function plainConfig(values: Readonly<Record<string, string | undefined>>): Record<string, unknown> {
    const defined = Object.fromEntries(Object.entries(values).filter((e): e is [string, string] => e[1] !== undefined));
    return projectConfig(withoutSecrets(defined).values);
}

/** A stack file's plain config (namespace and secret keys removed), as validateStackConfig takes it. */
export function readStackConfig(path: string): Record<string, unknown> {
    return plainConfig(readStackFile(path).values);
}

/** The secrets as runtime config entries, the way `pulumi config set --secret` stores them. */
export function secretConfigValues(secrets: StackSecrets): Record<string, string> {
    return {
        [runtimeKey(CONFIG_KEYS.psks)]: JSON.stringify(secrets.psks),
        [runtimeKey(CONFIG_KEYS.sshPrivateKey)]: secrets.sshPrivateKey,
    };
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

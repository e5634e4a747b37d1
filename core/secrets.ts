/**
 * Checks on the secret stack keys (`psks`, `sshPrivateKey`). Messages never echo a secret value,
 * only what is wrong with it: not even its type's printed form, since a PSK set as a number or a
 * key pasted into the wrong place would otherwise appear in clear in the output.
 */
import type { FieldReader } from "./fields";

export const PSK_MIN_LENGTH = 20;
/** Many partner devices (older ASAs, some Juniper releases) refuse longer keys. */
export const PSK_MAX_LENGTH = 64;
/** Fewer distinct characters than this is a typed pattern (`aaaa...`, `abab...`), not a random key. */
export const PSK_MIN_DISTINCT = 6;

/** Keys copied from write-ups and vendor examples; a partner who received one must get a real key. */
const EXAMPLE_PSKS = [
    "mysupersecuresecret", "changeme", "password", "passw0rd", "secret", "presharedkey", "sharedkey", "examplekey",
    "test1234", "12345678", "qwerty", "letmein", "abcdefgh",
];

const PRINTABLE_NO_QUOTES = /^[\x21\x23-\x26\x28-\x5b\x5d-\x7e]+$/;

const SET_PSK = (name: string) => `pulumi config set --secret --path 'psks.${name}' "$(openssl rand -base64 36 | tr -d '/+=' | cut -c1-40)"`;

/** The kind of a value, never the value itself. */
function kindOf(value: unknown): string {
    if (value === null) return "null";
    if (Array.isArray(value)) return "a list";
    if (typeof value === "object") return "an object";
    return `a ${typeof value}`;
}

/** Why a PSK is unacceptable, or undefined when it is fine. */
export function pskProblem(psk: string): string | undefined {
    // First, so that a copied example is named as such even when it is also too short.
    const folded = psk.toLowerCase();
    if (EXAMPLE_PSKS.some((e) => folded.includes(e))) return "is, or contains, a well-known example value; expected a random key (e.g. openssl rand -base64 36)";
    if (psk.length < PSK_MIN_LENGTH) return `is ${psk.length} characters; expected at least ${PSK_MIN_LENGTH}`;
    if (psk.length > PSK_MAX_LENGTH) return `is ${psk.length} characters; expected at most ${PSK_MAX_LENGTH} (many partner devices refuse longer keys)`;
    if (/[\r\n]/.test(psk)) return "contains a line break; expected printable ASCII without quotes, spaces or backslashes";
    if (/["']/.test(psk)) return "contains a quote; expected printable ASCII without quotes, spaces or backslashes";
    if (!PRINTABLE_NO_QUOTES.test(psk)) return "contains spaces, backslashes or non-printable characters; expected printable ASCII without quotes, spaces or backslashes";
    if (new Set(psk).size < PSK_MIN_DISTINCT) return `uses fewer than ${PSK_MIN_DISTINCT} distinct characters; expected a random key (e.g. openssl rand -base64 36)`;
    return undefined;
}

const SSH_KEY = /^-----BEGIN (OPENSSH|RSA|EC) PRIVATE KEY-----\r?\n([\s\S]+)\r?\n-----END \1 PRIVATE KEY-----\s*$/;
const OPENSSH_MAGIC = "openssh-key-v1\0";

/** Why an SSH private key is unusable by the remote commands, or undefined when it looks fine. */
export function sshKeyProblem(key: string): string | undefined {
    const setIt = "set it from the key file: pulumi config set --secret sshPrivateKey < ~/.ssh/partner-vpn";
    if (/^(ssh-(rsa|ed25519|dss)|ecdsa-sha2-\S+) /.test(key.trim())) return `is a public key; expected the private key; ${setIt}`;
    if (/-----BEGIN ENCRYPTED PRIVATE KEY-----/.test(key)) return "is encrypted with a passphrase; the remote commands need an unencrypted key";
    if (!key.includes("\n") && key.includes("\\n")) return `contains literal "\\n" sequences instead of line breaks; ${setIt}`;
    const m = SSH_KEY.exec(key);
    if (!m) return `is not a PEM or OpenSSH private key (-----BEGIN ... PRIVATE KEY----- ... -----END ... PRIVATE KEY-----); ${setIt}`;
    if (/^Proc-Type:\s*4,ENCRYPTED/m.test(m[2])) return "is encrypted with a passphrase; the remote commands need an unencrypted key";
    if (m[1] !== "OPENSSH") return undefined;
    const body = m[2].replace(/\s+/g, "");
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body)) return "is not an OpenSSH private key: its body is not base64";
    const bytes = Buffer.from(body, "base64");
    if (bytes.subarray(0, OPENSSH_MAGIC.length).toString("latin1") !== OPENSSH_MAGIC) return "is not an OpenSSH private key: its body lacks the openssh-key-v1 header";
    const at = OPENSSH_MAGIC.length;
    if (bytes.length < at + 4) return "is not an OpenSSH private key: it is truncated";
    const cipherLength = bytes.readUInt32BE(at);
    if (bytes.length < at + 4 + cipherLength) return "is not an OpenSSH private key: it is truncated";
    const cipher = bytes.subarray(at + 4, at + 4 + cipherLength).toString("latin1");
    if (cipher !== "none") return "is encrypted with a passphrase; the remote commands need an unencrypted key";
    return undefined;
}

/**
 * Checks `psks` (one valid key per partner name) and `sshPrivateKey`. `allNamesKnown` is false
 * when some partner's name is itself invalid: keys for partners not in `partnerNames` are then
 * not reported, since they may belong to that partner once its name is fixed.
 */
export function validatePartnerSecrets(r: FieldReader, partnerNames: readonly string[], psks: unknown, sshPrivateKey: unknown, allNamesKnown = true): void {
    const names = [...new Set(partnerNames)];
    if (psks === undefined || psks === null) {
        r.error("psks", `is required (a secret object with one key per partner: ${names.join(", ")}); set each with: ${SET_PSK("<partner>")}`);
    } else if (typeof psks !== "object" || Array.isArray(psks)) {
        // Never show the value: a PSK set directly as `psks` would be printed in clear.
        r.error("psks", `expected an object (partner name -> key), got ${kindOf(psks)}; set each partner's key with: ${SET_PSK("<partner>")}`);
    } else {
        const map = psks as Record<string, unknown>;
        if (allNamesKnown) r.object("psks", psks, names, false);
        const seen = new Map<string, string>();
        for (const name of names) {
            const psk = map[name];
            if (psk === undefined || psk === null) {
                r.error(`psks.${name}`, `is missing; run: ${SET_PSK(name)}`);
            } else if (typeof psk !== "string") {
                r.error(`psks.${name}`, `expected a string, got ${kindOf(psk)}`);
            } else {
                const problem = pskProblem(psk);
                if (problem) r.error(`psks.${name}`, problem);
                else if (seen.has(psk)) r.error(`psks.${name}`, `is the same key as psks.${seen.get(psk)}; give each partner its own key`);
                else seen.set(psk, name);
            }
        }
    }
    if (sshPrivateKey === undefined || sshPrivateKey === null || sshPrivateKey === "") {
        r.error("sshPrivateKey", "is required; run: pulumi config set --secret sshPrivateKey < ~/.ssh/partner-vpn");
    } else if (typeof sshPrivateKey !== "string") {
        r.error("sshPrivateKey", `expected a string (the private key file's content), got ${kindOf(sshPrivateKey)}`);
    } else {
        const problem = sshKeyProblem(sshPrivateKey);
        if (problem) r.error("sshPrivateKey", problem);
    }
}

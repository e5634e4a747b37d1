/**
 * Checks on the secret stack keys (`psks`, `sshPrivateKey`). Messages never echo a secret value,
 * only what is wrong with it.
 */
import type { FieldReader } from "./fields";

export const PSK_MIN_LENGTH = 20;
/** Many partner devices (older ASAs, some Juniper releases) refuse longer keys. */
export const PSK_MAX_LENGTH = 64;

/** Keys copied from write-ups and vendor examples; a partner who received one must get a real key. */
const EXAMPLE_PSKS = ["mysupersecuresecret", "changeme", "password", "secret", "presharedkey", "examplekey", "test1234"];

const PRINTABLE_NO_QUOTES = /^[\x21\x23-\x26\x28-\x5b\x5d-\x7e]+$/;

/** Why a PSK is unacceptable, or undefined when it is fine. */
export function pskProblem(psk: string): string | undefined {
    if (psk.length < PSK_MIN_LENGTH) return `is ${psk.length} characters; expected at least ${PSK_MIN_LENGTH}`;
    if (psk.length > PSK_MAX_LENGTH) return `is ${psk.length} characters; expected at most ${PSK_MAX_LENGTH} (many partner devices refuse longer keys)`;
    if (/[\r\n]/.test(psk)) return "contains a line break; expected printable characters only";
    if (/["']/.test(psk)) return "contains a quote; expected printable characters without quotes or backslashes";
    if (!PRINTABLE_NO_QUOTES.test(psk)) return "contains spaces, backslashes or non-printable characters; expected printable ASCII without quotes";
    const folded = psk.toLowerCase();
    if (EXAMPLE_PSKS.some((e) => folded.includes(e))) return "is, or contains, a well-known example value; generate a random key (e.g. openssl rand -base64 36)";
    return undefined;
}

const SSH_KEY = /^-----BEGIN (OPENSSH|RSA|EC) PRIVATE KEY-----\r?\n[\s\S]+\r?\n-----END \1 PRIVATE KEY-----\s*$/;

export function validatePartnerSecrets(r: FieldReader, partnerNames: readonly string[], psks: unknown, sshPrivateKey: unknown): void {
    const map = r.object("psks", psks, partnerNames, false);
    if (psks === undefined || psks === null) {
        r.error("psks", `is required (a secret object with one key per partner: ${partnerNames.join(", ")}); set each with: pulumi config set --secret --path 'psks.<partner>' '<key>'`);
    }
    for (const name of partnerNames) {
        if (!map) break;
        const psk = map[name];
        if (psk === undefined) {
            r.error(`psks.${name}`, `is missing; run: pulumi config set --secret --path 'psks.${name}' '<key>'`);
        } else if (typeof psk !== "string") {
            r.error(`psks.${name}`, "expected a string");
        } else {
            const problem = pskProblem(psk);
            if (problem) r.error(`psks.${name}`, problem);
        }
    }
    if (sshPrivateKey === undefined || sshPrivateKey === null || sshPrivateKey === "") {
        r.error("sshPrivateKey", "is required; run: pulumi config set --secret sshPrivateKey < ~/.ssh/partner-vpn");
    } else if (typeof sshPrivateKey !== "string" || !SSH_KEY.test(sshPrivateKey)) {
        r.error("sshPrivateKey", "is not a PEM or OpenSSH private key (-----BEGIN ... PRIVATE KEY----- ... -----END ... PRIVATE KEY-----)");
    }
}

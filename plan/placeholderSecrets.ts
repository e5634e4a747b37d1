/**
 * The secrets the offline plan stands in for. The stack files hold no secrets (PSKs and the SSH
 * key are set with `pulumi config set --secret`, and `secure:` values cannot be decrypted without
 * the stack's key), so the plan makes throwaway ones that pass the validator, marks them secret
 * like the CLI would, and makes sure no form of them ever reaches stdout or a written file.
 */
import { generateKeyPairSync, randomInt } from "crypto";
import { pskProblem, sshKeyProblem } from "../core/secrets";
import { secretConfigValues } from "../program/stackFile";

const ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";

/** A random PSK the validator accepts; the prefix tells anyone who sees one that it is not real. */
export function placeholderPsk(): string {
    for (;;) {
        const body = Array.from({ length: 32 }, () => ALPHABET[randomInt(ALPHABET.length)]).join("");
        const psk = `planonly-${body}`;
        // A random body can, very rarely, contain a word the validator treats as an example key.
        if (!pskProblem(psk)) return psk;
    }
}

/** No ssh-keygen: a fresh machine may lack it, and Node makes an RSA key the validator accepts. */
export function throwawaySshKey(): string {
    const { privateKey } = generateKeyPairSync("rsa", {
        modulusLength: 2048,
        privateKeyEncoding: { type: "pkcs1", format: "pem" },
        publicKeyEncoding: { type: "pkcs1", format: "pem" },
    });
    const problem = sshKeyProblem(privateKey);
    if (problem) throw new Error(`the plan's throwaway SSH key is rejected by the validator (${problem}); update plan/placeholderSecrets.ts`);
    return privateKey;
}

/**
 * The placeholder secrets of one run. The same object serves both sides of a change review: with
 * different keys every apply command's trigger hashes would differ and hide the real changes.
 */
export class PlaceholderSecrets {
    readonly sshPrivateKey: string = throwawaySshKey();
    private readonly psks = new Map<string, string>();

    /** The partner's placeholder PSK, made on first use. */
    pskFor(partner: string): string {
        let psk = this.psks.get(partner);
        if (psk === undefined) {
            psk = placeholderPsk();
            this.psks.set(partner, psk);
        }
        return psk;
    }

    /** Runtime config entries for the partners' PSKs and the SSH key, as the runtime stores them. */
    configValues(partners: readonly string[]): Record<string, string> {
        return secretConfigValues({ psks: Object.fromEntries(partners.map((p) => [p, this.pskFor(p)])), sshPrivateKey: this.sshPrivateKey });
    }

    /** Every text that would give a secret away: itself, its base64 forms, each line of a PEM body. */
    forms(): string[] {
        const values = [...this.psks.values(), this.sshPrivateKey];
        const pemLines = this.sshPrivateKey.split("\n").filter((l) => l.length >= 40 && !l.startsWith("-----"));
        return [...values.flatMap((v) => [v, ...base64Forms(v)]), ...pemLines].filter((f) => f.length >= 16);
    }
}

/**
 * The base64 text a secret produces inside any larger base64 encoding: the encoding of the bytes
 * around it shifts by the secret's offset modulo 3, so there are three forms; of each we keep the
 * 4-character groups made of the secret's bytes only.
 */
export function base64Forms(secret: string): string[] {
    const bytes = Buffer.from(secret, "utf8");
    const forms: string[] = [];
    for (let shift = 0; shift < 3; shift++) {
        const encoded = Buffer.concat([Buffer.alloc(shift), bytes]).toString("base64");
        const start = shift > 0 ? 4 : 0;
        const end = (shift + bytes.length) % 3 === 0 ? encoded.length : encoded.length - 4;
        forms.push(encoded.slice(start, end));
    }
    return forms;
}

export class SecretLeakError extends Error {
    constructor(where: string) {
        // Never the secret itself: only where it was about to go.
        super(`refusing to output ${where}: it would contain a placeholder secret (a redaction bug in plan/)`);
        this.name = "SecretLeakError";
    }
}

/** True when the text holds any secret form, also across the line breaks base64 output is wrapped at. */
export function containsSecret(text: string, forms: readonly string[]): boolean {
    const flat = text.replace(/\s+/g, "");
    return forms.some((f) => text.includes(f) || flat.includes(f.replace(/\s+/g, "")));
}

/** The last line of defence before anything is printed or written. */
export function assertNoSecret(text: string, forms: readonly string[], where: string): void {
    if (containsSecret(text, forms)) throw new SecretLeakError(where);
}

/**
 * The IKE/ESP algorithm catalogue: which strongSwan proposal keywords we accept, which are weak,
 * and how a proposal string breaks into parts. Kept to what strongSwan 5.9 and Libreswan 4/5 both
 * implement, so a proposal that validates here renders for either daemon.
 */

export type AlgorithmKind = "encryption" | "aead" | "integrity" | "prf" | "dh";

interface Algorithm {
    readonly kind: AlgorithmKind;
    readonly weak: boolean;
}

const CATALOGUE: Readonly<Record<string, Algorithm>> = {
    "aes128": { kind: "encryption", weak: false },
    "aes192": { kind: "encryption", weak: false },
    "aes256": { kind: "encryption", weak: false },
    "3des": { kind: "encryption", weak: true },
    "aes128gcm16": { kind: "aead", weak: false },
    "aes192gcm16": { kind: "aead", weak: false },
    "aes256gcm16": { kind: "aead", weak: false },
    "chacha20poly1305": { kind: "aead", weak: false },
    "md5": { kind: "integrity", weak: true },
    "sha1": { kind: "integrity", weak: true },
    "sha256": { kind: "integrity", weak: false },
    "sha384": { kind: "integrity", weak: false },
    "sha512": { kind: "integrity", weak: false },
    "prfsha1": { kind: "prf", weak: true },
    "prfsha256": { kind: "prf", weak: false },
    "prfsha384": { kind: "prf", weak: false },
    "prfsha512": { kind: "prf", weak: false },
    "modp1024": { kind: "dh", weak: true },
    "modp1536": { kind: "dh", weak: true },
    "modp2048": { kind: "dh", weak: false },
    "modp3072": { kind: "dh", weak: false },
    "modp4096": { kind: "dh", weak: false },
    "modp6144": { kind: "dh", weak: false },
    "modp8192": { kind: "dh", weak: false },
    "ecp256": { kind: "dh", weak: false },
    "ecp384": { kind: "dh", weak: false },
    "ecp521": { kind: "dh", weak: false },
    "curve25519": { kind: "dh", weak: false },
};

export const KNOWN_ALGORITHMS: readonly string[] = Object.keys(CATALOGUE);

export type ProposalKind = "ike" | "esp";

export interface ParsedProposal {
    readonly encryption: readonly string[];
    readonly integrity: readonly string[];
    readonly prf: readonly string[];
    readonly dh: readonly string[];
    readonly aead: boolean;
    /** Weak keywords the proposal uses (need `allowWeakAlgorithms`). */
    readonly weak: readonly string[];
}

export type ProposalResult =
    | { readonly ok: true; readonly proposal: ParsedProposal }
    | { readonly ok: false; readonly problem: string };

/** Splits and checks one proposal such as `aes256-sha256-modp2048` (ESP: DH is optional PFS). */
export function parseProposal(kind: ProposalKind, text: string): ProposalResult {
    const tokens = text.split("-");
    const unknown = tokens.filter((t) => !(t in CATALOGUE));
    if (text.trim() === "" || unknown.length > 0) {
        const shown = unknown.length > 0 ? unknown.map((u) => JSON.stringify(u)).join(", ") : "an empty proposal";
        return { ok: false, problem: `unknown algorithm ${shown}; valid keywords are: ${KNOWN_ALGORITHMS.join(", ")}` };
    }
    const of = (k: AlgorithmKind) => tokens.filter((t) => CATALOGUE[t].kind === k);
    const aeadAlgs = of("aead");
    const encryption = [...of("encryption"), ...aeadAlgs];
    const integrity = of("integrity");
    const prf = of("prf");
    const dh = of("dh");
    const aead = aeadAlgs.length > 0;
    if (encryption.length === 0) {
        return { ok: false, problem: "needs an encryption algorithm (e.g. aes256 or aes256gcm16)" };
    }
    if (aead && of("encryption").length > 0) {
        return { ok: false, problem: "mixes AEAD (gcm/chacha20poly1305) and non-AEAD encryption in one proposal" };
    }
    if (!aead && integrity.length === 0) {
        return { ok: false, problem: "needs an integrity algorithm (e.g. sha256) with non-AEAD encryption" };
    }
    if (aead && integrity.length > 0) {
        return { ok: false, problem: "AEAD encryption carries its own integrity; remove the integrity algorithm" };
    }
    if (kind === "ike" && dh.length === 0) {
        return { ok: false, problem: "an IKE proposal needs a Diffie-Hellman group (e.g. modp2048 or ecp256)" };
    }
    if (kind === "ike" && aead && prf.length === 0) {
        return { ok: false, problem: "an AEAD IKE proposal needs a PRF (e.g. prfsha256)" };
    }
    if (kind === "esp" && prf.length > 0) {
        return { ok: false, problem: "ESP proposals take no PRF" };
    }
    const weak = tokens.filter((t) => CATALOGUE[t].weak);
    return { ok: true, proposal: { encryption, integrity, prf, dh, aead, weak } };
}

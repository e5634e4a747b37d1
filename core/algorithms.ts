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

/** Names other vendors and partners' mails use for keywords of the catalogue. */
const ALIASES: Readonly<Record<string, string>> = {
    aes128cbc: "aes128", aes192cbc: "aes192", aes256cbc: "aes256",
    aes128gcm: "aes128gcm16", aes192gcm: "aes192gcm16", aes256gcm: "aes256gcm16",
    aes_gcm128: "aes128gcm16", aes_gcm256: "aes256gcm16", aes_gcm_16_256: "aes256gcm16",
    sha: "sha1", sha2: "sha256", sha2_256: "sha256", sha2_384: "sha384", sha2_512: "sha512",
    des3: "3des", tripledes: "3des",
    dh2: "modp1024", dh5: "modp1536", dh14: "modp2048", dh15: "modp3072", dh16: "modp4096", dh17: "modp6144", dh18: "modp8192",
    dh19: "ecp256", dh20: "ecp384", dh21: "ecp521", dh31: "curve25519", x25519: "curve25519",
    group2: "modp1024", group5: "modp1536", group14: "modp2048", group15: "modp3072", group16: "modp4096",
    group19: "ecp256", group20: "ecp384", group21: "ecp521", group31: "curve25519",
    prfsha2_256: "prfsha256", prf_sha256: "prfsha256",
};

/** A "did you mean" for one unknown keyword (quoted keyword(s)), or "" when nothing is close. */
export function suggestAlgorithm(token: string): string {
    const lower = token.toLowerCase();
    if (lower in CATALOGUE) return `"${lower}" (keywords are lowercase)`;
    if (lower in ALIASES) return `"${ALIASES[lower]}"`;
    if (lower.length > 32) return "";
    const near = KNOWN_ALGORITHMS.filter((k) => editDistance(k, lower) <= 1);
    return near.map((k) => `"${k}"`).join(" or ");
}

/** Optimal string alignment distance: edits, with a swap of two neighbours counting as one. */
function editDistance(a: string, b: string): number {
    const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
    for (let i = 1; i <= a.length; i++) {
        for (let j = 1; j <= b.length; j++) {
            const cost = a[i - 1] === b[j - 1] ? 0 : 1;
            d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
            if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
        }
    }
    return d[a.length][b.length];
}

const VALID = `valid keywords are: ${KNOWN_ALGORITHMS.join(", ")}`;

/**
 * Splits and checks one proposal such as `aes256-sha256-modp2048` (ESP: DH is optional PFS).
 * With `ikeVersion` 1, rejects what IKEv1 cannot negotiate (AEAD for the IKE SA).
 */
export function parseProposal(kind: ProposalKind, text: string, ikeVersion?: 1 | 2): ProposalResult {
    if (text.trim() === "") return { ok: false, problem: `is an empty proposal; ${VALID}` };
    if (/[;,/+ ]/.test(text.trim())) {
        return { ok: false, problem: `is not one strongSwan proposal (it looks like Libreswan or Cisco syntax); join keywords with '-' only, e.g. aes256-sha256-modp2048, and put each proposal in its own list item; ${VALID}` };
    }
    const split = /\b(aes|sha|modp|ecp|prfsha)-(\d+)\b/i.exec(text);
    if (split) {
        return { ok: false, problem: `writes "${split[0]}" with a dash; the keyword is "${(split[1] + split[2]).toLowerCase()}"; ${VALID}` };
    }
    const tokens = text.split("-");
    const unknown = tokens.filter((t) => !(t in CATALOGUE));
    if (unknown.length > 0) {
        const shown = unknown.map((u) => {
            const hint = suggestAlgorithm(u);
            return `${JSON.stringify(u)}${hint ? ` (did you mean ${hint}?)` : ""}`;
        });
        return { ok: false, problem: `unknown algorithm${unknown.length > 1 ? "s" : ""} ${shown.join(", ")}; ${VALID}` };
    }
    const twice = tokens.filter((t, i) => tokens.indexOf(t) !== i);
    if (twice.length > 0) return { ok: false, problem: `lists ${JSON.stringify(twice[0])} twice` };
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
    if (kind === "ike" && aead && ikeVersion === 1) {
        return { ok: false, problem: "IKEv1 cannot use AEAD encryption (GCM, ChaCha20-Poly1305) for phase 1; use e.g. aes256-sha256-modp2048, or IKE version 2" };
    }
    const weak = tokens.filter((t) => CATALOGUE[t].weak);
    return { ok: true, proposal: { encryption, integrity, prf, dh, aead, weak } };
}

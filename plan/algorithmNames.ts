/**
 * strongSwan proposal keywords spelled out the way partners' network teams and vendor GUIs name
 * them (Cisco, Palo Alto, Fortinet, Juniper all ask for "AES-256, SHA-256, DH group 14").
 */
import { parseProposal, type ParsedProposal } from "../core/algorithms";

const NAMES: Readonly<Record<string, string>> = {
    aes128: "AES-128", aes192: "AES-192", aes256: "AES-256", "3des": "3DES",
    aes128gcm16: "AES-128-GCM (16-byte ICV)", aes192gcm16: "AES-192-GCM (16-byte ICV)", aes256gcm16: "AES-256-GCM (16-byte ICV)",
    chacha20poly1305: "ChaCha20-Poly1305",
    md5: "MD5", sha1: "SHA-1", sha256: "SHA-256", sha384: "SHA-384", sha512: "SHA-512",
    prfsha1: "PRF HMAC-SHA-1", prfsha256: "PRF HMAC-SHA-256", prfsha384: "PRF HMAC-SHA-384", prfsha512: "PRF HMAC-SHA-512",
};

/** IANA Diffie-Hellman group numbers, which is how most devices let you pick them. */
const DH_GROUPS: Readonly<Record<string, number>> = {
    modp1024: 2, modp1536: 5, modp2048: 14, modp3072: 15, modp4096: 16, modp6144: 17, modp8192: 18,
    ecp256: 19, ecp384: 20, ecp521: 21, curve25519: 31,
};

export function algorithmName(keyword: string): string {
    if (keyword in DH_GROUPS) return `DH group ${DH_GROUPS[keyword]} (${keyword})`;
    return NAMES[keyword] ?? keyword;
}


/** `aes256-sha256-modp2048` -> `AES-256 / SHA-256 / DH group 14 (modp2048)`. */
export function spellProposal(kind: "ike" | "esp", text: string, ikeVersion: 1 | 2): string {
    const parsed = parseProposal(kind, text, ikeVersion);
    if (!parsed.ok) return text;
    const p: ParsedProposal = parsed.proposal;
    const named = [...p.encryption, ...p.integrity, ...p.prf].map(algorithmName);
    // In an ESP proposal a DH group means perfect forward secrecy on each rekey.
    const dh = p.dh.map((g) => (kind === "esp" ? `PFS ${algorithmName(g)}` : algorithmName(g)));
    if (kind === "esp" && dh.length === 0) dh.push("no PFS");
    return [...named, ...dh].join(" / ");
}

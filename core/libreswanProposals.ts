/**
 * strongSwan proposals (the catalogue and syntax of core/algorithms.ts, which is what partners and
 * the stack file speak) translated into Libreswan's `ike=` / `esp=` syntax, and what Libreswan
 * cannot negotiate. The validator reports these problems for partners with `ipsecDaemon:
 * libreswan`; the renderer refuses them. Measured against Libreswan 4.10 as Debian 12 ships it
 * (its own algorithm parser `algparse` and pluto's algorithm table; tests/tools/libreswan.test.ts
 * runs algparse on every translation):
 * - `ike=ENC-INTEG;DH` for non-AEAD IKE: Libreswan derives the PRF from the integrity algorithm
 *   and, by design, cannot use a PRF that differs from it;
 * - `ike=AEAD-PRF;DH` for AEAD IKE (IKEv2 only), e.g. `aes_gcm256-sha2_256;dh19`;
 * - `esp=ENC-INTEG;DH` / `esp=AEAD;DH`, where a DH group means PFS (the conn's `pfs=`);
 * - several algorithms of one kind in one proposal join with `+` (IKEv2 only; for IKEv1 the
 *   proposal is expanded into one proposal per combination, as strongSwan does on the wire);
 * - no modp1024 (DH group 2) at all: Debian's build leaves it out (upstream's USE_DH2 default);
 * - every ESP proposal must start with the same DH group (a child rekey carries one KE and
 *   Libreswan 4 cannot retry with another); IKEv1 Quick Mode takes exactly one group, MODP only;
 *   IKEv1 has no ChaCha20-Poly1305.
 */
import { parseProposal, type ParsedProposal, type ProposalKind } from "./algorithms";

/** strongSwan keyword -> Libreswan keyword; `undefined` marks what Libreswan lacks. */
export const LIBRESWAN_KEYWORDS: Readonly<Record<string, string | undefined>> = {
    aes128: "aes128", aes192: "aes192", aes256: "aes256", "3des": "3des",
    aes128gcm16: "aes_gcm128", aes192gcm16: "aes_gcm192", aes256gcm16: "aes_gcm256",
    chacha20poly1305: "chacha20_poly1305",
    md5: "md5", sha1: "sha1", sha256: "sha2_256", sha384: "sha2_384", sha512: "sha2_512",
    prfsha1: "sha1", prfsha256: "sha2_256", prfsha384: "sha2_384", prfsha512: "sha2_512",
    modp1024: undefined,
    modp1536: "modp1536", modp2048: "modp2048", modp3072: "modp3072", modp4096: "modp4096", modp6144: "modp6144", modp8192: "modp8192",
    ecp256: "dh19", ecp384: "dh20", ecp521: "dh21", curve25519: "dh31",
};

/** The integrity keyword whose HMAC is the PRF Libreswan uses with it. */
const PRF_OF_INTEGRITY: Readonly<Record<string, string>> = {
    md5: "prfmd5", sha1: "prfsha1", sha256: "prfsha256", sha384: "prfsha384", sha512: "prfsha512",
};

const MODP = /^modp\d+$/;

export type LibreswanProposal =
    | { readonly ok: true; readonly text: string; readonly pfs: boolean }
    | { readonly ok: false; readonly problem: string };

function product(lists: readonly (readonly string[])[]): string[][] {
    return lists.reduce<string[][]>((acc, list) => acc.flatMap((prefix) => list.map((item) => [...prefix, item])), [[]]);
}

function keyword(token: string): string | undefined {
    return LIBRESWAN_KEYWORDS[token];
}

/**
 * One strongSwan proposal in Libreswan's syntax (possibly several comma-joined proposals for
 * IKEv1), or why Libreswan cannot negotiate it. `pfs` tells whether an ESP proposal asks for PFS.
 */
export function libreswanProposal(kind: ProposalKind, text: string, ikeVersion: 1 | 2): LibreswanProposal {
    const parsed = parseProposal(kind, text, ikeVersion);
    if (!parsed.ok) return { ok: false, problem: parsed.problem };
    const p: ParsedProposal = parsed.proposal;
    const missing = [...p.encryption, ...p.integrity, ...p.prf, ...p.dh].filter((t) => keyword(t) === undefined);
    if (missing.includes("modp1024")) {
        return { ok: false, problem: "uses modp1024 (DH group 2), which Libreswan as Debian and Ubuntu ship it does not implement; agree modp2048 or stronger with the partner, or use ipsecDaemon strongswan for this partner" };
    }
    if (missing.length > 0) return { ok: false, problem: `uses ${missing.join(", ")}, which Libreswan does not implement` };
    if (ikeVersion === 1 && p.encryption.includes("chacha20poly1305")) {
        return { ok: false, problem: "ChaCha20-Poly1305 needs IKEv2 in Libreswan; use IKE version 2 or AES" };
    }
    let middle: readonly string[];
    if (kind === "ike" && p.aead) {
        middle = p.prf;
    } else if (kind === "ike") {
        const implied = p.integrity.map((i) => PRF_OF_INTEGRITY[i]);
        const extra = p.prf.filter((f) => !implied.includes(f));
        if (extra.length > 0) {
            return { ok: false, problem: `names a PRF (${extra.join(", ")}) that differs from its integrity algorithm; Libreswan always uses the integrity algorithm's HMAC as PRF, so drop the PRF or use ipsecDaemon strongswan` };
        }
        middle = p.integrity;
    } else {
        middle = p.integrity;
    }
    if (kind === "esp" && ikeVersion === 1) {
        const ecp = p.dh.filter((g) => !MODP.test(g));
        if (ecp.length > 0) return { ok: false, problem: `uses ${ecp.join(", ")} for PFS, which Libreswan's IKEv1 Quick Mode cannot do (MODP groups only); use e.g. modp2048, or IKE version 2` };
        if (p.dh.length > 1) return { ok: false, problem: "lists more than one PFS group; IKEv1 Quick Mode sends one key exchange, so Libreswan takes exactly one" };
    }
    const groups = [p.encryption, middle, p.dh].filter((g) => g.length > 0);
    const spell = (parts: readonly string[]): string => {
        // ENC-INTEG;DH (or ENC;DH for AEAD ESP): the `;` keeps an AEAD's DH group from being read as integrity.
        const head = parts.slice(0, middle.length > 0 ? 2 : 1).join("-");
        return p.dh.length > 0 ? `${head};${parts[parts.length - 1]}` : head;
    };
    if (ikeVersion === 2) {
        return { ok: true, text: spell(groups.map((g) => g.map((t) => keyword(t) as string).join("+"))), pfs: p.dh.length > 0 };
    }
    const combos = product(groups.map((g) => g.map((t) => keyword(t) as string)));
    return { ok: true, text: combos.map(spell).join(","), pfs: p.dh.length > 0 };
}

export type LibreswanProposalList =
    | { readonly ok: true; readonly text: string; readonly pfs: boolean }
    | { readonly ok: false; readonly problems: readonly { readonly index?: number; readonly problem: string }[] };

/**
 * A whole `ikeProposals` or `espProposals` list as one `ike=` / `esp=` value. Libreswan's `pfs=`
 * is per conn, so ESP proposals must agree on PFS: all with a DH group, or none.
 */
export function libreswanProposalList(kind: ProposalKind, list: readonly string[], ikeVersion: 1 | 2): LibreswanProposalList {
    if (!Array.isArray(list) || list.length === 0) return { ok: false, problems: [{ problem: "is empty; Libreswan would fall back to its own defaults" }] };
    const problems: { index?: number; problem: string }[] = [];
    const translated: { text: string; pfs: boolean }[] = [];
    list.forEach((text, index) => {
        const t = libreswanProposal(kind, text, ikeVersion);
        if (t.ok) translated.push(t);
        else problems.push({ index, problem: t.problem });
    });
    if (problems.length > 0) return { ok: false, problems };
    const pfs = translated.some((t) => t.pfs);
    if (kind === "esp" && pfs && translated.some((t) => !t.pfs)) {
        return { ok: false, problems: [{ problem: "mixes proposals with and without a DH group; Libreswan's PFS setting is per connection, so either every ESP proposal names a DH group or none does" }] };
    }
    if (kind === "esp" && pfs) {
        // The key exchange of a child rekey carries one group and Libreswan 4 cannot retry with
        // another (no CHILD_SA INVALID_KE; IKEv1 Quick Mode has one KE payload): the first DH
        // group must be the same in every ESP proposal (measured with algparse).
        const first = new Set(list.map((text) => {
            const parsed = parseProposal(kind, text, ikeVersion);
            return parsed.ok ? parsed.proposal.dh[0] : "";
        }));
        if (first.size > 1) {
            return { ok: false, problems: [{ problem: `starts its ESP proposals with different PFS groups (${[...first].join(", ")}); Libreswan sends one key exchange when it rekeys a child and cannot retry with another group, so every ESP proposal must name the same (first) DH group` }] };
        }
    }
    return { ok: true, text: translated.map((t) => t.text).join(","), pfs };
}

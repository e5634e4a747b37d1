/**
 * What charon's crypto plugins must provide for a partner's proposals, in the names
 * `swanctl --list-algs` prints (AES_GCM_16, ECP_256, ...). The apply and the bootstrap compare these
 * with what the running charon reports, so a missing plugin package is caught by name before a
 * config that needs it goes live, instead of surfacing weeks later as a failed rekey.
 *
 * IKE proposals need every part in charon itself. ESP's encryption and integrity run in the
 * kernel (XFRM) on a production endpoint, not in charon's plugins, so only an ESP proposal's PFS
 * group (the DH of each CHILD_SA rekey, computed by charon) is required from them.
 */
import { parseProposal, type ProposalKind } from "./algorithms";

interface CharonNames {
    /** The transform when the keyword is an encryption, AEAD or integrity algorithm, or a DH group. */
    readonly transform: string;
    /** The PRF an IKE proposal derives from an integrity keyword (or names with prfsha*). */
    readonly prf?: string;
}

const NAMES: Readonly<Record<string, CharonNames>> = {
    aes128: { transform: "AES_CBC" },
    aes192: { transform: "AES_CBC" },
    aes256: { transform: "AES_CBC" },
    "3des": { transform: "3DES_CBC" },
    aes128gcm16: { transform: "AES_GCM_16" },
    aes192gcm16: { transform: "AES_GCM_16" },
    aes256gcm16: { transform: "AES_GCM_16" },
    chacha20poly1305: { transform: "CHACHA20_POLY1305" },
    md5: { transform: "HMAC_MD5_96", prf: "PRF_HMAC_MD5" },
    sha1: { transform: "HMAC_SHA1_96", prf: "PRF_HMAC_SHA1" },
    sha256: { transform: "HMAC_SHA2_256_128", prf: "PRF_HMAC_SHA2_256" },
    sha384: { transform: "HMAC_SHA2_384_192", prf: "PRF_HMAC_SHA2_384" },
    sha512: { transform: "HMAC_SHA2_512_256", prf: "PRF_HMAC_SHA2_512" },
    prfsha1: { transform: "PRF_HMAC_SHA1" },
    prfsha256: { transform: "PRF_HMAC_SHA2_256" },
    prfsha384: { transform: "PRF_HMAC_SHA2_384" },
    prfsha512: { transform: "PRF_HMAC_SHA2_512" },
    modp1024: { transform: "MODP_1024" },
    modp1536: { transform: "MODP_1536" },
    modp2048: { transform: "MODP_2048" },
    modp3072: { transform: "MODP_3072" },
    modp4096: { transform: "MODP_4096" },
    modp6144: { transform: "MODP_6144" },
    modp8192: { transform: "MODP_8192" },
    ecp256: { transform: "ECP_256" },
    ecp384: { transform: "ECP_384" },
    ecp521: { transform: "ECP_521" },
    curve25519: { transform: "CURVE_25519" },
};

/** Every charon algorithm name a validated proposal can need (for checks against a real charon). */
export const ALL_CHARON_ALGORITHMS: readonly string[] = [...new Set(Object.values(NAMES).flatMap((n) => [n.transform, ...(n.prf ? [n.prf] : [])]))].sort();

/** One proposal and the charon algorithms it needs (sorted, unique; may be empty for ESP without PFS). */
export interface CharonRequirement {
    readonly kind: ProposalKind;
    readonly proposal: string;
    readonly algorithms: readonly string[];
}

function charonName(keyword: string): CharonNames {
    const names = NAMES[keyword];
    // Every catalogue keyword has an entry (a unit test walks the catalogue); this guards a new one.
    if (!names) throw new Error(`no charon algorithm name for proposal keyword "${keyword}"`);
    return names;
}

/** The charon algorithms one validated proposal needs. Throws on a proposal validation refuses. */
export function charonAlgorithmsFor(kind: ProposalKind, proposal: string): string[] {
    const parsed = parseProposal(kind, proposal);
    if (!parsed.ok) throw new Error(`proposal ${JSON.stringify(proposal)} ${parsed.problem}`);
    const p = parsed.proposal;
    const needed = new Set<string>(p.dh.map((k) => charonName(k).transform));
    if (kind === "ike") {
        for (const k of [...p.encryption, ...p.integrity, ...p.prf]) needed.add(charonName(k).transform);
        // Without an explicit PRF, charon proposes the integrity algorithms' HMACs as PRFs.
        if (p.prf.length === 0) for (const k of p.integrity) needed.add(charonName(k).prf ?? "");
    }
    needed.delete("");
    return [...needed].sort();
}

/** Every IKE and ESP proposal of a partner with what it needs from charon, in config order. */
export function charonRequirements(ike: { readonly ikeProposals: readonly string[]; readonly espProposals: readonly string[] }): CharonRequirement[] {
    return [
        ...ike.ikeProposals.map((proposal) => ({ kind: "ike" as const, proposal, algorithms: charonAlgorithmsFor("ike", proposal) })),
        ...ike.espProposals.map((proposal) => ({ kind: "esp" as const, proposal, algorithms: charonAlgorithmsFor("esp", proposal) })),
    ];
}

/**
 * Path MTU: the TCP MSS clamp for a partner's tunnelled TCP, sized from the ESP proposals.
 *
 * On EC2 the instance's interface has MTU 9001 while the internet path behind the internet
 * gateway carries 1500 (`partners[].pathMtu`, lower for a partner behind a smaller link). ESP in
 * UDP (we force NAT-T encapsulation) adds an outer IPv4 and UDP header, the ESP header, the IV,
 * padding and the integrity check value, so a full-size inner packet does not fit the path. Path
 * MTU discovery can only rescue that if a "fragmentation needed" comes back to the sender of the
 * outer packet AND is turned into one for the inner TCP sender; when a router on the internet
 * path (or the partner's firewall) drops that ICMP, or the partner's gateway does not relay it,
 * bulk transfers and TLS certificate chains stall after the handshake: a black hole. We keep the
 * endpoint's interface MTU (9001 for the VPC side is right for our own instances) and instead
 * clamp the MSS announced in SYN and SYN/ACK of every TCP connection to or from the partner's
 * hosts, so neither end ever sends a segment whose ESP packet exceeds the path MTU, whatever
 * happens to ICMP. The security group still admits ICMP fragmentation-needed, for the endpoint's
 * own outer packets. The lab's large-packets check measures both: 10 MB transfers complete with
 * this clamp, stall without it, and stall with the clamp one byte larger (lab/checks/largePackets.ts).
 *
 * The clamp covers the worst case over every configured ESP proposal (the one negotiated is not
 * known in advance): outer IPv4 20 + UDP 8 + ESP header 8 + IV + ICV, plus the payload padded with
 * its 2 trailer bytes to the cipher's block (AES-CBC 16, 3DES 8; AEAD ciphers 4-byte alignment).
 */
import { parseProposal } from "../algorithms";
import type { PartnerModel } from "../model";
import { RenderError } from "./safe";


const OUTER_HEADERS = 20 + 8 + 8;
/** Inner IPv4 and TCP headers without options (Linux subtracts options from the MSS itself). */
const INNER_HEADERS = 20 + 20;

/** IV bytes and padding block per cipher keyword. */
const CIPHERS: Readonly<Record<string, { iv: number; block: number; icv?: number }>> = {
    aes128: { iv: 16, block: 16 }, aes192: { iv: 16, block: 16 }, aes256: { iv: 16, block: 16 },
    "3des": { iv: 8, block: 8 },
    aes128gcm16: { iv: 8, block: 4, icv: 16 }, aes192gcm16: { iv: 8, block: 4, icv: 16 }, aes256gcm16: { iv: 8, block: 4, icv: 16 },
    chacha20poly1305: { iv: 8, block: 4, icv: 16 },
};

/** Truncated HMAC lengths in ESP (RFC 2404, 4868): sha1/md5 96 bits, sha2 half the hash. */
const INTEGRITY_ICV: Readonly<Record<string, number>> = { md5: 12, sha1: 12, sha256: 16, sha384: 24, sha512: 32 };

export interface MssSizing {
    /** The internet path MTU it is sized for (`partners[].pathMtu`, default 1500). */
    readonly pathMtu: number;
    /** The largest inner IPv4 packet whose ESP-in-UDP packet fits the path MTU, worst proposal. */
    readonly innerMtu: number;
    readonly mss: number;
    /** The proposal that set the limit. */
    readonly worstProposal: string;
}

/** The largest inner packet one cipher/ICV combination carries within `pathMtu`. */
function innerMtuFor(pathMtu: number, cipher: { iv: number; block: number }, icv: number): number {
    const room = pathMtu - OUTER_HEADERS - cipher.iv - icv;
    return Math.floor(room / cipher.block) * cipher.block - 2;
}

export function mssFor(partner: PartnerModel, pathMtu: number = partner.pathMtu): MssSizing {
    let worst: MssSizing | undefined;
    for (const text of partner.ike.espProposals) {
        // Validation refuses a proposal it cannot parse; should one reach the renderer anyway (the
        // tool tests push one on purpose, for charon to refuse), size for the largest overhead.
        const parsed = parseProposal("esp", text);
        const p = parsed.ok ? parsed.proposal : { encryption: ["aes256"], integrity: ["sha512"] };
        for (const enc of p.encryption) {
            const cipher = CIPHERS[enc] ?? CIPHERS.aes256;
            // A non-AEAD proposal without integrity is refused by validation; assume the largest ICV if one slips through.
            const icvs = cipher.icv !== undefined ? [cipher.icv] : (p.integrity.length > 0 ? p.integrity.map((i) => INTEGRITY_ICV[i] ?? 32) : [32]);
            for (const icv of icvs) {
                const innerMtu = innerMtuFor(pathMtu, cipher, icv);
                if (!worst || innerMtu < worst.innerMtu) worst = { pathMtu, innerMtu, mss: innerMtu - INNER_HEADERS, worstProposal: text };
            }
        }
    }
    if (!worst) throw new RenderError("espProposals", partner.ike.espProposals, "a non-empty list of proposals");
    return worst;
}

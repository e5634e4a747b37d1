/**
 * The handoff sheet's "what your side must mirror" section: the connection behaviour our renderers
 * chose (core/render/swanctl.ts, libreswan.ts, mss.ts) only works if the partner's gateway matches
 * it, so the sheet names each setting and where the four common gateway families keep it. The
 * vendor terms are pointers for the partner's engineers, not a configuration to paste.
 */
import { parseProposal } from "../core/algorithms";
import type { PartnerModel } from "../core/model";
import { mssFor } from "../core/render/mss";

function pfsGroups(partner: PartnerModel): string[] {
    const groups = new Set<string>();
    for (const p of partner.ike.espProposals) {
        const r = parseProposal("esp", p);
        if (r.ok) r.proposal.dh.forEach((g) => groups.add(g));
    }
    return [...groups];
}

export function mirrorLines(partner: PartnerModel): string[] {
    const ike = partner.ike;
    const mss = mssFor(partner).mss;
    const pfs = pfsGroups(partner);
    const dpd = ike.dpdDelay > 0 ? `on, every ${ike.dpdDelay} s` : "off on our side (enable it on yours if you want, we answer)";
    return [
        "## What your side must mirror",
        "",
        "Our gateway retries for ever and restores every tunnel by itself. That works without duplicate SAs",
        "only if your side matches these points:",
        "",
        "| | Our side | Please configure |",
        "| --- | --- | --- |",
        "| Who initiates | we initiate every tunnel and every rekey | answer only (responder); never initiate, so the two sides do not race into duplicate SAs |",
        `| Dead peer detection | ${dpd} | answer DPD (IKEv${ike.version}${ike.version === 2 ? " liveness" : " R-U-THERE"}); your own DPD may stay on |`,
        `| PFS (phase 2) | ${pfs.length > 0 ? `yes: ${pfs.join(", ")}` : "no"} | ${pfs.length > 0 ? "the same group(s)" : "off"} |`,
        `| Lifetimes | IKE ${ike.ikeLifetime} s, IPsec ${ike.childLifetime} s (we rekey at 90%) | exactly these, so we rekey first |`,
        `| TCP MSS | clamped to ${mss} on our gateway, both directions | clamp to ${mss} or lower on yours too (covers traffic our clamp does not see) |`,
        "| Tunnels | one IPsec SA per selector pair (our NAT /32 to each entry of your domain) | one SA per pair, no supernet; never two SAs for the same pair |",
        "",
        "Where these settings live (names differ between software releases; check your release's guide):",
        "",
        `- **Cisco ASA**: \`crypto map <map> <seq> set connection-type answer-only\`; DPD \`tunnel-group <our IP> ipsec-attributes\` ->`,
        `  \`isakmp keepalive\`; PFS \`crypto map <map> <seq> set pfs\`${pfs.length > 0 ? " with the group above" : " not set"}; lifetimes in the \`crypto ikev${ike.version} policy\` and`,
        `  \`crypto map ... set security-association lifetime seconds\`; \`sysopt connection tcpmss ${mss}\`; one crypto ACL entry per pair.`,
        "- **Palo Alto Networks**: IKE Gateway -> Advanced Options -> *Enable Passive Mode*; *Dead Peer Detection* (IKEv1) or",
        "  *Liveness Check* (IKEv2); IPsec Crypto profile *DH Group* (PFS) and *Lifetime*, IKE Crypto profile *Key Lifetime*;",
        `  tunnel interface *Adjust TCP MSS* so that the MSS is at most ${mss}; one *Proxy ID* per pair.`,
        "- **Fortinet FortiGate**: phase 2 `set auto-negotiate disable` (we bring it up) and no keep-alive initiation; phase 1",
        "  `set dpd on-idle` with `dpd-retryinterval`; phase 2 `set pfs enable` / `set dhgrp`; `keylife` (phase 1) and",
        `  \`keylifeseconds\` (phase 2); \`set tcp-mss-sender ${mss}\` / \`set tcp-mss-receiver ${mss}\` on the VPN policies; one phase 2 selector per pair.`,
        "- **Check Point**: community *Tunnel Management* -> VPN tunnel sharing *one tunnel per subnet pair* (our /32 with each",
        "  entry), not per gateway pair; no permanent tunnel initiated from your side; DPD as the tunnel keep-alive method;",
        "  *Use Perfect Forward Secrecy* with the group above; *Renegotiate IKE / IPsec SA* intervals as listed;",
        `  TCP MSS clamping for VPN traffic enabled with ${mss}. If your gateway cannot answer only, tell us.`,
        "",
    ];
}

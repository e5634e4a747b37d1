/**
 * The partner handoff sheet: a Markdown page for the partner's network team with everything they
 * configure on their side, and nothing they must not see (no PSK, no private addresses, no
 * instance, VPC or internal target). Values come from components/partnerVpn.ts handoffFor, the
 * same function behind the `partners` stack output, so the sheet and the output agree.
 */
import { handoffFor } from "../components/partnerVpn";
import { PSK_MAX_LENGTH, PSK_MIN_LENGTH } from "../core/secrets";
import type { PartnerModel, StackModel } from "../core/model";
import { spellProposal } from "./algorithmNames";
import { mirrorLines } from "./handoffMirror";
import type { PartnerPlan, PlannedAddress } from "./types";

/** 28800 -> "28800 s (8 h)", 5400 -> "5400 s (1 h 30 min)". */
export function duration(seconds: number): string {
    const h = Math.floor(seconds / 3600);
    const min = Math.floor((seconds % 3600) / 60);
    const s = seconds % 60;
    const parts = [h ? `${h} h` : "", min ? `${min} min` : "", s ? `${s} s` : ""].filter(Boolean);
    return `${seconds} s (${parts.join(" ")})`;
}

function addressCell(a: PlannedAddress): string {
    return a.ip ? `\`${a.ip}\`` : "**to be filled in** (see below the table)";
}

function proposalLines(kind: "ike" | "esp", proposals: readonly string[], version: 1 | 2): string[] {
    return proposals.map((p, i) => `  ${i + 1}. \`${p}\`: ${spellProposal(kind, p, version)}`);
}

function trafficLines(model: StackModel, partner: PartnerModel, natShown: string): string[] {
    const lines = ["### From us to you", ""];
    if (model.mode === "classic-proxy" && partner.proxies.length > 0) {
        lines.push(`Connections come from our NAT address ${natShown} to:`, "");
        for (const p of partner.proxies) lines.push(`- \`${p.remoteHost}\` TCP port ${p.remotePort} (${p.protocol === "http" ? "HTTP" : "TCP"})`);
    } else {
        lines.push(`Connections come from our NAT address ${natShown} to the hosts of your encryption domain, on the ports agreed for each application.`);
    }
    lines.push("", "### From you to us", "");
    if (partner.inbound.length === 0) {
        lines.push("None: we accept no connections initiated from your side.");
    } else {
        lines.push(`Your hosts may open connections to our NAT address ${natShown}:`, "");
        for (const m of partner.inbound) {
            const what = m.protocol === "all" ? "any protocol and port" : `${m.protocol.toUpperCase()} port ${m.port ?? "any"}`;
            lines.push(`- from ${m.from.map((f) => `\`${f}\``).join(", ")}: ${what}`);
        }
    }
    return lines;
}

export function handoffSheet(model: StackModel, partner: PartnerModel, plan: PartnerPlan, stack: string): string {
    const { nat, tunnel } = plan.addresses;
    // handoffFor takes the addresses as text; where they are unknown its "our" fields are not used.
    const h = handoffFor(partner, nat.ip ?? "", tunnel.ip ?? "");
    const natShown = nat.ip ? `\`${nat.ip}\`` : "(to be filled in, see above)";
    const ike = partner.ike;
    const unknown = [tunnel, nat].filter((a) => !a.ip);
    const lines = [
        `# IPsec VPN handoff: ${partner.name}`,
        "",
        "Everything your network team needs to configure your side of the site-to-site VPN with us.",
        "The pre-shared key is deliberately not in this document: see *Pre-shared key* below.",
        "",
        "## Gateways, identities and encryption domains",
        "",
        "| | Our side | Your side |",
        "| --- | --- | --- |",
        `| VPN gateway (public IP) | ${addressCell(tunnel)} | \`${h.theirGatewayIp}\` |`,
        `| IKE identity | ${tunnel.ip ? `\`${h.ourIkeId}\`` : "our gateway's public IP"} (type IPv4 address) | \`${h.theirIkeId}\` |`,
        `| Encryption domain | ${nat.ip ? h.ourEncryptionDomain.map((c) => `\`${c}\``).join(", ") : `${addressCell(nat)}, as a /32`} (our NAT address: all our traffic to you comes from it) | ${h.theirEncryptionDomain.map((c) => `\`${c}\``).join(", ")} |`,
        "",
    ];
    if (unknown.length > 0) {
        lines.push(
            `> **Before sending this sheet:** ${unknown.map((a) => (a === tunnel ? "our gateway address" : "our NAT address")).join(" and ")} ${unknown.length > 1 ? "are Elastic IPs" : "is an Elastic IP"} allocated at the first \`pulumi up\` of stack \`${stack}\`.`,
            `> Read ${unknown.length > 1 ? "them" : "it"} with ${unknown.map((a) => `\`pulumi stack output ${a.stackOutput.split(".")[0]} --stack ${stack} --json\` (key \`${partner.name}\`)`).join(" and ")},`,
            `> or this partner's whole handoff with \`pulumi stack output partners --stack ${stack} --json\`. These outputs are not secret.`,
            "",
        );
    }
    lines.push(
        "## Phase 1 (IKE SA)",
        "",
        `- IKE version: IKEv${ike.version}${ike.version === 1 ? " (main mode)" : ""}`,
        "- Proposals, in order of preference:",
        ...proposalLines("ike", ike.ikeProposals, ike.version),
        `- Lifetime: ${duration(h.ikeLifetimeSeconds)}`,
        "- Authentication: pre-shared key",
        `- Our side runs ${h.ourIpsecSoftware}${partner.ipsecDaemon === "libreswan" ? " (the maintained successor of Openswan)" : ""}; nothing in this sheet depends on it: configure the proposals as spelled out here.`,
        `- Dead peer detection: ${h.dpdDelaySeconds > 0 ? `every ${h.dpdDelaySeconds} s; we restart the tunnel when your side stops answering` : "off on our side"}`,
        "- NAT traversal: forced. Our gateway sits behind AWS's 1:1 NAT: IKE starts on UDP 500 and moves to UDP 4500,",
        "  and ESP is always encapsulated in UDP 4500 (no IP protocol 50). Allow UDP 500 and UDP 4500 from our gateway.",
        ...(partner.ha
            ? [
                "- Redundancy: our gateway is an active/standby pair behind the one address above. You see one peer address and",
                "  one identity: nothing to configure for it. After a failover our other machine starts new SAs with INITIAL_CONTACT,",
                "  which makes your side drop the old ones; please keep INITIAL_CONTACT handling on (the default of common gateways).",
            ]
            : []),
        "",
        "## Phase 2 (IPsec / CHILD SAs)",
        "",
        "- ESP proposals, in order of preference:",
        ...proposalLines("esp", ike.espProposals, ike.version),
        `- Lifetime: ${duration(h.childLifetimeSeconds)}`,
        "- Traffic selectors: one pair per entry of your encryption domain, each with our NAT address /32 on our side",
        "  (configure them as separate selectors / proxy IDs, not one supernet).",
        "- We bring the tunnel up and keep it up; please let your side answer only (see *What your side must mirror*).",
        partner.ipsecDaemon === "libreswan"
            ? "- We rekey before each lifetime ends (the IPsec SAs at 80% to 90% of theirs); please configure the same lifetimes."
            : "- We rekey at 90% of each lifetime; please configure the same lifetimes.",
        "",
        ...mirrorLines(partner),
        "## Traffic",
        "",
        ...trafficLines(model, partner, natShown),
        "",
        "## Pre-shared key",
        "",
        `- We generate it: random, ${PSK_MIN_LENGTH} to ${PSK_MAX_LENGTH} printable ASCII characters without quotes, spaces or backslashes.`,
        "  If your device limits the length or the characters, tell us before we generate it.",
        "- We give it to your named contact out of band: read out by phone, or as a one-time secret link that expires",
        "  after one view. Never by e-mail together with this sheet, and never in a ticket or a chat.",
        "- Please never send it back to us in writing; confirm receipt by phone.",
        "",
    );
    return lines.join("\n");
}

/**
 * The NAT rules for one partner as an `iptables-restore --noflush` payload. The rules live in two
 * chains owned by this partner (`PVPN-<name>-PRE`, `PVPN-<name>-POST`): restoring the payload
 * replaces exactly those chains in one transaction and touches nobody else's rules, so re-applying
 * yields the same ruleset (the seed's `iptables -A` appended duplicates on every run). The jumps
 * from PREROUTING/POSTROUTING into them are ensured by the apply script.
 */
import { cidrContains, toCidr } from "../addresses";
import type { EndpointAddresses, InboundMappingModel, PartnerModel, StackModel } from "../model";
import { mssFor } from "./mss";
import { cidr, ipv4, label, port, RenderError } from "./safe";

export function natChainNames(partner: string): { pre: string; post: string; mss: string } {
    const name = label("partner name", partner);
    return { pre: `PVPN-${name}-PRE`, post: `PVPN-${name}-POST`, mss: `PVPN-${name}-MSS` };
}

function protocolMatch(m: InboundMappingModel, portValue: number | undefined): string {
    if (m.protocol !== "tcp" && m.protocol !== "udp" && m.protocol !== "all") throw new RenderError("inbound protocol", m.protocol, "tcp, udp or all");
    // A DNAT to a port needs -p; iptables would reject the whole payload.
    if (m.protocol === "all" && portValue !== undefined) throw new RenderError("inbound port", portValue, "absent with protocol all");
    if (m.protocol === "all") return "";
    const p = m.protocol;
    return portValue === undefined ? ` -p ${p}` : ` -p ${p} -m ${p} --dport ${port("inbound port", portValue)}`;
}

export function renderNatRules(model: StackModel, partner: PartnerModel, addresses: EndpointAddresses): string {
    const chains = natChainNames(partner.name);
    const natIp = ipv4("NAT address", addresses.natIp);
    const comment = (what: string) => `-m comment --comment "pvpn ${partner.name} ${what}"`;
    // The endpoint's own traffic (nginx in classic-proxy mode) is NATed too.
    const privateIp = ipv4("privateIp", partner.privateIp);
    const sources = [...model.network.internalCidrs];
    if (!sources.some((c) => cidrContains(c, privateIp))) sources.push(`${privateIp}/32`);

    const lines = [
        `# partner-vpn: ${partner.name} NAT rules, applied with iptables-restore --noflush (replaces only these chains)`,
        "*nat",
        `:${chains.pre} - [0:0]`,
        `:${chains.post} - [0:0]`,
        // Declaring a chain in --noflush mode already empties it on nf_tables; flush explicitly
        // so the payload means the same on the legacy backend.
        `-F ${chains.pre}`,
        `-F ${chains.post}`,
    ];
    for (const host of partner.remoteHosts) {
        for (const src of sources) {
            lines.push(`-A ${chains.post} -s ${cidr("internal CIDR", src)} -d ${cidr("remote host", toCidr(host))} ${comment("snat")} -j SNAT --to-source ${natIp}`);
        }
    }
    for (const m of partner.inbound) {
        const target = ipv4("inbound target", m.target);
        const to = m.port !== undefined ? `${target}:${port("targetPort", m.targetPort ?? m.port)}` : target;
        for (const from of m.from) {
            lines.push(`-A ${chains.pre} -s ${cidr("inbound from", toCidr(from))} -d ${natIp}/32${protocolMatch(m, m.port)} ${comment("dnat")} -j DNAT --to-destination ${to}`);
            if (model.mode === "classic-proxy") {
                // No VPC route brings the target's replies back to the endpoint: masquerade inbound
                // traffic behind the endpoint's private IP so the replies return through it.
                lines.push(`-A ${chains.post} -s ${cidr("inbound from", toCidr(from))} -d ${target}/32${protocolMatch(m, m.targetPort ?? m.port)} ${comment("return")} -j SNAT --to-source ${privateIp}`);
            }
        }
    }
    lines.push("COMMIT", ...mssClampRules(partner), "");
    return lines.join("\n");
}

/**
 * The mangle table part: one chain that lowers the MSS option of every SYN and SYN/ACK to or from
 * a partner host (core/render/mss.ts says why and how much). The apply jumps to it from mangle
 * PREROUTING and POSTROUTING, so it covers forwarded traffic, DNATed inbound connections and
 * the endpoint's own (nginx's) connections alike. TCPMSS never raises an MSS.
 */
function mssClampRules(partner: PartnerModel): string[] {
    const chain = natChainNames(partner.name).mss;
    const sizing = mssFor(partner);
    const syn = "-p tcp -m tcp --tcp-flags SYN,RST SYN";
    const comment = `-m comment --comment "pvpn ${partner.name} mss"`;
    const lines = [
        `# MSS ${sizing.mss}: inner packets of at most ${sizing.innerMtu} bytes fit a ${sizing.pathMtu}-byte path in ESP over UDP (worst proposal: ${sizing.worstProposal})`,
        "*mangle",
        `:${chain} - [0:0]`,
        `-F ${chain}`,
    ];
    for (const host of partner.remoteHosts) {
        const h = cidr("remote host", toCidr(host));
        lines.push(`-A ${chain} -s ${h} ${syn} ${comment} -j TCPMSS --set-mss ${sizing.mss}`);
        lines.push(`-A ${chain} -d ${h} ${syn} ${comment} -j TCPMSS --set-mss ${sizing.mss}`);
    }
    lines.push("COMMIT");
    return lines;
}

/**
 * strongSwan swanctl.conf for one partner: one IKE connection, one CHILD_SA per partner host.
 *
 * One child per host because IKEv1 negotiates (and strongSwan then uses) only the first traffic
 * selector of a child, and because adding a host then adds a child and leaves the established
 * ones untouched. Child names derive from the host, not its position, for the same reason.
 */
import { cidrSlug, toCidr } from "../addresses";
import type { EndpointAddresses, PartnerModel } from "../model";
import { cidr, integer, ipv4, label, RenderError, swanctlToken } from "./safe";

export function swanctlConnectionName(partner: string): string {
    return `pvpn-${label("partner name", partner)}`;
}

export function swanctlChildName(partner: string, remoteHost: string): string {
    return `${label("partner name", partner)}-${cidrSlug(cidr("remote host", toCidr(remoteHost)))}`;
}

/**
 * Partners state hard lifetimes; strongSwan's `rekey_time` is when we start rekeying. Rekey at 90%
 * and expire at the agreed lifetime, so our SA never outlives the partner's.
 */
function lifetimes(seconds: number): { rekey: number; margin: number } {
    const rekey = Math.floor(seconds * 0.9);
    return { rekey, margin: seconds - rekey };
}

/** A non-empty proposal list, comma-joined: an empty `proposals =` would make charon fall back to its defaults. */
function proposals(context: string, list: readonly string[]): string {
    if (!Array.isArray(list) || list.length === 0) throw new RenderError(context, list, "a non-empty list of proposals");
    return list.map((p) => swanctlToken(context, p)).join(",");
}

export function renderSwanctl(partner: PartnerModel, addresses: EndpointAddresses): string {
    const ike = partner.ike;
    const conn = swanctlConnectionName(partner.name);
    if (!Array.isArray(partner.remoteHosts) || partner.remoteHosts.length === 0) {
        throw new RenderError("remoteHosts", partner.remoteHosts, "a non-empty list (one CHILD_SA per host)");
    }
    // swanctl merges sections of the same name silently: two hosts must never share a child.
    const childNames = partner.remoteHosts.map((h) => swanctlChildName(partner.name, h));
    childNames.forEach((n, i) => {
        if (childNames.indexOf(n) !== i) throw new RenderError("remoteHosts", partner.remoteHosts[i], "a host listed only once");
    });
    const ikeProposals = proposals("ikeProposals", ike.ikeProposals);
    const espProposals = proposals("espProposals", ike.espProposals);
    const ikeLife = lifetimes(integer("ike.ikeLifetime", ike.ikeLifetime, 300, 86400));
    const childLife = lifetimes(integer("ike.childLifetime", ike.childLifetime, 300, 86400));
    const dpd = integer("ike.dpdDelay", ike.dpdDelay, 0, 300);
    const natTs = `${ipv4("NAT address", addresses.natIp)}/32`;
    const lines = [
        `# partner-vpn: ${partner.name}. Rendered by partner-vpn; changes are overwritten on the next apply.`,
        "connections {",
        `    ${conn} {`,
        `        version = ${integer("ike.version", ike.version, 1, 2)}`,
        // The instance only has its private address; AWS maps the tunnel EIP onto it (1:1 NAT).
        `        local_addrs = ${ipv4("privateIp", partner.privateIp)}`,
        `        remote_addrs = ${ipv4("gatewayIp", partner.gatewayIp)}`,
        `        proposals = ${ikeProposals}`,
        `        rekey_time = ${ikeLife.rekey}s`,
        `        over_time = ${ikeLife.margin}s`,
        ...(dpd > 0 ? [`        dpd_delay = ${dpd}s`] : []),
        // Behind AWS's NAT the peer cannot detect NAT reliably on every device: force UDP 4500.
        "        encap = yes",
        "        mobike = no",
        "        local {",
        "            auth = psk",
        `            id = ${ipv4("tunnel address", addresses.tunnelIp)}`,
        "        }",
        "        remote {",
        "            auth = psk",
        `            id = ${swanctlToken("remoteId", partner.remoteId)}`,
        "        }",
        "        children {",
    ];
    for (const host of partner.remoteHosts) {
        lines.push(
            `            ${swanctlChildName(partner.name, host)} {`,
            `                local_ts = ${natTs}`,
            `                remote_ts = ${cidr("remote host", toCidr(host))}`,
            `                esp_proposals = ${espProposals}`,
            `                rekey_time = ${childLife.rekey}s`,
            `                rand_time = ${childLife.margin}s`,
            `                life_time = ${childLife.rekey + childLife.margin}s`,
            "                start_action = start",
            "                close_action = start",
            `                dpd_action = ${dpd > 0 ? "restart" : "clear"}`,
            "            }",
        );
    }
    lines.push("        }", "    }", "}", "");
    return lines.join("\n");
}

/**
 * strongSwan swanctl.conf for one partner: one IKE connection, one CHILD_SA per partner host.
 *
 * One child per host because IKEv1 negotiates (and strongSwan then uses) only the first traffic
 * selector of a child, and because adding a host then adds a child and leaves the established
 * ones untouched. Child names derive from the host, not its position, for the same reason.
 *
 * Connection behaviour: the endpoint must stay up without a human, so
 * - `keyingtries = 0`: initiation never gives up. strongSwan's default (1) abandons the IKE_SA
 *   after one retransmission sequence (about 5.5 minutes with default timers, seconds with ours),
 *   and nothing re-initiates it: a partner outage longer than that, or a first apply before the
 *   partner configured their side, left the tunnel down for good.
 * - `start_action = trap|start` (strongSwan 5.9.6 or newer): the trap policy is installed for as
 *   long as the config is loaded, also while no CHILD_SA exists, so a packet towards the partner
 *   is held and triggers a negotiation instead of leaving the endpoint in clear text with the NAT
 *   EIP as source; `start` brings the child up at once, so partner-initiated (DNAT) traffic works
 *   before we ever send.
 * - `dpd_action = restart`, `close_action = start`: after a dead peer or a delete from the peer,
 *   re-create the child at once (under a fresh IKE_SA for DPD). The trap alone would wait for our
 *   own traffic, and a partner that only sends to us (inbound DNAT) would never get it back. With
 *   DPD off the trap still restores on demand (`dpd_action = clear` then just drops the state).
 * - One initiator per child: we initiate, the partner is asked to answer only (plan/handoff.ts).
 *   Two initiators race into duplicate CHILD_SAs (IKEv1 has no collision handling at all).
 *   `unique = replace` removes an older IKE_SA with the same identities, e.g. the stale one of a
 *   partner that restarted, and we rekey at 90% of the agreed lifetimes, so we rekey first.
 * - IKEv2 declares a peer dead when a DPD request's retransmissions run out (timers in the charon
 *   drop-in, see charonSettings.ts: about 26 s after the probe); IKEv1's DPD instead uses
 *   `dpd_timeout`, rendered as three DPD intervals instead of the 150 s default.
 * These keywords mean the same in strongSwan 5.9.6+ (Debian 12: 5.9.8, Ubuntu 24.04: 5.9.13) and
 * 6.0 (Debian 13: 6.0.1), so the file does not depend on the release; an older charon (Ubuntu
 * 22.04's 5.9.5) refuses `trap|start` at load, and the apply then rolls back and says so.
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

/** IKEv1 only: declare the peer dead after three unanswered DPD intervals (strongSwan's default is 150 s). */
export function ikev1DpdTimeout(dpdDelay: number): number {
    return 3 * dpdDelay;
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
        ...(dpd > 0 && ike.version === 1 ? [`        dpd_timeout = ${ikev1DpdTimeout(dpd)}s`] : []),
        // Retry forever; see the header.
        "        keyingtries = 0",
        "        unique = replace",
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
            // Trap policy for as long as the config is loaded, and initiate now; see the header.
            // A member of an active/standby pair traps only: the member keepalived makes active
            // initiates (scripts/endpoint/failover.sh), the standby must never bring up SAs
            // with our identity, or the partner would replace the active member's with them.
            `                start_action = ${partner.ha ? "trap" : "trap|start"}`,
            "                close_action = start",
            `                dpd_action = ${dpd > 0 ? "restart" : "clear"}`,
            "            }",
        );
    }
    lines.push("        }", "    }", "}", "");
    return lines.join("\n");
}

/**
 * The artifacts of an active/standby pair (core/ha.ts), for one member:
 * - `/etc/keepalived/keepalived.conf`: unicast VRRP to the other member only (a VPC carries no
 *   multicast), both members start as BACKUP, and VRRP elects the member that holds the tunnel
 *   EIP (the `pvpn_holder` track script adds HOLDER_WEIGHT to its priority), so an election never
 *   moves it: a member that returns does not preempt the holder, a healed split brain settles on
 *   the member that claimed last, and a holder that VRRP left BACKUP preempts (no `nopreempt`:
 *   preemption only ever goes towards the holder). Without a holder (a fresh pair whose EIP is not
 *   associated yet) the primary's higher base priority decides. No virtual address: what moves is
 *   the tunnel EIP and the routes, through the EC2 API (scripts/endpoint/failover.sh).
 *   keepalived requires an `interface` even for unicast (2.2.7 says "Unknown interface!" without
 *   one), and EC2's names differ by instance type (ens5, eth0): the file uses `$PVPN_INTERFACE`,
 *   defined in KEEPALIVED_INTERFACE, which the apply writes from the interface holding
 *   `unicast_src_ip` (apply.sh pvpn_keepalived_interface).
 * - `/etc/partner-vpn/<partner>/ha.conf`: what the failover script moves (the tunnel EIP's
 *   allocation, each route as table and destination) and the children it initiates;
 * - the failover helper itself.
 * And the IAM policy of the pair's role: exactly the calls the script makes, on exactly its
 * resources where EC2 supports resource-level permissions.
 */
import { toCidr } from "../addresses";
import { HA_VIRTUAL_ROUTER_ID, type PairMember } from "../ha";
import type { PartnerModel, RenderedFile } from "../model";
import type { IamPolicyDocument } from "./monitoring";
import { FAILOVER_SCRIPT, KEEPALIVED_CONF, KEEPALIVED_INTERFACE } from "./paths";
import { cidr, ipv4, label, RenderError } from "./safe";
import { swanctlChildName } from "./swanctl";

/** VRRP advertisement interval: the standby declares the active dead after 3 missed (+ skew < 1 s). */
export const VRRP_ADVERT_SECONDS = 1;
/** Seconds between the health checks; `fall` failures in a row put a member in FAULT. */
export const HEALTH_INTERVAL_SECONDS = 2;
export const HEALTH_FALL = 2;
/** Seconds between each member's checks of which interface holds the tunnel EIP. */
export const HOLDER_INTERVAL_SECONDS = 5;
/**
 * Each member's VRRP priority while it does not hold the tunnel EIP. The primary's is higher so
 * that a pair without a holder (a fresh stack before the association) settles on it.
 */
export const BASE_PRIORITY: Readonly<Record<PairMember, number>> = { primary: 150, standby: 100 };
/**
 * Added to the priority of the member holding the tunnel EIP. Larger than the gap between the two
 * base priorities, so that the holder outranks the other member whichever it is (primary 210 /
 * standby 100, or standby 160 / primary 150): VRRP then elects the member that already holds the
 * EIP, and no election moves it. At most 254 - the primary's base: 255 is the address owner's.
 */
export const HOLDER_WEIGHT = 60;

/** The two members' addresses: this one's and its peer's. */
export function pairAddresses(partner: PartnerModel, member: PairMember): { self: string; peer: string } {
    if (!partner.ha) throw new RenderError("partners[].ha", undefined, "a standby (this partner has no pair)");
    const primary = ipv4("privateIp", partner.privateIp);
    const standby = ipv4("ha.privateIp", partner.ha.privateIp);
    return member === "primary" ? { self: primary, peer: standby } : { self: standby, peer: primary };
}

export function renderKeepalivedConf(partner: PartnerModel, member: PairMember): string {
    const name = label("partner name", partner.name);
    const { self, peer } = pairAddresses(partner, member);
    const failover = (action: string) => `"${FAILOVER_SCRIPT} ${action} ${name}"`;
    return [
        `# partner-vpn: ${name} active/standby pair; this member: ${member} (${self}), its peer ${peer}.`,
        "# Rendered by partner-vpn; changes are overwritten on the next apply.",
        `include ${KEEPALIVED_INTERFACE}`,
        "global_defs {",
        `    router_id pvpn-${name}-${member}`,
        // Scripts run as root and only if no other user can write them (keepalived checks the path).
        "    enable_script_security",
        "    script_user root",
        "}",
        "",
        "vrrp_script pvpn_health {",
        `    script ${failover("health")}`,
        `    interval ${HEALTH_INTERVAL_SECONDS}`,
        "    timeout 5",
        `    fall ${HEALTH_FALL}`,
        "    rise 2",
        "}",
        "",
        // Succeeds on the member whose interface holds the tunnel EIP (both members run it, in
        // every state; the script answers from its last known result when the EC2 API does not
        // answer in time). init_fail: a member that (re)starts begins without the holder's
        // weight, so it cannot preempt on its return before its first check (keepalived 2.2.7
        // and 2.3.3 also add a positive weight only after a first success; init_fail says so
        // whatever the version). rise/fall 1: the priority follows the EIP at the next check.
        "vrrp_script pvpn_holder {",
        `    script ${failover("holder")}`,
        `    interval ${HOLDER_INTERVAL_SECONDS}`,
        `    timeout ${HOLDER_INTERVAL_SECONDS * 3}`,
        `    weight ${HOLDER_WEIGHT}`,
        "    init_fail",
        "    rise 1",
        "    fall 1",
        "}",
        "",
        `vrrp_instance pvpn_${name.replace(/-/g, "_")} {`,
        "    state BACKUP",
        `    virtual_router_id ${HA_VIRTUAL_ROUTER_ID}`,
        `    priority ${BASE_PRIORITY[member]}`,
        "    interface $PVPN_INTERFACE",
        `    advert_int ${VRRP_ADVERT_SECONDS}`,
        `    unicast_src_ip ${self}`,
        "    unicast_peer {",
        `        ${peer}`,
        "    }",
        "    track_script {",
        "        pvpn_health",
        "        pvpn_holder",
        "    }",
        `    notify_master ${failover("master")}`,
        `    notify_backup ${failover("backup")}`,
        `    notify_fault ${failover("fault")}`,
        // Stopping keepalived (the rolling replacement's hand-over) leaves no SA behind either.
        `    notify_stop ${failover("backup")}`,
        "}",
        "",
    ].join("\n");
}

/**
 * An id AWS assigns at `pulumi up`, or the offline plan's marker in its place (program/mocks.ts
 * `unknownValue`: `<known after pulumi up: resource.attribute>`), which only the plan ever renders.
 */
function awsId(prefix: string): RegExp {
    return new RegExp(`^(${prefix}-[0-9a-f]{8,17}|<known after pulumi up: [A-Za-z0-9._-]+>)$`);
}
const ALLOCATION_ID = awsId("eipalloc");
const ROUTE_TABLE_ID = awsId("rtb");
const ENI_ID = awsId("eni");

/** What the failover script moves and starts; the same on both members. */
export function renderHaSettings(partner: PartnerModel, tunnelAllocationId: string, routeTableIds: readonly string[]): string {
    const name = label("partner name", partner.name);
    if (!ALLOCATION_ID.test(tunnelAllocationId)) throw new RenderError("tunnel EIP allocation id", tunnelAllocationId, "an allocation id (eipalloc-...)");
    const lines = [`# partner-vpn: ${name} pair: what partner-vpn-failover moves to the active member. Rendered by partner-vpn.`, `allocation ${tunnelAllocationId}`];
    for (const table of routeTableIds) {
        if (!ROUTE_TABLE_ID.test(table)) throw new RenderError("route table id", table, "a route table id (rtb-...)");
        for (const host of partner.remoteHosts) lines.push(`route ${table} ${cidr("remote host", toCidr(host))}`);
    }
    for (const host of partner.remoteHosts) lines.push(`child ${swanctlChildName(name, host)}`);
    return `${lines.join("\n")}\n`;
}

/** The pair's files for one member (the helper script comes from scripts.ts with the others). */
export function renderHaFiles(partner: PartnerModel, member: PairMember, tunnelAllocationId: string, routeTableIds: readonly string[], failoverHelper: string): RenderedFile[] {
    return [
        { path: KEEPALIVED_CONF, mode: "0644", content: renderKeepalivedConf(partner, member), secret: false },
        { path: `/etc/partner-vpn/${label("partner name", partner.name)}/ha.conf`, mode: "0644", content: renderHaSettings(partner, tunnelAllocationId, routeTableIds), secret: false },
        { path: FAILOVER_SCRIPT, mode: "0755", content: failoverHelper, secret: false },
    ];
}

export interface FailoverPolicyInputs {
    /** The region of the pair: EC2 ARNs are regional. */
    readonly region: string;
    readonly tunnelAllocationId: string;
    /** Both members' primary network interfaces. */
    readonly networkInterfaceIds: readonly string[];
    readonly routeTableIds: readonly string[];
}

/**
 * The failover role's permissions, nothing else:
 * - `ec2:AssociateAddress` on the tunnel EIP and the two members' interfaces only (EC2 authorizes
 *   each resource the call names; the account is left open, the ids are the account's own);
 * - `ec2:ReplaceRoute` on the stack's route tables only (route-table is its only resource type);
 * - `ec2:DescribeAddresses` (each member's check of which interface holds the EIP): EC2's
 *   Describe calls have no resource-level permissions, AWS requires `*`.
 */
export function renderFailoverPolicy(input: FailoverPolicyInputs): IamPolicyDocument {
    const arn = (type: string, id: string) => `arn:aws:ec2:${input.region}:*:${type}/${id}`;
    if (!ALLOCATION_ID.test(input.tunnelAllocationId)) throw new RenderError("tunnel EIP allocation id", input.tunnelAllocationId, "an allocation id (eipalloc-...)");
    for (const eni of input.networkInterfaceIds) if (!ENI_ID.test(eni)) throw new RenderError("network interface id", eni, "eni-...");
    for (const table of input.routeTableIds) if (!ROUTE_TABLE_ID.test(table)) throw new RenderError("route table id", table, "rtb-...");
    const statements: IamPolicyDocument["Statement"][number][] = [{
        Sid: "MoveTunnelEipBetweenThePair",
        Effect: "Allow",
        Action: "ec2:AssociateAddress",
        Resource: [arn("elastic-ip", input.tunnelAllocationId), ...input.networkInterfaceIds.map((id) => arn("network-interface", id))],
    }];
    if (input.routeTableIds.length > 0) {
        statements.push({ Sid: "MovePartnerRoutes", Effect: "Allow", Action: "ec2:ReplaceRoute", Resource: input.routeTableIds.map((id) => arn("route-table", id)) });
    }
    statements.push({ Sid: "CheckTunnelEipOwner", Effect: "Allow", Action: "ec2:DescribeAddresses", Resource: "*" });
    return { Version: "2012-10-17", Statement: statements };
}

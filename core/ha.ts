/**
 * Active/standby endpoint pairs (`partners[].ha`, stack default `endpoint.ha`): validation and
 * the views the renderers take. Its own file so validate.ts stays about the single endpoint.
 *
 * A pair is two instances with the same IKE identity (the tunnel EIP), PSK, children and NAT
 * rules; keepalived on both elects the active one, which then claims the tunnel EIP and every
 * partner route through the EC2 API (core/render/ha.ts, scripts/endpoint/failover.sh). What a pair
 * needs of the rest of the config, each refused here with the field named:
 * - mode `vpc-routing`: in classic-proxy our instances call the endpoint's own private IP, which
 *   does not move with a failover;
 * - strongSwan: the failover script drives charon with swanctl;
 * - `endpoint.bastion`: the program reaches both endpoints by private IP, because the tunnel EIP
 *   moves between them (SSH to it would reach whichever is active);
 * - a standby subnet other than `network.subnetId` (another availability zone is the point).
 */
import { cidrBounds, cidrContains, cidrsOverlap, prefixOf } from "./addresses";
import { VPC_ADDRESS, type FieldReader } from "./fields";
import type { EndpointModel, HaModel, IpsecDaemon, Mode, PartnerModel, StandbySubnetModel } from "./model";

/** AWS subnet ids: `subnet-` and 8 or 17 hex digits. */
const SUBNET_ID = /^subnet-([0-9a-f]{8}|[0-9a-f]{17})$/;

/** The VRRP router id of every pair. Unicast VRRP only ever reaches the pair's other member, so
 *  pairs never hear each other and one id serves them all. */
export const HA_VIRTUAL_ROUTER_ID = 51;

function readSubnet(r: FieldReader, path: string, id: unknown, cidr: unknown): Partial<StandbySubnetModel> {
    const subnetId = r.string(`${path}.subnetId`, id, true, SUBNET_ID, "the standby's subnet id (subnet- and 8 or 17 hex digits), in another availability zone than network.subnetId");
    let subnetCidr = cidr === undefined || cidr === null
        ? r.error(`${path}.subnetCidr`, "is required with subnetId; expected the standby subnet's CIDR, so the standby's privateIp can be checked offline")
        : r.cidr(`${path}.subnetCidr`, cidr, VPC_ADDRESS, false);
    if (subnetCidr && (prefixOf(subnetCidr) < 16 || prefixOf(subnetCidr) > 28)) {
        subnetCidr = r.error(`${path}.subnetCidr`, `"${subnetCidr}" has prefix length /${prefixOf(subnetCidr)}; an AWS subnet is /16 to /28`);
    }
    return { subnetId, subnetCidr };
}

/** `endpoint.ha`: the standby subnet every pair uses unless its partner names its own. */
export function readEndpointHa(r: FieldReader, value: unknown): StandbySubnetModel | undefined {
    const e = r.object("endpoint.ha", value, ["subnetId", "subnetCidr"], false);
    if (!e) return undefined;
    const s = readSubnet(r, "endpoint.ha", e.subnetId, e.subnetCidr);
    return s.subnetId && s.subnetCidr ? { subnetId: s.subnetId, subnetCidr: s.subnetCidr } : undefined;
}

/** What a partner's pair is checked against; undefined where that field is itself invalid. */
export interface HaScope {
    readonly mode?: Mode;
    readonly network?: { readonly subnetId?: string; readonly subnetCidr: string };
    readonly endpoint?: EndpointModel;
    readonly ipsecDaemon?: IpsecDaemon;
    readonly privateIp?: string;
}

/** `partners[i].ha`; undefined when absent (no pair) or invalid (the errors say why). */
export function readPartnerHa(r: FieldReader, path: string, value: unknown, scope: HaScope): { ha?: HaModel; ok: boolean } {
    const before = r.errors.length;
    const h = r.object(path, value, ["privateIp", "subnetId", "subnetCidr"], false);
    if (!h) return { ok: r.errors.length === before };
    const privateIp = r.ipv4(`${path}.privateIp`, h.privateIp, VPC_ADDRESS);
    const fallback = scope.endpoint?.ha;
    const own = h.subnetId !== undefined || h.subnetCidr !== undefined;
    if (!own && !fallback && scope.endpoint) {
        r.error(`${path}.subnetId`, "is required when endpoint.ha is not set; expected the standby's subnet (with subnetCidr), in another availability zone than network.subnetId");
    }
    const subnet = own ? readSubnet(r, path, h.subnetId, h.subnetCidr) : { ...fallback };
    const where = own ? path : "endpoint.ha";
    if (scope.mode === "classic-proxy") {
        r.error(path, "an active/standby pair needs mode vpc-routing: in classic-proxy our instances call the endpoint's own private IP, which does not move to the standby; expected no ha, or mode vpc-routing");
    }
    if (scope.ipsecDaemon === "libreswan") {
        r.error(path, "an active/standby pair needs ipsecDaemon strongswan (the failover script drives charon with swanctl); expected no ha, or strongswan");
    }
    if (scope.endpoint && !scope.endpoint.bastion) {
        r.error(path, "an active/standby pair needs endpoint.bastion: the program reaches both endpoints by private IP, since the tunnel EIP moves to whichever is active; expected endpoint.bastion to be set");
    }
    if (subnet.subnetId && scope.network?.subnetId && subnet.subnetId === scope.network.subnetId) {
        r.error(`${where}.subnetId`, `"${subnet.subnetId}" is network.subnetId; expected the standby in another subnet (in another availability zone), so one zone's outage does not take both`);
    }
    if (subnet.subnetCidr && scope.network && cidrsOverlap(subnet.subnetCidr, scope.network.subnetCidr)) {
        r.error(`${where}.subnetCidr`, `"${subnet.subnetCidr}" overlaps network.subnetCidr ${scope.network.subnetCidr}; expected another subnet of the VPC (subnets never overlap)`);
    }
    if (privateIp && subnet.subnetCidr) {
        if (!cidrContains(subnet.subnetCidr, privateIp)) {
            r.error(`${path}.privateIp`, `"${privateIp}" is outside the standby subnet ${subnet.subnetCidr} (${where}.subnetCidr); expected an address inside it`);
        } else {
            const { first, last } = cidrBounds(subnet.subnetCidr);
            if (cidrContains(`${first}/30`, privateIp) || privateIp === last) {
                r.error(`${path}.privateIp`, `"${privateIp}" is one of the addresses AWS reserves in ${subnet.subnetCidr} (the first four and the last); expected a usable host address`);
            }
        }
    }
    if (privateIp && privateIp === scope.privateIp) r.error(`${path}.privateIp`, `"${privateIp}" is also the active endpoint's privateIp; expected an address of its own`);
    if (r.errors.length > before || !privateIp || !subnet.subnetId || !subnet.subnetCidr) return { ok: false };
    return { ok: true, ha: { privateIp, subnetId: subnet.subnetId, subnetCidr: subnet.subnetCidr } };
}

/** Every private address of the endpoints: the standby's must collide with none of another partner's. */
export function checkHaAcrossPartners(r: FieldReader, partners: readonly (PartnerModel | undefined)[]): void {
    partners.forEach((p, i) => {
        if (!p?.ha) return;
        partners.forEach((q, j) => {
            if (!q || j === i) return;
            if (q.privateIp === p.ha?.privateIp) r.error(`partners[${i}].ha.privateIp`, `"${p.ha.privateIp}" is already the privateIp of partners[${j}] (${q.name}); expected one address per endpoint`);
            if (j < i && q.ha?.privateIp === p.ha?.privateIp) r.error(`partners[${i}].ha.privateIp`, `"${p.ha?.privateIp}" is already the standby of partners[${j}] (${q.name}); expected one address per endpoint`);
        });
    });
}

/** Which member of a pair: the one created in `network.subnetId`, or the standby. Roles are only
 *  where each starts; after a failover either may be active. */
export type PairMember = "primary" | "standby";

/**
 * The partner as one member of its pair renders it: the same identity, PSK, children and NAT, with
 * that member's own private address (the IKE local address and, for NAT, a source of its own).
 */
export function memberView(partner: PartnerModel, member: PairMember): PartnerModel {
    if (member === "primary") return partner;
    if (!partner.ha) throw new Error(`partner ${partner.name} has no standby (partners[].ha)`);
    return { ...partner, privateIp: partner.ha.privateIp };
}

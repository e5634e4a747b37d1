/**
 * The validated model: what `validateStackConfig` returns once every field has been checked and
 * every default filled in. Renderers, components, the plan and the lab consume only this shape,
 * never raw stack config. Pure data, no Pulumi.
 */
import type { EndpointOs } from "./os";

export type { EndpointOs } from "./os";

/** `vpc-routing`: VPC route tables send partner traffic to the endpoint, which forwards and NATs it.
 *  `classic-proxy`: no routes can be changed; instances call nginx on the endpoint, which proxies. */
export type Mode = "vpc-routing" | "classic-proxy";

export type IpsecDaemon = "strongswan" | "libreswan";

export type InboundProtocol = "tcp" | "udp" | "all";

export type ProxyProtocol = "http" | "tcp";

/** Where our side lives. CIDRs are normalised to `a.b.c.d/len` with no host bits. */
export interface NetworkModel {
    readonly vpcId: string;
    readonly subnetId: string;
    /** The endpoint subnet's CIDR; every endpoint private IP must sit inside it. */
    readonly subnetCidr: string;
    /** Our address space whose traffic is NATed towards partners (source of SNAT, DNAT targets). */
    readonly internalCidrs: readonly string[];
    /** vpc-routing only: route tables that get a route per partner host to the endpoint. */
    readonly routeTableIds: readonly string[];
}

export interface BastionModel {
    readonly host: string;
    readonly user: string;
    readonly port: number;
    /** The bastion's security group; the endpoints accept SSH from it. */
    readonly securityGroupId?: string;
}

export interface EndpointModel {
    readonly instanceType: string;
    /** Pinned AMI id, or undefined to look up the newest image matching `amiNameFilter` once. */
    readonly ami?: string;
    /** The OS of every endpoint whose partner does not override it. */
    readonly os: EndpointOs;
    /** The lookup for `os` (explicit in config, or the official image of `os`). */
    readonly amiOwner: string;
    readonly amiNameFilter: string;
    /** The login user for `os` (explicit in config, or the image's own user). */
    readonly sshUser: string;
    readonly keyName?: string;
    /** CIDRs allowed to reach SSH on the endpoints. Empty: SSH only through the bastion. */
    readonly adminCidrs: readonly string[];
    readonly bastion?: BastionModel;
    readonly rootVolumeGiB: number;
    readonly ipsecDaemon: IpsecDaemon;
    /** The default standby subnet for partners with `ha` (endpoint.ha). */
    readonly ha?: StandbySubnetModel;
}

export interface StandbySubnetModel {
    readonly subnetId: string;
    readonly subnetCidr: string;
}

/** The standby of an active/standby pair (core/ha.ts). */
export interface HaModel extends StandbySubnetModel {
    /** The standby's fixed private IP, inside `subnetCidr`. */
    readonly privateIp: string;
}

export interface IkeModel {
    readonly version: 1 | 2;
    /** strongSwan proposal strings, e.g. `aes256-sha256-modp2048`. */
    readonly ikeProposals: readonly string[];
    readonly espProposals: readonly string[];
    /** Seconds before the IKE SA is rekeyed (the "phase 1 lifetime" partners ask for). */
    readonly ikeLifetime: number;
    /** Seconds before each CHILD SA is rekeyed ("phase 2 lifetime"). */
    readonly childLifetime: number;
    /** Seconds between dead peer detection probes; 0 disables DPD. */
    readonly dpdDelay: number;
    readonly allowWeakAlgorithms: boolean;
}

/** Partner-initiated traffic: what arrives at our NAT address and which internal host gets it. */
export interface InboundMappingModel {
    /** Partner hosts (CIDRs) this mapping accepts traffic from. */
    readonly from: readonly string[];
    readonly protocol: InboundProtocol;
    /** Destination port on the NAT address; undefined for every port (protocol `all`). */
    readonly port?: number;
    readonly target: string;
    /** Port on the target; defaults to `port`. */
    readonly targetPort?: number;
}

/** classic-proxy only: a listener on the endpoint's private IP that relays to one partner host. */
export interface ProxyModel {
    readonly listenPort: number;
    readonly protocol: ProxyProtocol;
    readonly remoteHost: string;
    readonly remotePort: number;
}

export interface ElasticIpModel {
    /** An existing allocation (`eipalloc-...`) the partner has already whitelisted; else a new one. */
    readonly allocationId?: string;
    /** Its public IP when given in config (known offline); else only after `pulumi up`. */
    readonly publicIp?: string;
}

export interface PartnerModel {
    readonly name: string;
    /** Fixed private IP of this partner's endpoint instance; the IKE local address. */
    readonly privateIp: string;
    /** The partner's VPN gateway public IP. */
    readonly gatewayIp: string;
    /** The partner's IKE identity; defaults to `gatewayIp`. */
    readonly remoteId: string;
    /** The partner's encryption domain: hosts and subnets as normalised CIDRs. */
    readonly remoteHosts: readonly string[];
    readonly ike: IkeModel;
    readonly natEip: ElasticIpModel;
    readonly tunnelEip: ElasticIpModel;
    readonly inbound: readonly InboundMappingModel[];
    readonly proxies: readonly ProxyModel[];
    readonly ipsecDaemon: IpsecDaemon;
    /** The internet path's MTU to the partner's gateway: what the MSS clamp is sized for. */
    readonly pathMtu: number;
    /** This partner's endpoint OS (`partners[].os`, else `endpoint.os`). */
    readonly os: EndpointOs;
    /** The image this endpoint boots: `endpoint.ami` pinned, else the lookup for `os`. */
    readonly image: EndpointImageModel;
    /** The login user of this endpoint: `endpoint.sshUser`, else the default user of `os`. */
    readonly sshUser: string;
    /** The standby when this partner has an active/standby pair; absent for a single endpoint. */
    readonly ha?: HaModel;
}

export interface EndpointImageModel {
    readonly ami?: string;
    readonly amiOwner: string;
    readonly amiNameFilter: string;
}

/** Health metrics and alarms; see MonitoringConfig for the meaning of each field. */
export interface MonitoringModel {
    readonly periodSeconds: number;
    readonly tunnelDownPeriods: number;
    readonly statusCheckPeriods: number;
    /** Where alarms go: nowhere, an existing topic, or a topic the stack creates. */
    readonly alarmTopic: { readonly kind: "none" } | { readonly kind: "existing"; readonly arn: string } | { readonly kind: "create" };
}

export interface StackModel {
    readonly mode: Mode;
    readonly network: NetworkModel;
    readonly endpoint: EndpointModel;
    readonly partners: readonly PartnerModel[];
    readonly monitoring: MonitoringModel;
}

/** Secret material, kept apart from the model so that the model can be printed and diffed. */
export interface StackSecrets {
    /** Pre-shared key per partner name. */
    readonly psks: Readonly<Record<string, string>>;
    readonly sshPrivateKey: string;
}

/** Addresses that only exist once the Elastic IPs do; the renderers need them. */
export interface EndpointAddresses {
    /** The reserved, never-attached Elastic IP our traffic is source-NATed to. */
    readonly natIp: string;
    /** The Elastic IP associated with the endpoint; our IKE identity and gateway address. */
    readonly tunnelIp: string;
}

export interface RenderedFile {
    /** Absolute path on the endpoint. */
    readonly path: string;
    /** Octal file mode, e.g. `0600`. */
    readonly mode: string;
    readonly content: string;
    /** True when the content holds secret material (the PSK). */
    readonly secret: boolean;
}

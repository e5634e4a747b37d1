/**
 * The stack configuration as a user writes it in Pulumi.<stack>.yaml under the `partner-vpn:`
 * namespace. Every field is checked by `validateStackConfig` (core/validate.ts); this file is the
 * reference for names, meanings and defaults, and README's config reference mirrors it.
 *
 * Plain keys: `mode`, `network`, `endpoint`, `partners`, `monitoring`, `allowDocumentationAddresses`.
 * Secret keys (set with `pulumi config set --secret`): `psks` (an object: partner name -> PSK)
 * and `sshPrivateKey`. The partner list itself stays plain so `pulumi preview --diff` shows it.
 */

export const CONFIG_NAMESPACE = "partner-vpn";

/** The plain stack config keys, without the `partner-vpn:` prefix: validated from the plain config. */
export const PLAIN_CONFIG_KEYS = ["mode", "network", "endpoint", "partners", "monitoring", "allowDocumentationAddresses"] as const;

/** The secret stack config keys (`pulumi config set --secret`): never part of the plain config. */
export const SECRET_CONFIG_KEYS = ["psks", "sshPrivateKey"] as const;

export type PlainConfigKey = (typeof PLAIN_CONFIG_KEYS)[number];
export type SecretConfigKey = (typeof SECRET_CONFIG_KEYS)[number];

/** Every stack config key by name, without the prefix: `CONFIG_KEYS.psks === "psks"`. */
export const CONFIG_KEYS = Object.fromEntries([...PLAIN_CONFIG_KEYS, ...SECRET_CONFIG_KEYS].map((k) => [k, k])) as {
    readonly [K in PlainConfigKey | SecretConfigKey]: K;
};

/** The full key the Pulumi runtime and stack files use: `partner-vpn:<key>`. */
export function runtimeKey(key: string): string {
    return `${CONFIG_NAMESPACE}:${key}`;
}

/** The secret keys as the runtime names them (`partner-vpn:psks`, `partner-vpn:sshPrivateKey`). */
export const SECRET_RUNTIME_KEYS: readonly string[] = SECRET_CONFIG_KEYS.map(runtimeKey);

export function isSecretConfigKey(key: string): key is SecretConfigKey {
    return (SECRET_CONFIG_KEYS as readonly string[]).includes(key);
}

export interface NetworkConfig {
    /** VPC of the endpoints. Required. */
    vpcId: string;
    /** Subnet the endpoints are placed in. Required. */
    subnetId: string;
    /** CIDR of that subnet, so private IPs can be checked offline. Required. */
    subnetCidr: string;
    /** Our internal CIDRs: sources we NAT towards partners and allowed DNAT targets. Required. */
    internalCidrs: string[];
    /** vpc-routing: route tables that get partner routes via the endpoint. Default `[]`. */
    routeTableIds?: string[];
}

export interface BastionConfig {
    /** Bastion host name or address. Required when `bastion` is set. */
    host: string;
    /** SSH user on the bastion. Default `ec2-user`. */
    user?: string;
    /** SSH port on the bastion. Default `22`. */
    port?: number;
    /** The bastion's security group (`sg-...`): endpoints accept SSH from it. Default: none
     *  (then list the bastion's address in `endpoint.adminCidrs`). */
    securityGroupId?: string;
}

export interface EndpointConfig {
    /** EC2 instance type. Default `t3.micro`. */
    instanceType?: string;
    /** Pinned AMI id (`ami-...`). Default: look up the newest `amiNameFilter` image once and keep it. */
    ami?: string;
    /** The endpoints' operating system: `debian-13`, `debian-12` or `ubuntu-24.04` (core/os.ts).
     *  Picks the AMI lookup, the default `sshUser` and what the bootstrap does. Default `debian-13`. */
    os?: string;
    /** AMI owner for the lookup. Default: the publisher of `os` (`136693071363` Debian, `099720109477` Canonical). */
    amiOwner?: string;
    /** AMI name filter for the lookup. Default: the official image of `os` (`debian-13-amd64-*`,
     *  `debian-12-amd64-*`, `ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*`). */
    amiNameFilter?: string;
    /** Login user the remote commands use. Default: the image's own user (`admin` on Debian, `ubuntu` on Ubuntu). */
    sshUser?: string;
    /** EC2 key pair name installed on the instance. Default: none. */
    keyName?: string;
    /** CIDRs allowed to SSH to the endpoints. Default `[]` (SSH only through `bastion`). */
    adminCidrs?: string[];
    /** SSH jump host for the remote commands. Default: none (connect to the tunnel EIP directly). */
    bastion?: BastionConfig;
    /** Root volume size in GiB. Default `8`. */
    rootVolumeGiB?: number;
    /** IPsec daemon for every partner unless a partner overrides it. Default `strongswan`. */
    ipsecDaemon?: "strongswan" | "libreswan";
    /** The standby subnet of every partner with `ha` that does not name its own. Default: none. */
    ha?: StandbySubnetConfig;
}

/** A subnet for standby endpoints, in another availability zone than `network.subnetId`. */
export interface StandbySubnetConfig {
    /** The subnet (`subnet-...`). Required. */
    subnetId: string;
    /** Its CIDR, so standby addresses can be checked offline. Required. */
    subnetCidr: string;
}

/**
 * An active/standby pair for one partner (core/ha.ts): a standby endpoint with the same identity,
 * PSK and config; keepalived moves the tunnel EIP and the partner routes to whichever is alive.
 * Needs mode `vpc-routing`, strongSwan and `endpoint.bastion`.
 */
export interface HaConfig {
    /** The standby's fixed private IP, inside the standby subnet. Required. */
    privateIp: string;
    /** The standby's subnet. Default: `endpoint.ha.subnetId` (one of the two is required). */
    subnetId?: string;
    /** That subnet's CIDR; required with `subnetId`. Default: `endpoint.ha.subnetCidr`. */
    subnetCidr?: string;
}

export interface IkeConfig {
    /** IKE version, 1 or 2. Default `2`. */
    version?: number;
    /** Phase 1 proposals in strongSwan syntax. Default `["aes256-sha256-modp2048"]`. */
    ikeProposals?: string[];
    /** Phase 2 (ESP) proposals in strongSwan syntax. Default `["aes256-sha256-modp2048"]`. */
    espProposals?: string[];
    /** Phase 1 lifetime in seconds, 300..86400. Default `28800`. */
    ikeLifetime?: number;
    /** Phase 2 lifetime in seconds, 300..86400, at most `ikeLifetime`. Default `3600`. */
    childLifetime?: number;
    /** Dead peer detection interval in seconds, 0 (off) or 5..300. Default `30`. */
    dpdDelay?: number;
    /** Accept modp1024, sha1, 3des and md5 (with a warning). Default `false`. */
    allowWeakAlgorithms?: boolean;
}

export interface InboundMappingConfig {
    /** Partner hosts allowed to use this mapping, each inside `remoteHosts`. Default: all of them. */
    from?: string[];
    /** `tcp`, `udp` or `all`. Default `all` (every port; `port` must then be unset). */
    protocol?: string;
    /** Port on the NAT address (tcp/udp only). Default: every port. */
    port?: number;
    /** Internal address that receives the traffic, inside `internalCidrs`. Required. */
    target: string;
    /** Port on the target. Default: `port`. */
    targetPort?: number;
}

export interface ProxyConfig {
    /** Port nginx listens on, on the endpoint's private IP. Required; not 22, 500 or 4500. */
    listenPort: number;
    /** `http` (nginx http proxy) or `tcp` (stream module). Default `http`. */
    protocol?: string;
    /** Partner host to relay to, inside `remoteHosts`. Required. */
    remoteHost: string;
    /** Port on the partner host. Default `80` for http; required for tcp. */
    remotePort?: number;
}

export interface ElasticIpConfig {
    /** Existing allocation id (`eipalloc-...`) to adopt instead of allocating. Default: allocate. */
    allocationId?: string;
    /** The public IP of that allocation, so previews and the offline plan can render with it.
     *  Only with `allocationId`. Default: known only after `pulumi up`. */
    publicIp?: string;
}

export interface PartnerConfig {
    /** Lowercase DNS label, at most 18 characters (iptables chain names derive from it). Required. */
    name: string;
    /** Fixed private IP of this partner's endpoint, inside `network.subnetCidr`. Required. */
    privateIp: string;
    /** The partner's VPN gateway public IPv4 address. Required. */
    gatewayIp: string;
    /** The partner's IKE identity. Default: `gatewayIp`. */
    remoteId?: string;
    /** The partner's encryption domain: IPv4 hosts or CIDRs. Required, at least one. */
    remoteHosts: string[];
    /** IKE/IPsec parameters agreed with the partner. Defaults as in `IkeConfig`. */
    ike?: IkeConfig;
    /** Our NAT address (the encryption domain the partner sees). Default: allocate a new EIP. */
    natEip?: ElasticIpConfig;
    /** Our gateway address (the IKE peer the partner sees). Default: allocate a new EIP. */
    tunnelEip?: ElasticIpConfig;
    /** Partner-initiated traffic to forward to our instances. Default `[]`. */
    inbound?: InboundMappingConfig[];
    /** classic-proxy: listeners on the endpoint relaying to partner hosts. Default `[]`. */
    proxies?: ProxyConfig[];
    /** Overrides `endpoint.ipsecDaemon` for this partner. */
    ipsecDaemon?: "strongswan" | "libreswan";
    /** The MTU of the internet path between our endpoint and the partner's gateway, 1280..1500:
     *  the TCP MSS clamp is sized so that a full-size segment in ESP over UDP fits it
     *  (core/render/mss.ts). Lower it for a partner behind a smaller link (PPPoE 1492, a tunnel).
     *  Default `1500` (what an AWS internet gateway carries). */
    pathMtu?: number;
    /** Overrides `endpoint.os` for this partner's endpoint (move a stack to a new OS one partner at
     *  a time; the change replaces that endpoint). Default: `endpoint.os`. */
    os?: string;
    /** A standby endpoint that takes over the tunnel EIP and routes when this one fails. Default: none (one endpoint). */
    ha?: HaConfig;
}

/**
 * Health metrics and alarms (stack-wide). Each endpoint publishes in the CloudWatch namespace
 * `PartnerVpn` with an instance role allowed nothing else; the program creates the alarms.
 */
export interface MonitoringConfig {
    /** Seconds between the endpoint's publisher runs, and the alarms' period: 10, 30 (high
     *  resolution, billed as such) or a multiple of 60 up to 3600. Default `60`. */
    periodSeconds?: number;
    /** Consecutive periods a tunnel (any child) must be down, or silent, before its alarm fires,
     *  1..60. Default `3`. */
    tunnelDownPeriods?: number;
    /** Consecutive minutes EC2's system status check must fail before the instance is recovered
     *  on new hardware, 1..60. Default `2`. */
    statusCheckPeriods?: number;
    /** An existing SNS topic (`arn:aws:sns:...`) that receives every alarm and its recovery.
     *  Default: none. Not together with `createAlarmTopic`. */
    alarmTopicArn?: string;
    /** Create one SNS topic for the stack that receives every alarm (subscribe to it yourself).
     *  Default `false`. */
    createAlarmTopic?: boolean;
}

export interface StackConfig {
    /** `vpc-routing` or `classic-proxy`. Required. */
    mode: string;
    network: NetworkConfig;
    /** Endpoint instance settings shared by every partner. Default: all defaults. */
    endpoint?: EndpointConfig;
    /** One entry per partner. Required, at least one. */
    partners: PartnerConfig[];
    /** Metrics and alarms. Default: all defaults (publishing every 60 s, alarms without a topic). */
    monitoring?: MonitoringConfig;
    /** Lab and test switch: accept documentation ranges where public addresses are required. Default `false`. */
    allowDocumentationAddresses?: boolean;
}

export const DEFAULTS = {
    instanceType: "t3.micro",
    bastionUser: "ec2-user",
    sshPort: 22,
    rootVolumeGiB: 8,
    ipsecDaemon: "strongswan",
    ikeVersion: 2,
    ikeProposals: ["aes256-sha256-modp2048"],
    espProposals: ["aes256-sha256-modp2048"],
    ikeLifetime: 28800,
    childLifetime: 3600,
    dpdDelay: 30,
    pathMtu: 1500,
    httpRemotePort: 80,
    metricsPeriodSeconds: 60,
    tunnelDownPeriods: 3,
    statusCheckPeriods: 2,
} as const;

/** Ports the endpoint itself uses; a proxy may not listen on them. */
export const RESERVED_PORTS: readonly number[] = [22, 500, 4500];

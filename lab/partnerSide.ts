/**
 * The partner's half of the VPN agreement, as the partner's own strongSwan would be configured.
 * Written from plain parameters of the agreement (addresses, identities, proposals, PSK), never
 * from our renderers, so that a mistake in our rendered config is not mirrored here and shows up
 * as a failed negotiation.
 */

export interface PartnerSideParams {
    /** Name of the connection in the partner's swanctl config. */
    readonly connName: string;
    /** The partner gateway's own (public) address. */
    readonly localAddress: string;
    /** The partner's IKE identity; defaults to its address. */
    readonly localId?: string;
    /** Our tunnel Elastic IP: where the partner sends IKE. */
    readonly remoteAddress: string;
    /** Our IKE identity as agreed (the tunnel Elastic IP); defaults to `remoteAddress`. */
    readonly remoteId?: string;
    /** The partner's encryption domain: its hosts (CIDRs) behind the gateway. */
    readonly localHosts: readonly string[];
    /** What the partner expects our traffic to come from: our NAT IP as a /32. */
    readonly remoteTs: string;
    readonly ikeVersion: 1 | 2;
    readonly ikeProposals: readonly string[];
    readonly espProposals: readonly string[];
    readonly psk: string;
    /** One child per partner host (like one crypto-map ACL line each); default true. */
    readonly childPerHost?: boolean;
    /** The partner normally waits for us (`none`); `start` makes it initiate as well. */
    readonly startAction?: "none" | "trap" | "start";
    readonly dpdDelay?: number;
}

export interface PartnerSideConfig {
    /** swanctl.conf content for /etc/swanctl/conf.d/ on the partner's gateway. */
    readonly swanctlConf: string;
    readonly connName: string;
    readonly children: readonly string[];
}

/** `203.0.113.7/32` -> `host-203-0-113-7-32`: a child name swanctl accepts. */
export function partnerChildName(cidr: string): string {
    const full = cidr.includes("/") ? cidr : `${cidr}/32`;
    return `host-${full.replace(/[./]/g, "-")}`;
}

function hex(text: string): string {
    return `0x${Buffer.from(text, "utf8").toString("hex")}`;
}

export function renderPartnerSide(p: PartnerSideParams): PartnerSideConfig {
    if (p.localHosts.length === 0) throw new Error("the partner needs at least one host in its encryption domain");
    const localId = p.localId ?? p.localAddress;
    const remoteId = p.remoteId ?? p.remoteAddress;
    const hosts = p.localHosts.map((h) => (h.includes("/") ? h : `${h}/32`));
    const childPerHost = p.childPerHost ?? true;
    const groups = childPerHost ? hosts.map((h) => [h]) : [hosts];
    const children = groups.map((g) => (childPerHost ? partnerChildName(g[0]) : "hosts"));
    const childBlocks = groups.map(
        (g, i) => `        ${children[i]} {
            local_ts = ${g.join(",")}
            remote_ts = ${p.remoteTs}
            esp_proposals = ${p.espProposals.join(",")}
            mode = tunnel
            start_action = ${p.startAction ?? "none"}
            dpd_action = ${p.startAction === "start" ? "restart" : "clear"}
        }`,
    );
    const swanctlConf = `# The partner's side (lab only), written from the agreement's parameters.
connections {
    ${p.connName} {
        version = ${p.ikeVersion}
        local_addrs = ${p.localAddress}
        remote_addrs = ${p.remoteAddress}
        proposals = ${p.ikeProposals.join(",")}
        dpd_delay = ${p.dpdDelay ?? 10}s
        local {
            auth = psk
            id = ${localId}
        }
        remote {
            auth = psk
            id = ${remoteId}
        }
        children {
${childBlocks.join("\n")}
        }
    }
}
secrets {
    ike-${p.connName} {
        id-local = ${localId}
        id-remote = ${remoteId}
        secret = ${hex(p.psk)}
    }
}
`;
    return { swanctlConf, connName: p.connName, children };
}

/**
 * The two Elastic IPs of a partner: the NAT address (reserved, never associated: our traffic is
 * source-NATed to it, and it is the encryption domain the partner whitelists) and the tunnel
 * address (associated with the endpoint: our IKE peer). New ones are protected from deletion,
 * because a partner's firewall change is needed to replace either (`protect: false` in the
 * component's resource options lifts that); existing allocations named in config are adopted
 * read-only.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { ElasticIpModel, PartnerModel } from "../core/model";

export interface ElasticIp {
    readonly allocationId: pulumi.Output<string>;
    /** From config when given there (known at preview and offline), else from AWS. */
    readonly publicIp: pulumi.Output<string>;
}

function createElasticIp(name: string, role: string, partner: string, config: ElasticIpModel, parent: pulumi.Resource, protect: boolean): ElasticIp {
    if (config.allocationId) {
        const existing = aws.ec2.Eip.get(name, config.allocationId, undefined, { parent });
        return {
            allocationId: existing.allocationId,
            publicIp: config.publicIp ? pulumi.output(config.publicIp) : existing.publicIp,
        };
    }
    const eip = new aws.ec2.Eip(name, {
        domain: "vpc",
        tags: { Name: `partner-vpn-${partner}-${role}`, "partner-vpn:partner": partner, "partner-vpn:role": role },
    }, { parent, protect });
    return { allocationId: eip.allocationId, publicIp: eip.publicIp };
}

export interface ElasticIps {
    readonly nat: ElasticIp;
    readonly tunnel: ElasticIp;
}

export interface ElasticIpsArgs {
    readonly partner: PartnerModel;
    /** Protect new allocations from deletion. Default `true`. */
    readonly protect?: boolean;
}

export function createElasticIps(name: string, args: ElasticIpsArgs, parent: pulumi.Resource): ElasticIps {
    const protect = args.protect ?? true;
    return {
        nat: createElasticIp(`${name}-nat-eip`, "nat", args.partner.name, args.partner.natEip, parent, protect),
        tunnel: createElasticIp(`${name}-tunnel-eip`, "tunnel", args.partner.name, args.partner.tunnelEip, parent, protect),
    };
}

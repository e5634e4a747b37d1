/**
 * The endpoint's security group: IKE and NAT-T only from the partner's gateway, SSH only from the
 * admin CIDRs or the bastion's group, and our internal CIDRs to the proxy ports (classic-proxy)
 * or for forwarded traffic (vpc-routing). Every rule is described. The rule list is a pure
 * function so tests can check it without Pulumi.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { PartnerModel, StackModel } from "../core/model";
import type { CloudRefs } from "./partnerVpnArgs";

export interface SecurityGroupRule {
    readonly description: string;
    /** For icmp, fromPort is the ICMP type and toPort the code (AWS's convention). */
    readonly protocol: "tcp" | "udp" | "icmp" | "-1" | "112";
    readonly fromPort: number;
    readonly toPort: number;
    readonly cidrBlocks?: readonly string[];
    readonly securityGroups?: readonly string[];
}

export interface SecurityGroupRules {
    readonly ingress: readonly SecurityGroupRule[];
    readonly egress: readonly SecurityGroupRule[];
}

export function securityGroupRules(model: StackModel, partner: PartnerModel): SecurityGroupRules {
    const gateway = [`${partner.gatewayIp}/32`];
    const ingress: SecurityGroupRule[] = [
        { description: `IKE from ${partner.name}'s VPN gateway`, protocol: "udp", fromPort: 500, toPort: 500, cidrBlocks: gateway },
        { description: `IPsec NAT-T (ESP in UDP) from ${partner.name}'s VPN gateway`, protocol: "udp", fromPort: 4500, toPort: 4500, cidrBlocks: gateway },
    ];
    // Path MTU discovery for the endpoint's own packets (its ESP-in-UDP packets, nginx's
    // connections): "fragmentation needed" comes from whichever router on the internet path has
    // the smaller MTU, so from any address. Only that one ICMP error (type 3, code 4) is admitted;
    // tunnelled TCP is protected by the MSS clamp (core/render/mss.ts) whether or not it arrives.
    ingress.push({ description: "ICMP fragmentation needed (path MTU discovery) from any router on the path", protocol: "icmp", fromPort: 3, toPort: 4, cidrBlocks: ["0.0.0.0/0"] });
    for (const cidr of model.endpoint.adminCidrs) {
        ingress.push({ description: `SSH from admin network ${cidr}`, protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: [cidr] });
    }
    const bastionGroup = model.endpoint.bastion?.securityGroupId;
    if (bastionGroup) {
        ingress.push({ description: `SSH from the bastion (${model.endpoint.bastion?.host})`, protocol: "tcp", fromPort: 22, toPort: 22, securityGroups: [bastionGroup] });
    }
    if (model.mode === "classic-proxy") {
        for (const p of partner.proxies) {
            ingress.push({
                description: `proxy port ${p.listenPort} (${p.protocol} to ${partner.name} ${p.remoteHost}:${p.remotePort}) from our internal networks`,
                protocol: "tcp", fromPort: p.listenPort, toPort: p.listenPort, cidrBlocks: model.network.internalCidrs,
            });
        }
    } else {
        ingress.push({
            description: `traffic from our internal networks routed through the endpoint to ${partner.name}`,
            protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: model.network.internalCidrs,
        });
    }
    if (partner.ha) {
        // keepalived's unicast VRRP (IP protocol 112, ports do not apply): the pair's two members
        // share this group, and only they may speak VRRP to each other.
        ingress.push({
            description: `VRRP (IP protocol 112) between the two members of ${partner.name}'s active/standby pair only`,
            protocol: "112", fromPort: 0, toPort: 0, cidrBlocks: [`${partner.privateIp}/32`, `${partner.ha.privateIp}/32`],
        });
    }
    const egress: SecurityGroupRule[] = [
        { description: "all outbound: IKE/NAT-T to the partner, forwarded and DNATed traffic, package mirrors", protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] },
    ];
    return { ingress, egress };
}

export interface SecurityGroupArgs {
    readonly model: StackModel;
    readonly partner: PartnerModel;
    readonly refs: CloudRefs;
}

export function createSecurityGroup(name: string, args: SecurityGroupArgs, parent: pulumi.Resource): aws.ec2.SecurityGroup {
    const rules = securityGroupRules(args.model, args.partner);
    const bastion = args.model.endpoint.bastion;
    const { bastionHost, bastionSecurityGroupId } = args.refs;
    // The rules name the bastion as the model has it; its group and host may be the caller's Outputs.
    const fromBastion = (r: SecurityGroupRule) => bastion?.securityGroupId !== undefined && r.securityGroups?.includes(bastion.securityGroupId) === true;
    const toInput = (r: SecurityGroupRule) => ({
        description: fromBastion(r) ? pulumi.interpolate`SSH from the bastion (${bastionHost})` : r.description,
        protocol: r.protocol,
        fromPort: r.fromPort,
        toPort: r.toPort,
        cidrBlocks: r.cidrBlocks ? [...r.cidrBlocks] : undefined,
        securityGroups: fromBastion(r) ? [bastionSecurityGroupId as pulumi.Input<string>] : r.securityGroups ? [...r.securityGroups] : undefined,
    });
    return new aws.ec2.SecurityGroup(`${name}-sg`, {
        description: `partner-vpn endpoint for ${args.partner.name}`,
        vpcId: args.refs.vpcId,
        ingress: rules.ingress.map(toInput),
        egress: rules.egress.map(toInput),
        tags: { Name: `partner-vpn-${args.partner.name}`, "partner-vpn:partner": args.partner.name },
    }, { parent });
}

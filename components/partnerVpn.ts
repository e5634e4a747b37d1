/**
 * One partner's VPN endpoint: Elastic IPs, security group, instance role and profile, instance,
 * alarms, routes (vpc-routing) and the remote commands that configure it. A thin component: every child is made by a createX helper.
 */
import * as pulumi from "@pulumi/pulumi";
import { toCidr } from "../core/addresses";
import type { PartnerModel, RenderedFile, StackModel } from "../core/model";
import { createApplyCommand, createBootstrapCommand, sshConnection } from "./commands";
import { createElasticIps } from "./elasticIps";
import { createEndpointInstance } from "./instance";
import { createAlarms, createEndpointRole } from "./monitoring";
import { createRoutes } from "./routes";
import { createSecurityGroup } from "./securityGroup";

export const PARTNER_VPN_TYPE = "partner-vpn:index:PartnerVpn";

export interface PartnerVpnArgs {
    readonly model: StackModel;
    readonly partner: PartnerModel;
    /** The partner's pre-shared key; wrapped as a secret here whatever the caller passed. */
    readonly psk: pulumi.Input<string>;
    readonly sshPrivateKey: pulumi.Input<string>;
    /** The AMI id: pinned in config or looked up once for the partner's OS. */
    readonly ami: pulumi.Input<string>;
    /** The stack's AWS region (EC2's recover action is a regional ARN). */
    readonly region: string;
    /** Where the alarms notify: the stack's topic, an existing one, or none. */
    readonly alarmTopicArn?: pulumi.Input<string>;
}

/** What the partner's network team needs from us; stack output, and never the PSK. */
export interface PartnerHandoff {
    readonly partner: string;
    readonly ourGatewayIp: string;
    readonly ourIkeId: string;
    readonly ourEncryptionDomain: string[];
    readonly theirGatewayIp: string;
    readonly theirIkeId: string;
    readonly theirEncryptionDomain: string[];
    readonly ikeVersion: number;
    readonly ikeProposals: string[];
    readonly espProposals: string[];
    readonly ikeLifetimeSeconds: number;
    readonly childLifetimeSeconds: number;
    readonly dpdDelaySeconds: number;
    readonly natTraversal: string;
    readonly authentication: string;
    /** The IKE daemon on our side; informative only: the proposals above are the agreement either way. */
    readonly ourIpsecSoftware: string;
}

export class PartnerVpn extends pulumi.ComponentResource {
    public readonly natIp: pulumi.Output<string>;
    public readonly tunnelIp: pulumi.Output<string>;
    public readonly instanceId: pulumi.Output<string>;
    public readonly generation: pulumi.Output<string>;
    public readonly handoff: pulumi.Output<PartnerHandoff>;
    /** CloudWatch alarm names: `aws cloudwatch describe-alarms --alarm-names ...` shows the partner's state. */
    public readonly alarmNames: pulumi.Output<string[]>;
    /** The partner this endpoint serves. */
    public readonly partnerName: string;
    /** Every file the endpoint receives, as pushed (a secret: one holds the PSK). Not a registered output. */
    public readonly endpointFiles: pulumi.Output<readonly RenderedFile[]>;

    constructor(name: string, args: PartnerVpnArgs, opts?: pulumi.ComponentResourceOptions) {
        super(PARTNER_VPN_TYPE, name, {}, opts);
        const { model, partner } = args;
        const eips = createElasticIps(name, { partner }, this);
        const sg = createSecurityGroup(name, { model, partner }, this);
        const role = createEndpointRole(name, { partner }, this);
        const { instance, association } = createEndpointInstance(name, {
            model, partner, ami: args.ami, securityGroupId: sg.id, tunnelAllocationId: eips.tunnel.allocationId, instanceProfile: role.profile.name,
        }, this);
        const alarms = createAlarms(name, { partner, monitoring: model.monitoring, region: args.region, instanceId: instance.id, topicArn: args.alarmTopicArn }, this);
        const routes = createRoutes(name, { model, partner, networkInterfaceId: instance.primaryNetworkInterfaceId }, this);
        const connection = sshConnection({
            model, partner,
            host: model.endpoint.bastion ? partner.privateIp : eips.tunnel.publicIp,
            sshPrivateKey: args.sshPrivateKey,
        });
        const bootstrap = createBootstrapCommand(name, { model, connection, instanceId: instance.id, partner }, this, [association]);
        const apply = createApplyCommand(name, {
            model, partner, connection, instanceId: instance.id,
            addresses: pulumi.all([eips.nat.publicIp, eips.tunnel.publicIp]).apply(([natIp, tunnelIp]) => ({ natIp, tunnelIp })),
            psk: pulumi.secret(args.psk),
        }, this, [bootstrap, ...routes]);

        this.natIp = eips.nat.publicIp;
        this.tunnelIp = eips.tunnel.publicIp;
        this.instanceId = instance.id;
        this.generation = apply.generation;
        this.alarmNames = pulumi.all(alarms.map((a) => a.name));
        this.partnerName = partner.name;
        this.endpointFiles = apply.files;
        this.handoff = pulumi.all([this.natIp, this.tunnelIp]).apply(([natIp, tunnelIp]) => handoffFor(partner, natIp, tunnelIp));
        this.registerOutputs({ natIp: this.natIp, tunnelIp: this.tunnelIp, instanceId: this.instanceId, generation: this.generation, handoff: this.handoff, alarmNames: this.alarmNames });
    }
}

export function handoffFor(partner: PartnerModel, natIp: string, tunnelIp: string): PartnerHandoff {
    return {
        partner: partner.name,
        ourGatewayIp: tunnelIp,
        ourIkeId: tunnelIp,
        ourEncryptionDomain: [`${natIp}/32`],
        theirGatewayIp: partner.gatewayIp,
        theirIkeId: partner.remoteId,
        theirEncryptionDomain: partner.remoteHosts.map(toCidr),
        ikeVersion: partner.ike.version,
        ikeProposals: [...partner.ike.ikeProposals],
        espProposals: [...partner.ike.espProposals],
        ikeLifetimeSeconds: partner.ike.ikeLifetime,
        childLifetimeSeconds: partner.ike.childLifetime,
        dpdDelaySeconds: partner.ike.dpdDelay,
        natTraversal: "forced (UDP 4500): our endpoint is behind AWS 1:1 NAT",
        authentication: "pre-shared key, exchanged out of band (never sent with this sheet)",
        ourIpsecSoftware: partner.ipsecDaemon === "libreswan" ? "Libreswan" : "strongSwan",
    };
}

/**
 * One partner's VPN endpoint: Elastic IPs, security group, instance role and profile, instance,
 * alarms, routes (vpc-routing) and the remote commands that configure it. A thin component: its
 * args are validated first (every problem listed, nothing created), then every child is made by a
 * createX helper.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { toCidr } from "../core/addresses";
import type { ChildStatus } from "../core/childStatus";
import type { EndpointImageModel, PartnerModel, RenderedFile } from "../core/model";
import { formatIssue } from "../core/validate";
import { createApplyCommand, createBootstrapCommand, sshConnection } from "./commands";
import { createElasticIps } from "./elasticIps";
import { createFailoverPolicy, createStandbyCommands, pairRender } from "./ha";
import { createEndpointInstance } from "./instance";
import { createAlarms, createEndpointRole } from "./monitoring";
import { PartnerVpnArgsError, validatePartnerVpnArgs, type PartnerVpnArgs } from "./partnerVpnArgs";
import { createRoutes } from "./routes";
import { createSecurityGroup } from "./securityGroup";

export const PARTNER_VPN_TYPE = "partner-vpn:index:PartnerVpn";

/** An endpoint image: its pinned `ami`, else the newest match of its OS's name filter and owner. */
export function endpointAmi(image: EndpointImageModel, opts?: pulumi.InvokeOptions): pulumi.Input<string> {
    if (image.ami) return image.ami;
    return aws.ec2.getAmiOutput({
        mostRecent: true,
        owners: [image.amiOwner],
        filters: [
            { name: "name", values: [image.amiNameFilter] },
            { name: "architecture", values: ["x86_64"] },
            { name: "virtualization-type", values: ["hvm"] },
        ],
    }, opts).id;
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
    /** The standby of an active/standby pair (`partners[].ha`); undefined for a single endpoint. */
    public readonly standbyInstanceId: pulumi.Output<string | undefined>;
    public readonly generation: pulumi.Output<string>;
    public readonly handoff: pulumi.Output<PartnerHandoff>;
    /** CloudWatch alarm names: `aws cloudwatch describe-alarms --alarm-names ...` shows the partner's state. */
    public readonly alarmNames: pulumi.Output<string[]>;
    /** Per CHILD_SA (one per partner host), what the last apply reported: `up`, `waiting for the
     *  partner`, or `not reported` (Libreswan endpoints; no apply output yet). Not live: CloudWatch's
     *  TunnelState is. */
    public readonly childStatus: pulumi.Output<Record<string, ChildStatus>>;
    /** The partner this endpoint serves. */
    public readonly partnerName: string;
    /** Every file the endpoint receives, as pushed (a secret: one holds the PSK). Not a registered output. */
    public readonly endpointFiles: pulumi.Output<readonly RenderedFile[]>;

    /**
     * `opts.protect`: new Elastic IPs are protected unless it is `false` (the partner whitelists
     * them; replacing one needs their firewall change).
     */
    constructor(name: string, args: PartnerVpnArgs, opts?: pulumi.ComponentResourceOptions) {
        // Validate before the component itself exists, so a bad config creates nothing.
        const validation = validatePartnerVpnArgs(args);
        if (!validation.ok) throw new PartnerVpnArgsError(name, validation.errors);
        super(PARTNER_VPN_TYPE, name, {}, opts);
        for (const w of validation.warnings) pulumi.log.warn(`${name}: ${formatIssue(w)}`, this);
        const { model, refs, region } = validation;
        const partner = model.partners[0];
        const eips = createElasticIps(name, { partner, protect: opts?.protect ?? true }, this);
        const sg = createSecurityGroup(name, { model, partner, refs }, this);
        const role = createEndpointRole(name, { partner }, this);
        const { instance, association } = createEndpointInstance(name, {
            model, partner, refs, ami: args.ami ?? endpointAmi(partner.image, { parent: this }), securityGroupId: sg.id, tunnelAllocationId: eips.tunnel.allocationId,
            instanceProfile: role.profile.name,
        }, this);
        const alarms = createAlarms(name, { partner, monitoring: model.monitoring, region, instanceId: instance.id, topicArn: args.alarmTopicArn }, this);
        const routes = createRoutes(name, { model, partner, refs, networkInterfaceId: instance.primaryNetworkInterfaceId }, this);
        const connection = sshConnection({
            model, partner,
            bastionHost: refs.bastionHost,
            host: model.endpoint.bastion ? partner.privateIp : eips.tunnel.publicIp,
            sshPrivateKey: args.sshPrivateKey,
        });
        const bootstrap = createBootstrapCommand(name, { model, connection, instanceId: instance.id, partner }, this, association ? [association] : []);
        const addresses = pulumi.all([eips.nat.publicIp, eips.tunnel.publicIp]).apply(([natIp, tunnelIp]) => ({ natIp, tunnelIp }));
        const psk = pulumi.secret(args.psk);
        // An active/standby pair: the standby with the same config, and the role's failover permission
        // (both members carry the role), in place before either apply starts keepalived.
        const standby = partner.ha ? createEndpointInstance(name, {
            model, partner, refs, ami: args.ami ?? endpointAmi(partner.image, { parent: this }), securityGroupId: sg.id, tunnelAllocationId: eips.tunnel.allocationId,
            instanceProfile: role.profile.name, standbySubnetId: partner.ha.subnetId,
        }, this).instance : undefined;
        const failover = standby ? [createFailoverPolicy(name, {
            role: role.role.name, region, tunnelAllocationId: eips.tunnel.allocationId,
            networkInterfaceIds: [instance.primaryNetworkInterfaceId, standby.primaryNetworkInterfaceId], routeTableIds: refs.routeTableIds,
        }, this)] : [];
        if (standby) {
            createStandbyCommands(name, {
                model, partner, instance: standby, bastionHost: refs.bastionHost, sshPrivateKey: args.sshPrivateKey,
                addresses, psk, pair: pairRender("standby", eips.tunnel.allocationId, refs.routeTableIds), applyAfter: [...routes, ...failover],
            }, this);
        }
        const apply = createApplyCommand(name, {
            model, partner, connection, instanceId: instance.id, addresses, psk,
            pair: partner.ha ? pairRender("primary", eips.tunnel.allocationId, refs.routeTableIds) : undefined,
        }, this, [bootstrap, ...routes, ...failover]);

        this.natIp = eips.nat.publicIp;
        this.tunnelIp = eips.tunnel.publicIp;
        this.instanceId = instance.id;
        this.standbyInstanceId = standby ? standby.id : pulumi.output(undefined);
        this.generation = apply.generation;
        this.alarmNames = pulumi.all(alarms.map((a) => a.name));
        this.partnerName = partner.name;
        this.endpointFiles = apply.files;
        this.childStatus = apply.childStatus;
        this.handoff = pulumi.all([this.natIp, this.tunnelIp]).apply(([natIp, tunnelIp]) => handoffFor(partner, natIp, tunnelIp));
        this.registerOutputs({ natIp: this.natIp, tunnelIp: this.tunnelIp, instanceId: this.instanceId, standbyInstanceId: this.standbyInstanceId, generation: this.generation, handoff: this.handoff, alarmNames: this.alarmNames, childStatus: this.childStatus });
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

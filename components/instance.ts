/**
 * The endpoint instance and its tunnel EIP association.
 * - Fixed private IP: AWS cannot hold it on two instances, so a replacement deletes first.
 * - A looked-up AMI is ignored after creation: a newer image must never replace a running
 *   endpoint (and drop every tunnel); pin `endpoint.ami` to roll images deliberately.
 * - The OS is a tag that replaces the instance when it changes: moving a partner to another
 *   `os` boots that OS's image (the ignored AMI lookup alone would keep the old machine).
 * - IMDSv2 only, encrypted root volume; source/dest check off only where it routes (vpc-routing).
 * - A member of an active/standby pair (core/ha.ts): the standby sits in its own subnet with its
 *   own address. Both get an auto-assigned public IPv4 address, their way to the package mirrors
 *   whenever they do not hold the tunnel EIP (AWS releases it while an EIP is associated and
 *   assigns a new one when the EIP leaves). The tunnel EIP is associated with the primary at
 *   creation only: afterwards the active member's failover script owns it, and neither a
 *   replaced primary nor a `pulumi up` moves it back.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { PairMember } from "../core/ha";
import type { PartnerModel, StackModel } from "../core/model";
import type { CloudRefs } from "./partnerVpnArgs";

export const OS_TAG = "partner-vpn:os";

export interface EndpointInstanceArgs {
    readonly model: StackModel;
    readonly partner: PartnerModel;
    readonly refs: CloudRefs;
    readonly ami: pulumi.Input<string>;
    readonly securityGroupId: pulumi.Input<string>;
    readonly tunnelAllocationId: pulumi.Input<string>;
    /** The endpoint role's instance profile: the metrics publisher's only credentials (via IMDSv2). */
    readonly instanceProfile: pulumi.Input<string>;
    /** A pair's standby: its subnet (its address is `partner.ha.privateIp`). Default: the primary. */
    readonly standbySubnetId?: pulumi.Input<string>;
}

export interface EndpointInstance {
    readonly instance: aws.ec2.Instance;
    /** The tunnel EIP's association: with the primary only. */
    readonly association?: aws.ec2.EipAssociation;
}

export function createEndpointInstance(name: string, args: EndpointInstanceArgs, parent: pulumi.Resource): EndpointInstance {
    const { model, partner } = args;
    const member: PairMember = args.standbySubnetId === undefined ? "primary" : "standby";
    if (member === "standby" && !partner.ha) throw new Error(`partner ${partner.name} has no standby (partners[].ha)`);
    const instance = new aws.ec2.Instance(member === "primary" ? `${name}-endpoint` : `${name}-standby-endpoint`, {
        ami: args.ami,
        instanceType: model.endpoint.instanceType,
        subnetId: member === "primary" ? args.refs.subnetId : args.standbySubnetId,
        privateIp: member === "primary" ? partner.privateIp : partner.ha?.privateIp,
        associatePublicIpAddress: partner.ha ? true : undefined,
        vpcSecurityGroupIds: [args.securityGroupId, ...args.refs.securityGroupIds],
        keyName: model.endpoint.keyName,
        iamInstanceProfile: args.instanceProfile,
        sourceDestCheck: model.mode !== "vpc-routing",
        metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 },
        rootBlockDevice: { encrypted: true, volumeType: "gp3", volumeSize: model.endpoint.rootVolumeGiB, deleteOnTermination: true },
        tags: { Name: `partner-vpn-${partner.name}${member === "standby" ? "-standby" : ""}`, "partner-vpn:partner": partner.name, [OS_TAG]: partner.os, ...(partner.ha ? { "partner-vpn:pair-member": member } : {}) },
    }, {
        parent,
        deleteBeforeReplace: true,
        replaceOnChanges: [`tags["${OS_TAG}"]`],
        ignoreChanges: model.endpoint.ami ? [] : ["ami"],
    });
    if (member === "standby") return { instance };
    const association = new aws.ec2.EipAssociation(`${name}-tunnel-eip-assoc`, {
        allocationId: args.tunnelAllocationId,
        instanceId: instance.id,
    }, { parent, deleteBeforeReplace: true, ignoreChanges: partner.ha ? ["instanceId"] : [] });
    return { instance, association };
}

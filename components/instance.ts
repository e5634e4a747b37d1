/**
 * The endpoint instance and its tunnel EIP association.
 * - Fixed private IP: AWS cannot hold it on two instances, so a replacement deletes first.
 * - A looked-up AMI is ignored after creation: a newer image must never replace a running
 *   endpoint (and drop every tunnel); pin `endpoint.ami` to roll images deliberately.
 * - The OS is a tag that replaces the instance when it changes: moving a partner to another
 *   `os` boots that OS's image (the ignored AMI lookup alone would keep the old machine).
 * - IMDSv2 only, encrypted root volume; source/dest check off only where it routes (vpc-routing).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
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
}

export interface EndpointInstance {
    readonly instance: aws.ec2.Instance;
    readonly association: aws.ec2.EipAssociation;
}

export function createEndpointInstance(name: string, args: EndpointInstanceArgs, parent: pulumi.Resource): EndpointInstance {
    const { model, partner } = args;
    const instance = new aws.ec2.Instance(`${name}-endpoint`, {
        ami: args.ami,
        instanceType: model.endpoint.instanceType,
        subnetId: args.refs.subnetId,
        privateIp: partner.privateIp,
        vpcSecurityGroupIds: [args.securityGroupId, ...args.refs.securityGroupIds],
        keyName: model.endpoint.keyName,
        iamInstanceProfile: args.instanceProfile,
        sourceDestCheck: model.mode !== "vpc-routing",
        metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 },
        rootBlockDevice: { encrypted: true, volumeType: "gp3", volumeSize: model.endpoint.rootVolumeGiB, deleteOnTermination: true },
        tags: { Name: `partner-vpn-${partner.name}`, "partner-vpn:partner": partner.name, [OS_TAG]: partner.os },
    }, {
        parent,
        deleteBeforeReplace: true,
        replaceOnChanges: [`tags["${OS_TAG}"]`],
        ignoreChanges: model.endpoint.ami ? [] : ["ami"],
    });
    const association = new aws.ec2.EipAssociation(`${name}-tunnel-eip-assoc`, {
        allocationId: args.tunnelAllocationId,
        instanceId: instance.id,
    }, { parent, deleteBeforeReplace: true });
    return { instance, association };
}

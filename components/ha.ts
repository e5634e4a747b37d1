/**
 * The second half of an active/standby pair (core/ha.ts), beside the standby instance itself
 * (components/instance.ts, in its own subnet): its bootstrap and apply (the same rendered config as the primary's, with its own address), and
 * the failover permission of the pair's role (core/render/ha.ts renderFailoverPolicy): exactly
 * the EC2 calls scripts/endpoint/failover.sh makes, on the tunnel EIP, the pair's two interfaces
 * and the stack's route tables.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { PairMember } from "../core/ha";
import type { EndpointAddresses, PartnerModel, StackModel } from "../core/model";
import { renderFailoverPolicy, type PairRender } from "../core/render";
import { createApplyCommand, createBootstrapCommand, sshConnection, type ApplyCommand } from "./commands";

export interface FailoverPolicyArgs {
    readonly role: pulumi.Input<string>;
    readonly region: string;
    readonly tunnelAllocationId: pulumi.Input<string>;
    readonly networkInterfaceIds: readonly pulumi.Input<string>[];
    readonly routeTableIds: readonly pulumi.Input<string>[];
}

export function createFailoverPolicy(name: string, args: FailoverPolicyArgs, parent: pulumi.Resource): aws.iam.RolePolicy {
    const policy = pulumi.all([args.tunnelAllocationId, pulumi.all([...args.networkInterfaceIds]), pulumi.all([...args.routeTableIds])]).apply(([allocation, enis, tables]) =>
        JSON.stringify(renderFailoverPolicy({ region: args.region, tunnelAllocationId: allocation, networkInterfaceIds: enis, routeTableIds: tables })));
    return new aws.iam.RolePolicy(`${name}-failover`, { role: args.role, policy }, { parent });
}

/** What the failover of a pair moves, as each member's apply renders it. */
export function pairRender(member: PairMember, tunnelAllocationId: pulumi.Input<string>, routeTableIds: readonly pulumi.Input<string>[]): pulumi.Output<PairRender> {
    return pulumi.all([tunnelAllocationId, pulumi.all([...routeTableIds])]).apply(([allocation, tables]) => ({ member, tunnelAllocationId: allocation, routeTableIds: tables }));
}

export interface StandbyCommandsArgs {
    readonly model: StackModel;
    readonly partner: PartnerModel;
    /** The standby instance (components/instance.ts with `standbySubnetId`). */
    readonly instance: aws.ec2.Instance;
    readonly bastionHost?: pulumi.Input<string>;
    readonly sshPrivateKey: pulumi.Input<string>;
    readonly addresses: pulumi.Input<EndpointAddresses>;
    readonly psk: pulumi.Input<string>;
    readonly pair: pulumi.Input<PairRender>;
    /** What the standby's apply waits for besides its bootstrap: the routes and the failover policy. */
    readonly applyAfter: readonly pulumi.Resource[];
}

/** The standby's bootstrap and apply, over SSH to its private address through the bastion. */
export function createStandbyCommands(name: string, args: StandbyCommandsArgs, parent: pulumi.Resource): ApplyCommand {
    const { model, partner } = args;
    if (!partner.ha) throw new Error(`partner ${partner.name} has no standby (partners[].ha)`);
    const connection = sshConnection({ model, partner, bastionHost: args.bastionHost, host: partner.ha.privateIp, sshPrivateKey: args.sshPrivateKey });
    const bootstrap = createBootstrapCommand(`${name}-standby`, { model, connection, instanceId: args.instance.id, partner }, parent, []);
    return createApplyCommand(`${name}-standby`, {
        model, partner, connection, instanceId: args.instance.id, addresses: args.addresses, psk: args.psk, pair: args.pair,
    }, parent, [bootstrap, ...args.applyAfter]);
}

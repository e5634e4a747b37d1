/**
 * vpc-routing: one route per (route table, partner host or network) sending it to the endpoint's
 * network interface. A pure spec function beside the create function, for table-driven tests.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { cidrSlug } from "../core/addresses";
import type { PartnerModel, StackModel } from "../core/model";
import type { CloudRefs } from "./partnerVpnArgs";

export interface RouteSpec {
    /** Logical name; derived from the table and destination, so adding a host adds one route. */
    readonly name: string;
    readonly routeTableId: string;
    /** Position of the table in `network.routeTableIds` (a table given as an Output is named by it). */
    readonly routeTableIndex: number;
    readonly destinationCidrBlock: string;
}

export function routeSpecs(name: string, model: StackModel, partner: PartnerModel): RouteSpec[] {
    if (model.mode !== "vpc-routing") return [];
    return model.network.routeTableIds.flatMap((routeTableId, routeTableIndex) =>
        partner.remoteHosts.map((host) => ({
            name: `${name}-route-${routeTableId}-${cidrSlug(host)}`,
            routeTableId,
            routeTableIndex,
            destinationCidrBlock: host,
        })),
    );
}

export interface RoutesArgs {
    readonly model: StackModel;
    readonly partner: PartnerModel;
    readonly refs: CloudRefs;
    readonly networkInterfaceId: pulumi.Input<string>;
}

export function createRoutes(name: string, args: RoutesArgs, parent: pulumi.Resource): aws.ec2.Route[] {
    // A pair's routes start at the primary; afterwards the active member's failover script moves
    // them (ReplaceRoute), and a `pulumi up` must not move them back.
    const ignoreChanges = args.partner.ha ? ["networkInterfaceId"] : [];
    return routeSpecs(name, args.model, args.partner).map((spec) =>
        new aws.ec2.Route(spec.name, {
            routeTableId: args.refs.routeTableIds[spec.routeTableIndex],
            destinationCidrBlock: spec.destinationCidrBlock,
            networkInterfaceId: args.networkInterfaceId,
        }, { parent, ignoreChanges }),
    );
}

/**
 * Example: a platform team's own program. It builds its VPC with @pulumi/aws (subnets, a route
 * table, a bastion) and adds two partners through the PartnerVpn component, passing its resources'
 * Outputs straight in. Nothing here reads partner-vpn's stack config: the partners are code.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { PartnerVpn } from "../../lib";

/** The VPC's address plan: endpoints in 10.40.1.0/24, the application servers in 10.40.2.0/24. */
const VPC_CIDR = "10.40.0.0/16";
const ENDPOINT_SUBNET = "10.40.1.0/24";
const APP_SUBNET = "10.40.2.0/24";

export function defineOwnVpcExample() {
    const config = new pulumi.Config("example");
    const vpc = new aws.ec2.Vpc("example-vpc", { cidrBlock: VPC_CIDR, enableDnsHostnames: true });
    const endpoints = new aws.ec2.Subnet("example-endpoints", { vpcId: vpc.id, cidrBlock: ENDPOINT_SUBNET });
    const apps = new aws.ec2.Subnet("example-apps", { vpcId: vpc.id, cidrBlock: APP_SUBNET });
    const appRoutes = new aws.ec2.RouteTable("example-app-routes", { vpcId: vpc.id });
    new aws.ec2.RouteTableAssociation("example-apps-routes", { subnetId: apps.id, routeTableId: appRoutes.id });
    const bastionGroup = new aws.ec2.SecurityGroup("example-bastion", {
        vpcId: vpc.id,
        description: "bastion: SSH from the office",
        ingress: [{ description: "SSH from the office", protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["81.2.69.160/28"] }],
    });
    const bastion = new aws.ec2.Instance("example-bastion", {
        ami: config.require("bastionAmi"),
        instanceType: "t3.micro",
        subnetId: endpoints.id,
        privateIp: "10.40.1.10",
        vpcSecurityGroupIds: [bastionGroup.id],
    });
    // A group of the team's own that every endpoint also joins (e.g. for its monitoring agent).
    const monitoring = new aws.ec2.SecurityGroup("example-monitoring", { vpcId: vpc.id, description: "monitoring agents" });

    const shared = {
        mode: "vpc-routing" as const,
        network: {
            vpcId: vpc.id,
            subnetId: endpoints.id,
            subnetCidr: ENDPOINT_SUBNET,
            internalCidrs: [APP_SUBNET],
            routeTableIds: [appRoutes.id],
        },
        endpoint: {
            bastion: { host: bastion.privateIp, user: "ec2-user", securityGroupId: bastionGroup.id },
            securityGroupIds: [monitoring.id],
        },
        sshPrivateKey: config.requireSecret("sshPrivateKey"),
    };
    const acme = new PartnerVpn("acme", {
        ...shared,
        partner: {
            name: "acme",
            privateIp: "10.40.1.21",
            gatewayIp: "81.2.69.142",
            remoteHosts: ["81.2.70.0/28"],
            inbound: [{ from: ["81.2.70.5"], protocol: "tcp", port: 443, target: "10.40.2.15" }],
        },
        psk: config.requireSecret("acmePsk"),
    });
    // The team's test partner: its addresses may be released with the stack, so not protected.
    const globex = new PartnerVpn(
        "globex",
        {
            ...shared,
            partner: { name: "globex", privateIp: "10.40.1.22", gatewayIp: "81.2.69.143", remoteHosts: ["81.2.71.7"], ike: { version: 1 } },
            psk: config.requireSecret("globexPsk"),
        },
        { protect: false },
    );

    const components = [acme, globex];
    const outputs = {
        vpcId: vpc.id,
        natIps: { acme: acme.natIp, globex: globex.natIp },
        handoff: { acme: acme.handoff, globex: globex.handoff },
    };
    return { outputs, components };
}

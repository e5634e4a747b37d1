/**
 * The library arguments of one PartnerVpn: the stack config's shape (core/config.ts) for one
 * partner, where the ids of the caller's own resources (VPC, subnet, route tables, security
 * groups, bastion) may be `pulumi.Input`s. They are checked by the same validator as a stack file,
 * before anything is created; an id that is not known yet (an Output) is checked once AWS assigns
 * it, and stands in for a valid-looking id during validation.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { BastionConfig, EndpointConfig, MonitoringConfig, NetworkConfig, PartnerConfig } from "../core/config";
import type { Mode, StackModel } from "../core/model";
import { formatIssue, validateStackConfig, type ValidationIssue } from "../core/validate";

export interface PartnerVpnNetworkArgs extends Omit<NetworkConfig, "vpcId" | "subnetId" | "routeTableIds"> {
    /** VPC of the endpoint. Required. */
    readonly vpcId: pulumi.Input<string>;
    /** Subnet the endpoint is placed in. Required. */
    readonly subnetId: pulumi.Input<string>;
    /** vpc-routing: route tables that get this partner's routes via the endpoint. Routes to tables
     *  given as Outputs are named by position. Default `[]`. */
    readonly routeTableIds?: readonly pulumi.Input<string>[];
}

export interface PartnerVpnBastionArgs extends Omit<BastionConfig, "host" | "securityGroupId"> {
    /** Bastion host name or address. Required when `bastion` is set. */
    readonly host: pulumi.Input<string>;
    /** The bastion's security group: the endpoint accepts SSH from it. Default: none. */
    readonly securityGroupId?: pulumi.Input<string>;
}

export interface PartnerVpnEndpointArgs extends Omit<EndpointConfig, "bastion"> {
    /** SSH jump host for the remote commands. Default: none (connect to the tunnel EIP directly). */
    readonly bastion?: PartnerVpnBastionArgs;
    /** More security groups for the endpoint instance, beside its own. Default `[]`. */
    readonly securityGroupIds?: readonly pulumi.Input<string>[];
}

export interface PartnerVpnArgs {
    /** `vpc-routing` or `classic-proxy`. Required. */
    readonly mode: Mode;
    readonly network: PartnerVpnNetworkArgs;
    /** Endpoint instance settings. Default: all defaults (core/config.ts EndpointConfig). */
    readonly endpoint?: PartnerVpnEndpointArgs;
    /** The partner, as one entry of the stack config's `partners` (core/config.ts PartnerConfig). Required. */
    readonly partner: PartnerConfig;
    /** The partner's pre-shared key; kept a secret whatever the caller passed. Required. */
    readonly psk: pulumi.Input<string>;
    /** The private key the remote commands log in with; kept a secret. Required. */
    readonly sshPrivateKey: pulumi.Input<string>;
    /** An image the caller looked up (e.g. once for many partners), ignored after creation like the
     *  component's own lookup. Default: look up `endpoint.amiNameFilter`; `endpoint.ami` pins one. */
    readonly ami?: pulumi.Input<string>;
    /** The endpoint's metrics period and alarm thresholds (core/config.ts MonitoringConfig); where
     *  the alarms notify is `alarmTopicArn`. Default: all defaults. */
    readonly monitoring?: Omit<MonitoringConfig, "alarmTopicArn" | "createAlarmTopic">;
    /** The AWS region of the endpoint (EC2's recover action in the status-check alarm is a
     *  regional ARN). Default: the stack's `aws:region`; one of them is required. */
    readonly region?: string;
    /** An SNS topic that receives every alarm of this partner and its recovery, e.g. one topic
     *  the caller creates for all its partners. Default: none. */
    readonly alarmTopicArn?: pulumi.Input<string>;
    /** Lab and test switch: accept documentation ranges as public addresses. Default `false`. */
    readonly allowDocumentationAddresses?: boolean;
}

/** The caller's resources, as the component's children take them (plain ids or Outputs). */
export interface CloudRefs {
    readonly vpcId: pulumi.Input<string>;
    readonly subnetId: pulumi.Input<string>;
    /** In the order of the model's `network.routeTableIds`. */
    readonly routeTableIds: readonly pulumi.Input<string>[];
    readonly bastionHost?: pulumi.Input<string>;
    readonly bastionSecurityGroupId?: pulumi.Input<string>;
    readonly securityGroupIds: readonly pulumi.Input<string>[];
}

/** The refs of a model whose ids are all known (the stack program's). */
export function refsOf(model: StackModel): CloudRefs {
    return {
        vpcId: model.network.vpcId,
        subnetId: model.network.subnetId,
        routeTableIds: model.network.routeTableIds,
        bastionHost: model.endpoint.bastion?.host,
        bastionSecurityGroupId: model.endpoint.bastion?.securityGroupId,
        securityGroupIds: [],
    };
}

/** A plain value as given, or a valid-looking stand-in for one AWS (or the caller) assigns later. */
function known<T>(value: pulumi.Input<T> | undefined, standIn: T): T | undefined {
    if (value === undefined) return undefined;
    return pulumi.Output.isInstance(value) || value instanceof Promise ? standIn : (value as T);
}

/** Issue paths as the args name them: `partner.gatewayIp`, not `partners[0].gatewayIp`. */
export function argsPath(path: string): string {
    return path.replace(/^partners\[0\]/, "partner").replace(/^monitoring\.alarmTopicArn$/, "alarmTopicArn");
}

export type PartnerVpnValidation =
    | { readonly ok: true; readonly model: StackModel; readonly refs: CloudRefs; readonly region: string; readonly warnings: readonly ValidationIssue[] }
    | { readonly ok: false; readonly errors: readonly ValidationIssue[]; readonly warnings: readonly ValidationIssue[] };

/** Validates the args as a one-partner stack config; every issue named by its path in the args. */
export function validatePartnerVpnArgs(args: PartnerVpnArgs): PartnerVpnValidation {
    const network = args.network ?? ({} as PartnerVpnNetworkArgs);
    const routeTables = network.routeTableIds ?? [];
    const { securityGroupIds = [], bastion, ...endpoint } = args.endpoint ?? {};
    const raw: Record<string, unknown> = {
        mode: args.mode,
        network: {
            ...network,
            vpcId: known(network.vpcId, "vpc-00000000"),
            subnetId: known(network.subnetId, "subnet-00000000"),
            routeTableIds: network.routeTableIds === undefined ? undefined : routeTables.map((id, i) => known(id, `rtb-${i.toString(16).padStart(8, "0")}`)),
        },
        endpoint:
            args.endpoint === undefined
                ? undefined
                : {
                      ...endpoint,
                      bastion:
                          bastion === undefined
                              ? undefined
                              : {
                                    ...bastion,
                                    host: known(bastion.host, "bastion.invalid"),
                                    securityGroupId: known(bastion.securityGroupId, "sg-00000000"),
                                },
                  },
        partners: [args.partner],
        // A plain topic ARN is checked as the stack config's monitoring.alarmTopicArn; one given as
        // an Output is AWS's (or the caller's) to get right.
        monitoring: args.monitoring === undefined && typeof args.alarmTopicArn !== "string" ? undefined : {
            ...args.monitoring,
            alarmTopicArn: typeof args.alarmTopicArn === "string" ? args.alarmTopicArn : undefined,
        },
    };
    if (args.allowDocumentationAddresses !== undefined) raw.allowDocumentationAddresses = args.allowDocumentationAddresses;
    const dropUndefined = (v: unknown): unknown => JSON.parse(JSON.stringify(v ?? null));
    const result = validateStackConfig(dropUndefined(raw));
    const rename = (issues: readonly ValidationIssue[]) => issues.map((i) => ({ ...i, path: argsPath(i.path) }));
    const region = args.region ?? aws.config.region;
    const regionErrors = region ? [] : [{ path: "region", message: "is not set and the stack has no aws:region; expected the endpoint's AWS region (e.g. eu-west-1): the status-check alarm's recover action needs it" }];
    if (!result.ok || !region) return { ok: false, errors: [...(result.ok ? [] : rename(result.errors)), ...regionErrors], warnings: rename(result.warnings) };
    return {
        ok: true,
        model: result.model,
        region,
        warnings: rename(result.warnings),
        refs: {
            vpcId: network.vpcId,
            subnetId: network.subnetId,
            routeTableIds: routeTables,
            bastionHost: bastion?.host,
            bastionSecurityGroupId: bastion?.securityGroupId,
            securityGroupIds,
        },
    };
}

/** Thrown before any child is created: every problem of the args, with its path. */
export class PartnerVpnArgsError extends pulumi.RunError {
    constructor(
        name: string,
        readonly errors: readonly ValidationIssue[],
    ) {
        super(
            `partner-vpn: PartnerVpn ${name} has ${errors.length} problem(s) in its args; nothing was created:\n${errors.map((e) => `  - ${formatIssue(e)}`).join("\n")}`,
        );
        this.name = "PartnerVpnArgsError";
    }
}

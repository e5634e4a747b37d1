/**
 * Monitoring artifacts: the endpoint role's IAM policies and the CloudWatch alarm definitions.
 * Pure data; components/monitoring.ts turns them into resources, the endpoint's publisher
 * (scripts/endpoint/metrics.sh) publishes the metrics the alarms watch, and the lab loads the
 * same policy into moto to prove the publisher needs nothing more.
 */
import type { MonitoringModel, PartnerModel } from "../model";
import { cidr, label, RenderError } from "./safe";

/** Our CloudWatch namespace (names starting with `AWS/` are reserved for AWS). */
export const METRICS_NAMESPACE = "PartnerVpn";

/** Metrics the publisher sends; README documents each. */
export const METRICS = {
    /** 1 when every child (one per partner host) has an INSTALLED CHILD_SA, else 0. Dims Partner. */
    partnerTunnelState: "TunnelState",
    /** Per child: 1 INSTALLED, 0 not. Dims Partner, RemoteHost. Same name, more dimensions. */
    childTunnelState: "TunnelState",
    bytesIn: "TunnelBytesIn",
    bytesOut: "TunnelBytesOut",
    packetsIn: "TunnelPacketsIn",
    packetsOut: "TunnelPacketsOut",
    /** 1 when the IKE daemon answers swanctl and has this partner's connection loaded. Dims Partner. */
    daemonUp: "IkeDaemonUp",
} as const;

export interface IamPolicyDocument {
    readonly Version: "2012-10-17";
    readonly Statement: readonly {
        readonly Sid?: string;
        readonly Effect: "Allow";
        readonly Action: string | readonly string[];
        readonly Resource?: string | readonly string[];
        readonly Principal?: { readonly Service: string };
        readonly Condition?: Readonly<Record<string, Readonly<Record<string, string>>>>;
    }[];
}

/**
 * The endpoint role's only permission: PutMetricData, and only into our namespace. PutMetricData
 * has no resource-level permissions (AWS requires `Resource: *`); the `cloudwatch:namespace`
 * condition key is how AWS scopes it.
 */
export function renderPublisherPolicy(): IamPolicyDocument {
    return {
        Version: "2012-10-17",
        Statement: [{
            Sid: "PublishPartnerVpnMetrics",
            Effect: "Allow",
            Action: "cloudwatch:PutMetricData",
            Resource: "*",
            Condition: { StringEquals: { "cloudwatch:namespace": METRICS_NAMESPACE } },
        }],
    };
}

/** Who may assume the endpoint role: EC2 (for the instance profile), nobody else. */
export function renderAssumeRolePolicy(): IamPolicyDocument {
    return {
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
    };
}

export type ComparisonOperator = "LessThanThreshold" | "GreaterThanOrEqualToThreshold";

/**
 * One CloudWatch alarm. `T` is how the instance id and the topic ARN are carried: plain strings
 * in tests and the plan, Pulumi outputs in the component.
 */
export interface AlarmDefinition<T> {
    /** Resource name suffix and AWS alarm name suffix (the stack prefixes it). */
    readonly key: string;
    readonly description: string;
    readonly namespace: string;
    readonly metricName: string;
    readonly dimensions: Readonly<Record<string, string | T>>;
    readonly statistic: "Minimum" | "Maximum";
    readonly periodSeconds: number;
    readonly evaluationPeriods: number;
    readonly datapointsToAlarm: number;
    readonly threshold: number;
    readonly comparisonOperator: ComparisonOperator;
    /** `breaching`: a silent endpoint (dead, publisher stopped, role broken) alarms like a down tunnel. */
    readonly treatMissingData: "breaching" | "missing";
    readonly alarmActions: readonly (string | T)[];
    readonly okActions: readonly (string | T)[];
}

export interface AlarmInputs<T> {
    readonly partner: PartnerModel;
    readonly monitoring: MonitoringModel;
    /** AWS region of the stack: EC2's recover action is a regional ARN. */
    readonly region: string;
    readonly instanceId: T;
    /** The topic every alarm notifies (and tells of its recovery), if any. */
    readonly topicArn?: T;
}

const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;

/** EC2's built-in action that moves an instance whose host failed to new hardware, same id and IPs. */
export function recoverActionArn(region: string): string {
    if (!REGION.test(region)) throw new RenderError("AWS region", region, "a region such as eu-west-1");
    return `arn:aws:automate:${region}:ec2:recover`;
}

/**
 * The alarms of one partner's endpoint:
 * - tunnel: the partner's TunnelState (1 only when every child is up) below 1 for N periods;
 * - one per partner host: that child's TunnelState below 1 for N periods;
 * - status check: EC2's system status check failing for M minutes; recovers the instance.
 * Tunnel alarms treat missing data as breaching: no data means nobody is publishing. The
 * publisher reads strongSwan (swanctl) only: a Libreswan partner gets the status check alone,
 * rather than tunnel alarms that would fire for ever.
 */
export function renderAlarms<T>(input: AlarmInputs<T>): AlarmDefinition<T>[] {
    const { partner, monitoring } = input;
    const name = label("partner name", partner.name);
    const topic = input.topicArn === undefined ? [] : [input.topicArn];
    const periods = monitoring.tunnelDownPeriods;
    const window = `${periods} x ${monitoring.periodSeconds} s`;
    const tunnel = (key: string, description: string, dimensions: Record<string, string>): AlarmDefinition<T> => ({
        key,
        description,
        namespace: METRICS_NAMESPACE,
        metricName: METRICS.partnerTunnelState,
        dimensions,
        statistic: "Minimum",
        periodSeconds: monitoring.periodSeconds,
        evaluationPeriods: periods,
        datapointsToAlarm: periods,
        threshold: 1,
        comparisonOperator: "LessThanThreshold",
        treatMissingData: "breaching",
        alarmActions: topic,
        okActions: topic,
    });
    const hosts = partner.remoteHosts.map((h) => cidr("remote host", h));
    const tunnels = partner.ipsecDaemon === "libreswan" ? [] : [
        tunnel("tunnel-down", `partner-vpn ${name}: a tunnel to ${name} (any partner host) was down or unreported for ${window}`, { Partner: name }),
        ...hosts.map((host) => tunnel(
            `tunnel-down-${host.replace(/[./]/g, "-")}`,
            `partner-vpn ${name}: the tunnel to ${host} was down or unreported for ${window}`,
            { Partner: name, RemoteHost: host },
        )),
    ];
    return [
        ...tunnels,
        {
            key: "status-check",
            description: `partner-vpn ${name}: EC2 system status check failed for ${monitoring.statusCheckPeriods} min; AWS recovers the endpoint on new hardware (same instance, IPs and EIP)`,
            namespace: "AWS/EC2",
            metricName: "StatusCheckFailed_System",
            dimensions: { InstanceId: input.instanceId },
            statistic: "Maximum",
            periodSeconds: 60,
            evaluationPeriods: monitoring.statusCheckPeriods,
            datapointsToAlarm: monitoring.statusCheckPeriods,
            threshold: 1,
            comparisonOperator: "GreaterThanOrEqualToThreshold",
            treatMissingData: "missing",
            alarmActions: [recoverActionArn(input.region), ...topic],
            okActions: topic,
        },
    ];
}

/**
 * What lets an endpoint be watched without SSH:
 * - an IAM role (assumable by EC2 only) whose one inline policy allows PutMetricData into the
 *   PartnerVpn namespace, and its instance profile: the endpoint's publisher gets short-lived
 *   credentials from IMDSv2 (required by the instance), never a stored key;
 * - the partner's CloudWatch alarms (core/render/monitoring.ts defines them);
 * - optionally the stack's SNS topic for them.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { MonitoringModel, PartnerModel } from "../core/model";
import { renderAlarms, renderAssumeRolePolicy, renderPublisherPolicy } from "../core/render/monitoring";

export interface EndpointRole {
    readonly role: aws.iam.Role;
    readonly policy: aws.iam.RolePolicy;
    readonly profile: aws.iam.InstanceProfile;
}

export interface EndpointRoleArgs {
    readonly partner: PartnerModel;
}

export function createEndpointRole(name: string, args: EndpointRoleArgs, parent: pulumi.Resource): EndpointRole {
    const tags = { "partner-vpn:partner": args.partner.name };
    const role = new aws.iam.Role(`${name}-endpoint-role`, {
        description: args.partner.ha
            ? `partner-vpn ${args.partner.name} pair: publishes its tunnel metrics (namespace PartnerVpn) and moves the pair's tunnel EIP and routes on failover, nothing else`
            : `partner-vpn ${args.partner.name} endpoint: publishes its tunnel metrics (namespace PartnerVpn), nothing else`,
        assumeRolePolicy: JSON.stringify(renderAssumeRolePolicy()),
        tags,
    }, { parent });
    const policy = new aws.iam.RolePolicy(`${name}-publish-metrics`, {
        role: role.name,
        policy: JSON.stringify(renderPublisherPolicy()),
    }, { parent });
    const profile = new aws.iam.InstanceProfile(`${name}-endpoint-profile`, { role: role.name, tags }, { parent });
    return { role, policy, profile };
}

export interface AlarmsArgs {
    readonly partner: PartnerModel;
    readonly monitoring: MonitoringModel;
    readonly region: string;
    readonly instanceId: pulumi.Input<string>;
    readonly topicArn?: pulumi.Input<string>;
}

export function createAlarms(name: string, args: AlarmsArgs, parent: pulumi.Resource): aws.cloudwatch.MetricAlarm[] {
    const definitions = renderAlarms<pulumi.Input<string>>({
        partner: args.partner, monitoring: args.monitoring, region: args.region, instanceId: args.instanceId, topicArn: args.topicArn,
    });
    return definitions.map((a) => new aws.cloudwatch.MetricAlarm(`${name}-${a.key}`, {
        name: `partner-vpn-${pulumi.getStack()}-${args.partner.name}-${a.key}`,
        alarmDescription: a.description,
        namespace: a.namespace,
        metricName: a.metricName,
        dimensions: a.dimensions,
        statistic: a.statistic,
        period: a.periodSeconds,
        evaluationPeriods: a.evaluationPeriods,
        datapointsToAlarm: a.datapointsToAlarm,
        threshold: a.threshold,
        comparisonOperator: a.comparisonOperator,
        treatMissingData: a.treatMissingData,
        alarmActions: [...a.alarmActions],
        okActions: [...a.okActions],
        tags: { "partner-vpn:partner": args.partner.name },
    }, { parent }));
}

/** The stack's alarm topic (monitoring.createAlarmTopic); subscribe people or a pager to it. */
export function createAlarmTopic(name: string): aws.sns.Topic {
    return new aws.sns.Topic(`${name}-alarms`, {
        displayName: `partner-vpn ${pulumi.getStack()}: tunnel and endpoint alarms`,
    });
}

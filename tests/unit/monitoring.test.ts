/**
 * Monitoring config, the endpoint role's IAM policy and the alarm definitions: exact actions,
 * conditions, thresholds and actions, since a wrong one either leaks permissions or never alarms.
 */
import { expect } from "chai";
import { formatIssue, validateStackConfig } from "../../core/validate";
import type { StackModel } from "../../core/model";
import { renderEndpointFiles, renderMetricsFiles, renderMetricsHelper } from "../../core/render";
import { METRICS, METRICS_NAMESPACE, recoverActionArn, renderAlarms, renderAssumeRolePolicy, renderPublisherPolicy } from "../../core/render/monitoring";
import { devConfig, TEST_PSK } from "../fixtures/configs";

function modelWith(monitoring: unknown, edit?: (cfg: Record<string, unknown>) => void): StackModel {
    const cfg = devConfig();
    if (monitoring !== undefined) cfg.monitoring = monitoring;
    edit?.(cfg);
    const result = validateStackConfig(cfg);
    if (!result.ok) throw new Error(result.errors.map(formatIssue).join("\n"));
    return result.model;
}

function errorsFor(monitoring: unknown): string[] {
    const cfg = devConfig();
    cfg.monitoring = monitoring;
    const result = validateStackConfig(cfg);
    return result.ok ? [] : result.errors.map(formatIssue);
}

describe("monitoring config", () => {
    it("defaults: 60 s period, 3 periods down, 2 status-check minutes, no topic", () => {
        expect(modelWith(undefined).monitoring).to.deep.equal({ periodSeconds: 60, tunnelDownPeriods: 3, statusCheckPeriods: 2, alarmTopic: { kind: "none" } });
    });

    const valid: [string, unknown, unknown][] = [
        ["a high-resolution period", { periodSeconds: 10 }, { periodSeconds: 10 }],
        ["five minutes", { periodSeconds: 300, tunnelDownPeriods: 1 }, { periodSeconds: 300, tunnelDownPeriods: 1 }],
        ["an existing topic", { alarmTopicArn: "arn:aws:sns:eu-west-1:123456789012:ops-alarms" }, { alarmTopic: { kind: "existing", arn: "arn:aws:sns:eu-west-1:123456789012:ops-alarms" } }],
        ["a new topic", { createAlarmTopic: true }, { alarmTopic: { kind: "create" } }],
    ];
    for (const [name, monitoring, expected] of valid) {
        it(`accepts ${name}`, () => {
            expect(modelWith(monitoring).monitoring).to.deep.include(expected as object);
        });
    }

    const invalid: [string, unknown, string][] = [
        ["a period CloudWatch alarms cannot use", { periodSeconds: 45 }, "monitoring.periodSeconds: 45 is not a CloudWatch alarm period; expected 10, 30 or a multiple of 60 up to 3600"],
        ["a period given as text", { periodSeconds: "60" }, "monitoring.periodSeconds: \"60\" is not an integer from 10 to 3600; write the number 60 without quotes"],
        ["zero periods", { tunnelDownPeriods: 0 }, "monitoring.tunnelDownPeriods: 0 is not an integer from 1 to 60"],
        ["too many status periods", { statusCheckPeriods: 61 }, "monitoring.statusCheckPeriods: 61 is not an integer from 1 to 60"],
        ["a topic name instead of an ARN", { alarmTopicArn: "ops-alarms" }, "monitoring.alarmTopicArn: \"ops-alarms\" is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)"],
        ["an SQS ARN", { alarmTopicArn: "arn:aws:sqs:eu-west-1:123456789012:q" }, "monitoring.alarmTopicArn: \"arn:aws:sqs:eu-west-1:123456789012:q\" is not an SNS topic ARN"],
        ["both an existing and a new topic", { alarmTopicArn: "arn:aws:sns:eu-west-1:123456789012:ops", createAlarmTopic: true }, "monitoring.createAlarmTopic: cannot be true together with monitoring.alarmTopicArn"],
        ["an unknown key", { period: 60 }, "monitoring.period"],
        ["a list", [60], "monitoring:"],
    ];
    for (const [name, monitoring, expected] of invalid) {
        it(`refuses ${name}`, () => {
            const errors = errorsFor(monitoring);
            expect(errors.some((e) => e.startsWith(expected)), errors.join("\n")).to.equal(true);
        });
    }
});

describe("the endpoint role's IAM policy", () => {
    it("allows exactly cloudwatch:PutMetricData, only into the PartnerVpn namespace", () => {
        expect(renderPublisherPolicy()).to.deep.equal({
            Version: "2012-10-17",
            Statement: [{
                Sid: "PublishPartnerVpnMetrics",
                Effect: "Allow",
                Action: "cloudwatch:PutMetricData",
                Resource: "*",
                Condition: { StringEquals: { "cloudwatch:namespace": "PartnerVpn" } },
            }],
        });
        expect(METRICS_NAMESPACE.startsWith("AWS/")).to.equal(false);
    });

    it("lets only EC2 assume the role", () => {
        expect(renderAssumeRolePolicy()).to.deep.equal({
            Version: "2012-10-17",
            Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
        });
    });
});

describe("alarm definitions", () => {
    const TOPIC = "arn:aws:sns:eu-west-1:123456789012:ops";
    const alarms = (monitoring: unknown, topicArn?: string, edit?: (cfg: Record<string, unknown>) => void) => {
        const model = modelWith(monitoring, edit);
        return renderAlarms({ partner: model.partners[0], monitoring: model.monitoring, region: "eu-west-1", instanceId: "i-0123456789abcdef0", topicArn });
    };

    it("one partner alarm, one per partner host, one status check", () => {
        expect(alarms(undefined).map((a) => a.key)).to.deep.equal([
            "tunnel-down", "tunnel-down-110-220-10-7-32", "tunnel-down-110-220-10-135-32", "status-check",
        ]);
    });

    const cases: [string, unknown, string | undefined, string, Record<string, unknown>][] = [
        ["partner tunnel, defaults", undefined, undefined, "tunnel-down", {
            namespace: "PartnerVpn", metricName: "TunnelState", dimensions: { Partner: "bigcorp" }, statistic: "Minimum",
            periodSeconds: 60, evaluationPeriods: 3, datapointsToAlarm: 3, threshold: 1, comparisonOperator: "LessThanThreshold",
            treatMissingData: "breaching", alarmActions: [], okActions: [],
        }],
        ["child tunnel, 10 s x 2, with a topic", { periodSeconds: 10, tunnelDownPeriods: 2 }, TOPIC, "tunnel-down-110-220-10-135-32", {
            namespace: "PartnerVpn", metricName: "TunnelState", dimensions: { Partner: "bigcorp", RemoteHost: "110.220.10.135/32" }, statistic: "Minimum",
            periodSeconds: 10, evaluationPeriods: 2, datapointsToAlarm: 2, threshold: 1, comparisonOperator: "LessThanThreshold",
            treatMissingData: "breaching", alarmActions: [TOPIC], okActions: [TOPIC],
        }],
        ["status check recovers the instance and notifies", { statusCheckPeriods: 5 }, TOPIC, "status-check", {
            namespace: "AWS/EC2", metricName: "StatusCheckFailed_System", dimensions: { InstanceId: "i-0123456789abcdef0" }, statistic: "Maximum",
            periodSeconds: 60, evaluationPeriods: 5, datapointsToAlarm: 5, threshold: 1, comparisonOperator: "GreaterThanOrEqualToThreshold",
            treatMissingData: "missing", alarmActions: ["arn:aws:automate:eu-west-1:ec2:recover", TOPIC], okActions: [TOPIC],
        }],
    ];
    for (const [name, monitoring, topic, key, expected] of cases) {
        it(name, () => {
            const alarm = alarms(monitoring, topic).find((a) => a.key === key);
            expect(alarm, key).to.not.equal(undefined);
            const rest: Record<string, unknown> = { ...alarm };
            delete rest.key;
            delete rest.description;
            expect(rest).to.deep.equal(expected);
        });
    }

    it("a Libreswan partner (not read by the publisher) gets the status check only", () => {
        const list = alarms(undefined, undefined, (cfg) => {
            (cfg.partners as Record<string, unknown>[])[0].ipsecDaemon = "libreswan";
        });
        expect(list.map((a) => a.key)).to.deep.equal(["status-check"]);
    });

    it("refuses a region that is not one", () => {
        expect(() => recoverActionArn("eu-west-1; rm")).to.throw(/AWS region/);
        expect(recoverActionArn("ap-southeast-2")).to.equal("arn:aws:automate:ap-southeast-2:ec2:recover");
    });
});

describe("the metrics publisher and its timer", () => {
    it("the timer runs the publisher every period; the service keeps its counters between runs", () => {
        const files = renderMetricsFiles(30);
        expect(files.map((f) => [f.path, f.mode, f.secret])).to.deep.equal([
            ["/usr/local/sbin/partner-vpn-metrics", "0755", false],
            ["/etc/systemd/system/partner-vpn-metrics.service", "0644", false],
            ["/etc/systemd/system/partner-vpn-metrics.timer", "0644", false],
        ]);
        const [script, service, timer] = files.map((f) => f.content);
        expect(timer).to.include("OnUnitActiveSec=30s\n").and.include("OnBootSec=30s\n").and.include("WantedBy=timers.target");
        expect(service).to.include("ExecStart=/usr/local/sbin/partner-vpn-metrics 30\n").and.include("RuntimeDirectoryPreserve=yes");
        expect(script.split("\n")[0]).to.equal("#!/usr/bin/env bash");
        expect(script.trimEnd().split("\n").pop()).to.equal('pvpn_publish "$@"');
        expect(() => renderMetricsFiles(5)).to.throw(/metrics period/);
    });

    it("publishes in the namespace and under the metric names the alarms and the README use", () => {
        const script = renderMetricsHelper();
        expect(script).to.include(`PVPN_NAMESPACE=${METRICS_NAMESPACE}\n`);
        for (const name of new Set(Object.values(METRICS))) expect(script, name).to.match(new RegExp(`\\b${name}\\b`));
    });

    it("keeps credentials out of argv: they reach curl only as a config on stdin", () => {
        const script = renderMetricsHelper();
        expect(script).to.include(`printf 'user = "%s:%s"\\nheader = "X-Amz-Security-Token: %s"\\n' "$key" "$secret" "$token"`);
        expect(script).to.not.match(/--user|-u "|AWS_SECRET_ACCESS_KEY|--aws-sigv4 .*\$secret/);
    });

    it("every strongSwan endpoint gets it with the stack's period; a Libreswan one does not", () => {
        const model = modelWith({ periodSeconds: 120 });
        const files = renderEndpointFiles(model, model.partners[0], { natIp: "192.0.2.10", tunnelIp: "192.0.2.11" }, TEST_PSK);
        expect(files.find((f) => f.path.endsWith("partner-vpn-metrics.timer"))?.content).to.include("OnUnitActiveSec=120s");
        const lib = modelWith(undefined, (cfg) => {
            (cfg.partners as Record<string, unknown>[])[0].ipsecDaemon = "libreswan";
        });
        const libFiles = renderEndpointFiles(lib, lib.partners[0], { natIp: "192.0.2.10", tunnelIp: "192.0.2.11" }, TEST_PSK);
        expect(libFiles.filter((f) => f.path.includes("metrics"))).to.deep.equal([]);
    });
});

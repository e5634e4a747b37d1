/**
 * The monitoring resources as the program registers them: per endpoint a role only EC2 may
 * assume, one inline policy (PutMetricData into PartnerVpn), an instance profile attached to the
 * instance, the partner's alarms; the stack's SNS topic only when asked for.
 */
import { expect } from "chai";
import { isSecretValue, unknownValue } from "../../program/mocks";
import { byType, editConfig, evaluate, one, stackConfig, T } from "./harness";

const M = {
    role: "aws:iam/role:Role",
    policy: "aws:iam/rolePolicy:RolePolicy",
    profile: "aws:iam/instanceProfile:InstanceProfile",
    alarm: "aws:cloudwatch/metricAlarm:MetricAlarm",
    topic: "aws:sns/topic:Topic",
} as const;

describe("monitoring resources", () => {
    for (const file of ["Pulumi.dev.yaml", "Pulumi.dev-classic.yaml"]) {
        it(`${file}: role, policy and instance profile per endpoint, parented to the partner's component`, async () => {
            const ev = await evaluate(stackConfig(file));
            const component = one(ev, T.component, "bigcorp");
            const role = one(ev, M.role, "bigcorp-endpoint-role");
            const policy = one(ev, M.policy, "bigcorp-publish-metrics");
            const profile = one(ev, M.profile, "bigcorp-endpoint-profile");
            for (const r of [role, policy, profile]) expect(r.parent, r.name).to.equal(component.urn);
            expect(JSON.parse(role.inputs.assumeRolePolicy as string)).to.deep.equal({
                Version: "2012-10-17",
                Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
            });
            const doc = JSON.parse(policy.inputs.policy as string) as { Statement: Record<string, unknown>[] };
            expect(doc.Statement).to.have.length(1);
            expect(doc.Statement[0].Action).to.equal("cloudwatch:PutMetricData");
            expect(doc.Statement[0].Condition).to.deep.equal({ StringEquals: { "cloudwatch:namespace": "PartnerVpn" } });
            expect(policy.inputs.role, "the policy is on the endpoint role").to.equal(unknownValue("bigcorp-endpoint-role", "name"));
            expect(profile.inputs.role).to.equal(policy.inputs.role);
            const instance = one(ev, T.instance, "bigcorp-endpoint").inputs;
            expect(instance.iamInstanceProfile, "the instance carries the profile").to.equal(unknownValue("bigcorp-endpoint-profile", "name"));
            expect((instance.metadataOptions as Record<string, unknown>).httpTokens, "credentials only through IMDSv2").to.equal("required");
            expect(byType(ev, M.role).length + byType(ev, M.policy).length + byType(ev, "aws:iam/policy:Policy").length + byType(ev, "aws:iam/rolePolicyAttachment:RolePolicyAttachment").length,
                "no other IAM policy is attached").to.equal(2);
        });
    }

    it("alarms: the partner's and one per host on TunnelState, the status check with EC2 recover; no topic by default", async () => {
        const ev = await evaluate(stackConfig("Pulumi.dev.yaml"));
        const alarms = byType(ev, M.alarm);
        expect(alarms.map((a) => a.name)).to.have.members([
            "bigcorp-tunnel-down", "bigcorp-tunnel-down-110-220-10-7-32", "bigcorp-tunnel-down-110-220-10-135-32", "bigcorp-status-check",
        ]);
        const component = one(ev, T.component, "bigcorp");
        for (const a of alarms) expect(a.parent, a.name).to.equal(component.urn);
        const child = one(ev, M.alarm, "bigcorp-tunnel-down-110-220-10-7-32").inputs;
        expect(child).to.deep.include({
            name: "partner-vpn-dev-bigcorp-tunnel-down-110-220-10-7-32",
            namespace: "PartnerVpn", metricName: "TunnelState", statistic: "Minimum", period: 60, evaluationPeriods: 3,
            threshold: 1, comparisonOperator: "LessThanThreshold", treatMissingData: "breaching",
        });
        expect(child.dimensions).to.deep.equal({ Partner: "bigcorp", RemoteHost: "110.220.10.7/32" });
        expect(child.alarmActions).to.deep.equal([]);
        const status = one(ev, M.alarm, "bigcorp-status-check").inputs;
        expect(status).to.deep.include({ namespace: "AWS/EC2", metricName: "StatusCheckFailed_System", comparisonOperator: "GreaterThanOrEqualToThreshold" });
        expect(status.alarmActions).to.deep.equal(["arn:aws:automate:eu-west-1:ec2:recover"]);
        expect((status.dimensions as Record<string, string>).InstanceId).to.equal(unknownValue("bigcorp-endpoint", "id"));
        expect(byType(ev, M.topic)).to.have.length(0);
        expect(ev.outputs.alarms, "stack output alarms: the names to ask CloudWatch about").to.deep.equal({
            bigcorp: alarms.map((a) => (a.inputs as { name: string }).name),
        });
    });

    it("createAlarmTopic: one stack topic, and every alarm notifies it on alarm and on recovery", async () => {
        const ev = await evaluate(editConfig(stackConfig("Pulumi.dev.yaml"), (cfg) => {
            cfg.monitoring = { createAlarmTopic: true, periodSeconds: 30 };
        }));
        const topics = byType(ev, M.topic);
        expect(topics).to.have.length(1);
        expect(topics[0].parent, "a stack-level resource").to.not.match(/PartnerVpn/);
        const arn = unknownValue("partner-vpn-alarms", "arn");
        for (const a of byType(ev, M.alarm)) {
            const actions = a.inputs.alarmActions as string[];
            expect(actions[actions.length - 1], a.name).to.equal(arn);
            expect(a.inputs.okActions, a.name).to.deep.equal([actions[actions.length - 1]]);
            if (a.inputs.namespace === "PartnerVpn") expect(a.inputs.period, a.name).to.equal(30);
        }
    });

    it("an existing topic ARN: no topic created, every alarm notifies that ARN", async () => {
        const arn = "arn:aws:sns:eu-west-1:123456789012:ops-pager";
        const ev = await evaluate(editConfig(stackConfig("Pulumi.dev-classic.yaml"), (cfg) => {
            cfg.monitoring = { alarmTopicArn: arn };
        }));
        expect(byType(ev, M.topic)).to.have.length(0);
        for (const a of byType(ev, M.alarm)) expect(a.inputs.okActions, a.name).to.deep.equal([arn]);
    });

    it("no secret in any monitoring resource", async () => {
        const ev = await evaluate(stackConfig("Pulumi.dev.yaml"));
        const monitoring = ev.resources.filter((r) => Object.values(M).includes(r.type as never));
        expect(monitoring.length).to.equal(7);
        const walk = (v: unknown): boolean => isSecretValue(v) || (v !== null && typeof v === "object" && Object.values(v).some(walk));
        for (const r of monitoring) expect(walk(r.inputs), r.name).to.equal(false);
    });
});

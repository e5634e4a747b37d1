/**
 * The offline plan of a stack with an active/standby pair (Pulumi.dev-ha.yaml): both instances,
 * the VRRP rule, the failover policy and what moves on failover are shown; the summary counts the
 * pair's third public address; the handoff sheet tells the partner there is one peer address.
 */
import { expect } from "chai";
import { describePlan } from "../../plan/describe";
import { handoffSheet } from "../../plan/handoff";
import { PlaceholderSecrets } from "../../plan/placeholderSecrets";
import type { StackPlan } from "../../plan/types";
import { planOk, planText, stackText } from "./helpers";

describe("plan: an active/standby pair (dev-ha)", function () {
    this.timeout(120_000);
    let plan: StackPlan;
    let text: string;

    before(async () => {
        plan = await planOk(stackText("dev-ha"), new PlaceholderSecrets(), "dev-ha");
        text = describePlan(plan, { outDir: "plan-out/x" });
    });

    it("shows both instances, the VRRP rule, the failover policy and which resources move", () => {
        expect(text).to.include("active/standby pair: primary 172.16.0.5, standby 172.16.1.5");
        expect(text).to.include("in subnet-0a1b2c3d4e5f60718, private IP 172.16.0.5");
        expect(text).to.include("in subnet-1a1b2c3d4e5f60718, private IP 172.16.1.5");
        expect(text).to.match(/ingress vrrp\s+from 172\.16\.0\.5\/32, 172\.16\.1\.5\/32/);
        expect(text).to.include("allow: Allow ec2:AssociateAddress on");
        expect(text).to.include("allow: Allow ec2:ReplaceRoute on [\"arn:aws:ec2:eu-west-1:*:route-table/rtb-0a1b2c3d4e5f60718\"]");
        expect(text).to.include("allow: Allow ec2:DescribeAddresses on *");
        expect(text.match(/moves on failover: keepalived's active member points it at its own interface \(ReplaceRoute\)/g)).to.have.length(2);
        expect(text).to.include("moves on failover: keepalived's active member claims it (AssociateAddress)");
        expect(text).to.match(/Summary: stack dev-ha \(vpc-routing\): 1 partner, \d+ resources, 2 endpoints, 3 public IPv4 addresses/);
    });

    it("the handoff sheet names one peer address and nothing to change", async () => {
        const outcome = await planText(stackText("dev-ha"), new PlaceholderSecrets(), "dev-ha");
        if (!outcome.ok) throw new Error("dev-ha does not plan");
        const sheet = handoffSheet(outcome.model, outcome.model.partners[0], outcome.plan.partners[0], "dev-ha");
        expect(sheet).to.include("active/standby pair behind the one address above. You see one peer address");
        expect(sheet).to.include("nothing to configure for it");
    });
});

/**
 * An active/standby pair under Pulumi's mocks (Pulumi.dev-ha.yaml): two instances in two subnets
 * with the same role, group and config; VRRP admitted between the pair only; the failover policy
 * on exactly the tunnel EIP, the two interfaces and the route tables; what moves on failover is
 * left alone by later updates; and a single-endpoint stack gets none of it.
 */
import { expect } from "chai";
import { revealSecrets, unknownValue } from "../../program/mocks";
import { byType, embeddedFiles, evaluate, one, stackConfig, T } from "./harness";

const HA = stackConfig("Pulumi.dev-ha.yaml");
const SINGLE = stackConfig("Pulumi.dev.yaml");
const POLICY = "aws:iam/rolePolicy:RolePolicy";

interface Statement { Action: string; Resource: string | string[] }

describe("program: an active/standby pair", function () {
    this.timeout(120_000);

    it("makes a standby beside the primary: its own subnet and address, the same group and role, a public address for the mirrors", async () => {
        const ev = await evaluate(HA);
        const primary = one(ev, T.instance, "bigcorp-endpoint");
        const standby = one(ev, T.instance, "bigcorp-standby-endpoint");
        expect([primary.inputs.subnetId, primary.inputs.privateIp]).to.deep.equal(["subnet-0a1b2c3d4e5f60718", "172.16.0.5"]);
        expect([standby.inputs.subnetId, standby.inputs.privateIp]).to.deep.equal(["subnet-1a1b2c3d4e5f60718", "172.16.1.5"]);
        for (const key of ["vpcSecurityGroupIds", "iamInstanceProfile", "instanceType", "ami", "sourceDestCheck", "metadataOptions"]) {
            expect(standby.inputs[key], key).to.deep.equal(primary.inputs[key]);
        }
        expect([primary.inputs.associatePublicIpAddress, standby.inputs.associatePublicIpAddress]).to.deep.equal([true, true]);
        expect(standby.options.deleteBeforeReplace).to.equal(true);
    });

    it("places the tunnel EIP on the primary once and never moves it back; routes likewise", async () => {
        const ev = await evaluate(HA);
        const association = one(ev, T.association, "bigcorp-tunnel-eip-assoc");
        expect(association.inputs.instanceId).to.equal(unknownValue("bigcorp-endpoint", "id"));
        expect(association.options.ignoreChanges).to.deep.equal(["instanceId"]);
        const routes = byType(ev, T.route);
        expect(routes).to.have.length(2);
        for (const r of routes) {
            expect(r.inputs.networkInterfaceId).to.equal(unknownValue("bigcorp-endpoint", "primaryNetworkInterfaceId"));
            expect(r.options.ignoreChanges).to.deep.equal(["networkInterfaceId"]);
        }
    });

    it("admits VRRP (protocol 112) from the two members only", async () => {
        const ev = await evaluate(HA);
        const rules = one(ev, T.sg, "bigcorp-sg").inputs.ingress as { protocol: string; cidrBlocks?: string[] }[];
        const vrrp = rules.filter((r) => r.protocol === "112");
        expect(vrrp).to.have.length(1);
        expect(vrrp[0].cidrBlocks).to.deep.equal(["172.16.0.5/32", "172.16.1.5/32"]);
    });

    it("gives the role exactly the failover calls on the pair's own resources, before either apply runs", async () => {
        const ev = await evaluate(HA);
        const policy = one(ev, POLICY, "bigcorp-failover");
        const doc = JSON.parse(policy.inputs.policy as string) as { Statement: Statement[] };
        expect(doc.Statement.map((s) => s.Action)).to.deep.equal(["ec2:AssociateAddress", "ec2:ReplaceRoute", "ec2:DescribeAddresses"]);
        expect(doc.Statement[0].Resource).to.deep.equal([
            `arn:aws:ec2:eu-west-1:*:elastic-ip/${unknownValue("bigcorp-tunnel-eip", "allocationId")}`,
            `arn:aws:ec2:eu-west-1:*:network-interface/${unknownValue("bigcorp-endpoint", "primaryNetworkInterfaceId")}`,
            `arn:aws:ec2:eu-west-1:*:network-interface/${unknownValue("bigcorp-standby-endpoint", "primaryNetworkInterfaceId")}`,
        ]);
        expect(doc.Statement[1].Resource).to.deep.equal(["arn:aws:ec2:eu-west-1:*:route-table/rtb-0a1b2c3d4e5f60718"]);
        expect(policy.inputs.role).to.equal(one(ev, POLICY, "bigcorp-publish-metrics").inputs.role);
        for (const name of ["bigcorp-apply", "bigcorp-standby-apply"]) {
            expect(one(ev, T.command, name).options.dependencies, name).to.include(policy.urn);
        }
    });

    it("pushes both members the same config, each with its own address and VRRP role; both bootstraps install keepalived", async () => {
        const ev = await evaluate(HA);
        const files = (name: string) => embeddedFiles(revealSecrets(one(ev, T.command, name).inputs.stdin) as string);
        const a = files("bigcorp-apply");
        const b = files("bigcorp-standby-apply");
        expect(a).to.have.length(b.length);
        const differing = a.map((f, i) => (f === b[i] ? "" : f.split("\n")[0])).filter(Boolean);
        expect(differing).to.have.length(3);
        expect(a.find((f) => f.includes("connections {"))).to.include("local_addrs = 172.16.0.5");
        expect(b.find((f) => f.includes("connections {"))).to.include("local_addrs = 172.16.1.5");
        expect(b.find((f) => f.includes("vrrp_instance"))).to.match(/unicast_src_ip 172\.16\.1\.5[\s\S]*unicast_peer \{\s+172\.16\.0\.5/);
        const secretFile = (fs: string[]) => fs.find((f) => f.includes("secrets {"));
        expect(secretFile(a)).to.equal(secretFile(b));
        for (const name of ["bigcorp-bootstrap", "bigcorp-standby-bootstrap"]) {
            expect(String(one(ev, T.command, name).inputs.create).split(" "), name).to.include("ha");
        }
        const standbyApply = one(ev, T.command, "bigcorp-standby-apply");
        expect(standbyApply.options.dependencies).to.include(one(ev, T.command, "bigcorp-standby-bootstrap").urn);
        expect((revealSecrets(standbyApply.inputs.connection) as { host: string }).host).to.equal("172.16.1.5");
    });

    it("a single-endpoint stack has no standby, no failover permission, no VRRP rule and no keepalived", async () => {
        const ev = await evaluate(SINGLE);
        expect(byType(ev, T.instance)).to.have.length(1);
        expect(byType(ev, POLICY).map((p) => p.name)).to.deep.equal(["bigcorp-publish-metrics"]);
        const rules = one(ev, T.sg, "bigcorp-sg").inputs.ingress as { protocol: string }[];
        expect(rules.filter((r) => r.protocol === "112")).to.have.length(0);
        const script = revealSecrets(one(ev, T.command, "bigcorp-apply").inputs.stdin) as string;
        expect(embeddedFiles(script).some((f) => f.includes("vrrp_instance"))).to.equal(false);
        expect(one(ev, T.association, "bigcorp-tunnel-eip-assoc").options.ignoreChanges).to.deep.equal([]);
    });
});

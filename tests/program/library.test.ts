/**
 * The library entry (lib/index.ts) as another team uses it: examples/own-vpc builds its own VPC with
 * @pulumi/aws and adds two partners through PartnerVpn, evaluated here under Pulumi's mocks; and
 * the component's own validation of its args (same validator, paths named as in the args).
 */
import { expect } from "chai";
import * as pulumi from "@pulumi/pulumi";
import { defineOwnVpcExample } from "../../examples/own-vpc/program";
import { PartnerVpn, validatePartnerVpnArgs, type PartnerVpnArgs } from "../../lib";
import { evaluateProgram, revealSecrets, unknownValue, type Evaluation } from "../../program/mocks";
import { buildPartnerVpnStack } from "../../program/stack";
import { byType, one, stackConfig, T, testPsk, testSshKey } from "./harness";

const EXAMPLE_CONFIG = {
    // A real stack of the example sets its region; the components' alarms default to it.
    "aws:region": "eu-west-1",
    "example:bastionAmi": "ami-0123456789abcdef0",
    "example:sshPrivateKey": testSshKey(),
    "example:acmePsk": testPsk("acme"),
    "example:globexPsk": testPsk("globex"),
};
const EXAMPLE_SECRETS = ["example:sshPrivateKey", "example:acmePsk", "example:globexPsk"];

function evaluateExample(): Promise<Evaluation> {
    return evaluateProgram(EXAMPLE_CONFIG, { program: defineOwnVpcExample, project: "example", secretKeys: EXAMPLE_SECRETS });
}

describe("library: examples/own-vpc under mocks", () => {
    let ev: Evaluation;
    before(async () => {
        ev = await evaluateExample();
    });

    it("adds two PartnerVpn components, each with its endpoint's resources as children", () => {
        const components = byType(ev, T.component).map((c) => c.name);
        expect(components).to.deep.equal(["acme", "globex"]);
        for (const name of components) {
            const children = ev.resources.filter((r) => r.parent === one(ev, T.component, name).urn).map((r) => `${r.type}::${r.name}`);
            expect(children).to.include.members([
                `${T.eip}::${name}-nat-eip`,
                `${T.sg}::${name}-sg`,
                `${T.instance}::${name}-endpoint`,
                `${T.command}::${name}-apply`,
            ]);
        }
        expect(Object.keys(ev.endpointFiles).sort()).to.deep.equal(["acme", "globex"]);
    });

    it("places the endpoints in the caller's VPC, subnet and route table, with the caller's groups and bastion", () => {
        const sg = one(ev, T.sg, "acme-sg");
        expect(sg.inputs.vpcId).to.equal(unknownValue("example-vpc", "id"));
        const bastionRule = (sg.inputs.ingress as { description: string; securityGroups?: string[] }[]).find((r) => r.securityGroups);
        expect(bastionRule).to.deep.include({ description: "SSH from the bastion (10.40.1.10)", securityGroups: [unknownValue("example-bastion", "id")] });
        const instance = one(ev, T.instance, "acme-endpoint");
        expect(instance.inputs.subnetId).to.equal(unknownValue("example-endpoints", "id"));
        expect(instance.inputs.vpcSecurityGroupIds).to.deep.equal([unknownValue("acme-sg", "id"), unknownValue("example-monitoring", "id")]);
        const routes = byType(ev, T.route).filter((r) => r.name.startsWith("acme-"));
        expect(routes.map((r) => [r.inputs.routeTableId, r.inputs.destinationCidrBlock])).to.deep.equal([
            [unknownValue("example-app-routes", "id"), "81.2.70.0/28"],
        ]);
        expect(routes[0].inputDependencies.routeTableId).to.deep.equal([one(ev, "aws:ec2/routeTable:RouteTable", "example-app-routes").urn]);
        const conn = revealSecrets(one(ev, T.command, "acme-apply").inputs.connection) as { host: string; proxy: { host: string; user: string } };
        expect(conn.host).to.equal("10.40.1.21");
        expect(conn.proxy).to.include({ host: "10.40.1.10", user: "ec2-user" });
    });

    it("protects new Elastic IPs unless the caller's resource options say protect: false", () => {
        expect(one(ev, T.eip, "acme-nat-eip").options.protect).to.equal(true);
        expect(one(ev, T.eip, "acme-tunnel-eip").options.protect).to.equal(true);
        expect(one(ev, T.eip, "globex-nat-eip").options.protect).to.equal(false);
        expect(one(ev, T.eip, "globex-tunnel-eip").options.protect).to.equal(false);
    });

    it("keeps the caller's secrets secret and renders each partner's files from its own config", () => {
        const apply = one(ev, T.command, "acme-apply");
        expect(JSON.stringify(apply.inputs)).not.to.include(testPsk("acme"));
        const files = ev.endpointFiles.globex.map((f) => f.content).join("\n");
        expect(files).to.include("81.2.71.7");
        expect(files).to.include(Buffer.from(testPsk("globex")).toString("base64"));
        expect(files).not.to.include(Buffer.from(testPsk("acme")).toString("base64"));
    });
});

describe("library: our own program is one user of it", () => {
    it("the stack program's components are the library's PartnerVpn, made from each partner's stack config", async () => {
        let made: readonly unknown[] = [];
        const ev = await evaluateProgram(stackConfig("Pulumi.dev.yaml"), {
            program: () => {
                const result = buildPartnerVpnStack();
                made = result.components;
                return result;
            },
        });
        expect(made).to.have.length(1);
        expect(made.every((c) => c instanceof PartnerVpn)).to.equal(true);
        expect(byType(ev, T.component).map((c) => c.name)).to.deep.equal(["bigcorp"]);
    });
});

describe("library: the component validates its args before creating anything", () => {
    const good = (): PartnerVpnArgs => ({
        mode: "vpc-routing",
        network: {
            vpcId: pulumi.output("vpc-0a1b2c3d4e5f60718"),
            subnetId: "subnet-0a1b2c3d4e5f60718",
            subnetCidr: "10.40.1.0/24",
            internalCidrs: ["10.40.2.0/24"],
        },
        endpoint: { adminCidrs: ["10.40.1.0/24"] },
        partner: { name: "acme", privateIp: "10.40.1.21", gatewayIp: "81.2.69.142", remoteHosts: ["81.2.70.0/28"] },
        psk: testPsk("acme"),
        sshPrivateKey: testSshKey(),
        region: "eu-west-1",
    });

    it("accepts Outputs where ids are expected and checks plain ids like a stack file", () => {
        const ok = validatePartnerVpnArgs(good());
        expect(ok.ok, JSON.stringify(ok)).to.equal(true);
        const bad = validatePartnerVpnArgs({ ...good(), network: { ...good().network, subnetId: "subnet-nothex" } });
        expect(bad.ok).to.equal(false);
        if (!bad.ok) expect(bad.errors.map((e) => e.path)).to.deep.equal(["network.subnetId"]);
    });

    it("names partner problems by their path in the args, with the stack validator's messages", () => {
        const result = validatePartnerVpnArgs({ ...good(), partner: { ...good().partner, gatewayIp: "10.1.2.3", remoteHosts: ["300.1.1.1"] } });
        expect(result.ok).to.equal(false);
        if (result.ok) return;
        expect(result.errors.map((e) => e.path)).to.have.members(["partner.gatewayIp", "partner.remoteHosts[0]"]);
        expect(result.errors.find((e) => e.path === "partner.remoteHosts[0]")?.message).to.include('"300.1.1.1" is not an IPv4 address');
    });

    it("throws with every problem and registers no resource", async () => {
        let message = "";
        const ev = await evaluateProgram(
            {},
            {
                project: "example",
                program: () => {
                    try {
                        new PartnerVpn("acme", { ...good(), partner: { ...good().partner, privateIp: "10.99.0.5" } });
                    } catch (err) {
                        message = (err as Error).message;
                    }
                    return { outputs: {}, components: [] };
                },
            },
        );
        expect(message).to.include("PartnerVpn acme has 1 problem(s) in its args; nothing was created");
        expect(message).to.match(/partner\.privateIp: .*10\.99\.0\.5/);
        expect(ev.resources).to.deep.equal([]);
    });

    it("needs a region, given or the stack's aws:region, for the status-check alarm's recover action", async () => {
        let message = "";
        await evaluateProgram({}, {
            project: "example",
            program: () => {
                try {
                    new PartnerVpn("acme", { ...good(), region: undefined });
                } catch (err) {
                    message = (err as Error).message;
                }
                return { outputs: {}, components: [] };
            },
        });
        expect(message).to.include("PartnerVpn acme has 1 problem(s) in its args; nothing was created");
        expect(message).to.match(/region: is not set and the stack has no aws:region/);
        const given = await evaluateProgram({}, {
            project: "example",
            program: () => ({ outputs: {}, components: [new PartnerVpn("acme", good())] }),
        });
        const status = one(given, "aws:cloudwatch/metricAlarm:MetricAlarm", "acme-status-check").inputs;
        expect(status.alarmActions).to.deep.equal(["arn:aws:automate:eu-west-1:ec2:recover"]);
    });
});

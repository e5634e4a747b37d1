/**
 * The inputs and options that make an endpoint safe and durable: least-privilege security group
 * rules (exactly), IMDSv2, encrypted root volume, protected Elastic IPs, AMI handling, how SSH
 * reaches the instance, and adopting existing Elastic IPs.
 */
import { expect } from "chai";
import { securityGroupRules } from "../../components/securityGroup";
import { validateStackConfig } from "../../core/validate";
import { lookedUpAmi, revealSecrets } from "../../program/mocks";
import { projectConfig } from "../../program/stackFile";
import { byType, editConfig, embeddedFiles, evaluate, one, stackConfig, T } from "./harness";

type Rule = { description: string; protocol: string; fromPort: number; toPort: number; cidrBlocks?: string[]; securityGroups?: string[] };

function rulesOf(sgInputs: Record<string, unknown>, kind: "ingress" | "egress"): string[] {
    return (sgInputs[kind] as Rule[]).map((r) => `${r.protocol}:${r.fromPort}-${r.toPort} from ${[...(r.cidrBlocks ?? []), ...(r.securityGroups ?? [])].join(",")}`);
}

describe("endpoint resources", () => {
    it("dev (vpc-routing): security group rules are exactly IKE/NAT-T from the gateway, SSH from the bastion, forwarding from internal", async () => {
        const ev = await evaluate(stackConfig("Pulumi.dev.yaml"));
        const sg = one(ev, T.sg, "bigcorp-sg").inputs;
        expect(rulesOf(sg, "ingress")).to.deep.equal([
            "udp:500-500 from 110.220.9.72/32",
            "udp:4500-4500 from 110.220.9.72/32",
            "icmp:3-4 from 0.0.0.0/0",
            "tcp:22-22 from sg-0b1c2d3e4f5a60718",
            "-1:0-0 from 172.16.0.0/24",
        ]);
        expect(rulesOf(sg, "egress")).to.deep.equal(["-1:0-0 from 0.0.0.0/0"]);
        for (const r of [...(sg.ingress as Rule[]), ...(sg.egress as Rule[])]) expect(r.description, "every rule is described").to.match(/\w{3,}/);
    });

    it("dev-classic: proxy ports only from internal CIDRs, no blanket forwarding rule", async () => {
        const ev = await evaluate(stackConfig("Pulumi.dev-classic.yaml"));
        expect(rulesOf(one(ev, T.sg, "bigcorp-sg").inputs, "ingress")).to.deep.equal([
            "udp:500-500 from 110.220.9.72/32",
            "udp:4500-4500 from 110.220.9.72/32",
            "icmp:3-4 from 0.0.0.0/0",
            "tcp:22-22 from sg-0b1c2d3e4f5a60718",
            "tcp:8080-8080 from 172.16.0.0/24",
            "tcp:8081-8081 from 172.16.0.0/24",
        ]);
    });

    it("no ingress from 0.0.0.0/0 but ICMP fragmentation-needed, unless adminCidrs asks for it, and then only SSH", async () => {
        for (const file of ["Pulumi.dev.yaml", "Pulumi.dev-classic.yaml"]) {
            const ev = await evaluate(stackConfig(file));
            for (const sg of byType(ev, T.sg)) expect(rulesOf(sg.inputs, "ingress").filter((r) => r.includes("0.0.0.0/0"))).to.deep.equal(["icmp:3-4 from 0.0.0.0/0"]);
        }
        const open = editConfig(stackConfig("Pulumi.dev.yaml"), (cfg) => { (cfg.endpoint as Record<string, unknown>).adminCidrs = ["0.0.0.0/0"]; });
        const ev = await evaluate(open);
        const world = rulesOf(one(ev, T.sg, "bigcorp-sg").inputs, "ingress").filter((r) => r.includes("0.0.0.0/0"));
        expect(world).to.deep.equal(["icmp:3-4 from 0.0.0.0/0", "tcp:22-22 from 0.0.0.0/0"]);
    });

    it("security group rules as a pure function: table of modes and access settings", () => {
        const base = projectConfig(stackConfig("Pulumi.dev.yaml"));
        delete base.psks;
        delete base.sshPrivateKey;
        const cases: { name: string; edit: (c: Record<string, unknown>) => void; ssh: string[] }[] = [
            { name: "bastion group only", edit: () => undefined, ssh: ["sg-0b1c2d3e4f5a60718"] },
            { name: "admin CIDRs and bastion", edit: (c) => { (c.endpoint as Record<string, unknown>).adminCidrs = ["81.2.69.160/28", "62.30.0.0/28"]; }, ssh: ["81.2.69.160/28", "62.30.0.0/28", "sg-0b1c2d3e4f5a60718"] },
        ];
        for (const c of cases) {
            const cfg = JSON.parse(JSON.stringify(base));
            c.edit(cfg);
            const result = validateStackConfig(cfg);
            if (!result.ok) throw new Error(`${c.name}: ${JSON.stringify(result.errors)}`);
            const rules = securityGroupRules(result.model, result.model.partners[0]);
            const ssh = rules.ingress.filter((r) => r.fromPort === 22).flatMap((r) => [...(r.cidrBlocks ?? []), ...(r.securityGroups ?? [])]);
            expect(ssh, c.name).to.deep.equal(c.ssh);
        }
    });

    it("the instance requires IMDSv2, encrypts its root volume and keeps a looked-up AMI", async () => {
        const ev = await evaluate(stackConfig("Pulumi.dev.yaml"));
        const instance = one(ev, T.instance, "bigcorp-endpoint");
        expect(instance.inputs.metadataOptions).to.include({ httpTokens: "required", httpEndpoint: "enabled" });
        expect(instance.inputs.rootBlockDevice).to.include({ encrypted: true });
        // The mocks answer the lookup with the lookup itself: the image is chosen at the first up.
        expect(instance.inputs.ami).to.equal(lookedUpAmi("debian-13-amd64-*", "136693071363"));
        expect(instance.options.ignoreChanges, "a newer image must not replace a running endpoint").to.deep.equal(["ami"]);
    });

    it("a pinned AMI is used as given and may replace the instance when changed", async () => {
        const pinned = editConfig(stackConfig("Pulumi.dev.yaml"), (cfg) => { (cfg.endpoint as Record<string, unknown>).ami = "ami-0123456789abcdef0"; });
        const instance = one(await evaluate(pinned), T.instance, "bigcorp-endpoint");
        expect(instance.inputs.ami).to.equal("ami-0123456789abcdef0");
        expect(instance.options.ignoreChanges).to.deep.equal([]);
    });

    it("new Elastic IPs are protected; the tunnel EIP is associated, the NAT EIP never", async () => {
        const ev = await evaluate(stackConfig("Pulumi.dev.yaml"));
        for (const eip of byType(ev, T.eip)) {
            expect(eip.options.protect, eip.name).to.equal(true);
            expect(eip.inputs.domain).to.equal("vpc");
        }
        const associations = byType(ev, T.association);
        expect(associations).to.have.length(1);
        expect(associations[0].options.dependencies.some((d) => d.endsWith("::bigcorp-tunnel-eip"))).to.equal(true);
        expect(associations[0].options.dependencies.some((d) => d.endsWith("::bigcorp-nat-eip"))).to.equal(false);
    });

    it("existing allocations are adopted read-only and their configured address is what gets rendered", async () => {
        const adopted = editConfig(stackConfig("Pulumi.dev.yaml"), (cfg) => {
            const p = (cfg.partners as Record<string, unknown>[])[0];
            p.natEip = { allocationId: "eipalloc-0aaaabbbbccccdddd", publicIp: "54.17.45.23" };
            p.tunnelEip = { allocationId: "eipalloc-0eeeeffff00001111", publicIp: "54.17.32.74" };
        });
        const ev = await evaluate(adopted);
        const eips = byType(ev, T.eip);
        expect(eips.map((e) => e.read)).to.deep.equal([true, true]);
        const files = embeddedFiles(revealSecrets(one(ev, T.command, "bigcorp-apply").inputs.stdin) as string);
        expect(files[0]).to.include("local_ts = 54.17.45.23/32").and.include("id = 54.17.32.74");
        expect(files[2]).to.include("--to-source 54.17.45.23");
        const handoff = (ev.outputs.partners as Record<string, { ourGatewayIp: string; ourEncryptionDomain: string[] }>).bigcorp;
        expect(handoff.ourGatewayIp).to.equal("54.17.32.74");
        expect(handoff.ourEncryptionDomain).to.deep.equal(["54.17.45.23/32"]);
    });

    it("SSH goes through the bastion to the private IP, as the configured user, never as root by default", async () => {
        const ev = await evaluate(stackConfig("Pulumi.dev.yaml"));
        const conn = revealSecrets(one(ev, T.command, "bigcorp-apply").inputs.connection) as Record<string, unknown>;
        expect(conn).to.include({ host: "172.16.0.5", user: "admin", port: 22 });
        expect(conn.proxy).to.include({ host: "bastion.dev.example.com", user: "ec2-user", port: 22 });
        const direct = editConfig(stackConfig("Pulumi.dev.yaml"), (cfg) => {
            const e = cfg.endpoint as Record<string, unknown>;
            delete e.bastion;
            e.adminCidrs = ["81.2.69.160/28"];
        });
        const ev2 = await evaluate(direct);
        const conn2 = revealSecrets(one(ev2, T.command, "bigcorp-apply").inputs.connection) as Record<string, unknown>;
        const outputs = ev2.outputs.tunnelIps as Record<string, string>;
        expect(conn2.host).to.equal(outputs.bigcorp);
        expect(conn2.proxy).to.equal(undefined);
    });

    it("the apply runs only after bootstrap and routes; bootstrap only after the tunnel EIP is associated", async () => {
        const ev = await evaluate(stackConfig("Pulumi.dev.yaml"));
        const apply = one(ev, T.command, "bigcorp-apply");
        const bootstrap = one(ev, T.command, "bigcorp-bootstrap");
        expect(apply.options.dependencies).to.include(bootstrap.urn);
        for (const r of byType(ev, T.route)) expect(apply.options.dependencies).to.include(r.urn);
        expect(bootstrap.options.dependencies).to.include(one(ev, T.association, "bigcorp-tunnel-eip-assoc").urn);
        // Per input, what the engine is told: the triggers come from the instance and, through the
        // rendered files, from both Elastic IPs; the route's interface from the instance.
        const urn = (type: string, name: string) => one(ev, type, name).urn;
        expect(apply.inputDependencies.triggers).to.include.members([urn(T.instance, "bigcorp-endpoint"), urn(T.eip, "bigcorp-nat-eip"), urn(T.eip, "bigcorp-tunnel-eip")]);
        expect(bootstrap.inputDependencies.triggers).to.deep.equal([urn(T.instance, "bigcorp-endpoint")]);
        for (const r of byType(ev, T.route)) expect(r.inputDependencies.networkInterfaceId).to.deep.equal([urn(T.instance, "bigcorp-endpoint")]);
        expect(bootstrap.inputDependencies.create, "a plain string depends on nothing").to.equal(undefined);
        expect(apply.options.deleteBeforeReplace, "replacement creates first; the old delete is generation-guarded").to.equal(false);
    });
});

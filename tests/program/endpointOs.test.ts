/**
 * endpoint.os in the program (under Pulumi's mocks): one AMI lookup per OS with that OS's
 * publisher and name filter, the OS tag that replaces an instance when it changes, the login
 * user per partner, and the bootstrap told the partner's OS (also in its triggers).
 */
import { expect } from "chai";
import { editConfig, evaluate, one, stackConfig } from "./harness";
import { revealSecrets } from "../../program/mocks";

type Partner = Record<string, unknown> & { name: string };
const acme: Partner = { name: "acme", privateIp: "172.16.0.6", gatewayIp: "110.221.1.1", remoteHosts: ["110.221.2.0/24"], os: "debian-12" };

describe("program: endpoint.os", () => {
    it("looks up one image per OS (Debian's account for Debian, Canonical's for Ubuntu)", async () => {
        const ev = await evaluate(editConfig(stackConfig("Pulumi.dev.yaml"), (cfg) => {
            (cfg.partners as Partner[]).push(acme, { ...acme, name: "beta", privateIp: "172.16.0.7", gatewayIp: "110.221.9.1", remoteHosts: ["110.221.3.0/24"], os: "ubuntu-24.04" });
        }));
        const lookups = ev.invokes.filter((i) => i.token === "aws:ec2/getAmi:getAmi").map((i) => ({
            owners: i.args.owners, name: (i.args.filters as { name: string; values: string[] }[]).find((f) => f.name === "name")?.values,
        }));
        expect(lookups).to.deep.equal([
            { owners: ["136693071363"], name: ["debian-13-amd64-*"] },
            { owners: ["136693071363"], name: ["debian-12-amd64-*"] },
            { owners: ["099720109477"], name: ["ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*"] },
        ]);
    });

    it("partners on the same OS share one lookup; a pinned AMI needs none", async () => {
        const shared = await evaluate(editConfig(stackConfig("Pulumi.dev.yaml"), (cfg) => { (cfg.partners as Partner[]).push({ ...acme, os: undefined }); }));
        expect(shared.invokes.filter((i) => i.token === "aws:ec2/getAmi:getAmi")).to.have.length(1);
        const pinned = await evaluate(editConfig(stackConfig("Pulumi.dev.yaml"), (cfg) => { (cfg.endpoint as Record<string, unknown>).ami = "ami-0123456789abcdef0"; }));
        expect(pinned.invokes).to.deep.equal([]);
        expect(one(pinned, "aws:ec2/instance:Instance", "bigcorp-endpoint").inputs.ami).to.equal("ami-0123456789abcdef0");
    });

    it("tags the instance with its OS and replaces it when that tag changes", async () => {
        const ev = await evaluate(editConfig(stackConfig("Pulumi.dev.yaml"), (cfg) => { (cfg.partners as Partner[]).push(acme); }));
        const bigcorp = one(ev, "aws:ec2/instance:Instance", "bigcorp-endpoint");
        const acmeInstance = one(ev, "aws:ec2/instance:Instance", "acme-endpoint");
        expect((bigcorp.inputs.tags as Record<string, string>)["partner-vpn:os"]).to.equal("debian-13");
        expect((acmeInstance.inputs.tags as Record<string, string>)["partner-vpn:os"]).to.equal("debian-12");
        expect(acmeInstance.options.replaceOnChanges).to.deep.equal(['tags["partner-vpn:os"]']);
        expect(acmeInstance.options.ignoreChanges).to.deep.equal(["ami"]);
    });

    it("bootstraps each endpoint for its OS as its OS's user, and re-bootstraps when the OS changes", async () => {
        const ev = await evaluate(editConfig(stackConfig("Pulumi.dev.yaml"), (cfg) => { (cfg.partners as Partner[]).push(acme); }));
        const boot = one(ev, "command:remote:Command", "acme-bootstrap");
        expect(boot.inputs.create).to.match(/^sudo -n bash -s -- 'vpc-routing' 'debian-12' 'proposal=/);
        expect(boot.inputs.triggers).to.include("debian-12");
        const conn = revealSecrets(boot.inputs.connection) as Record<string, unknown>;
        expect(conn).to.include({ user: "admin" });
        const ubuntu = await evaluate(editConfig(stackConfig("Pulumi.dev.yaml"), (cfg) => { (cfg.partners as Partner[]).push({ ...acme, os: "ubuntu-24.04" }); }));
        const apply = one(ubuntu, "command:remote:Command", "acme-apply");
        expect(revealSecrets(apply.inputs.connection) as Record<string, unknown>).to.include({ user: "ubuntu" });
        expect(one(ubuntu, "command:remote:Command", "acme-bootstrap").inputs.triggers).to.include("ubuntu-24.04");
    });
});

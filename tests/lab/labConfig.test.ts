/**
 * The lab's side of a config, without a lab (no root needed): stack files mapped to the topology,
 * configs the lab must refuse, the program's remote commands as the lab replays them, and the
 * apply-script editing the bad-push checks rely on.
 */
import { expect } from "chai";
import * as path from "path";
import { embeddedFile, embeddedFiles, scriptGeneration, withEditedFile } from "../../lab/applyScript";
import { commandNamed, orderByDependencies, programCommands, replayPlan, type LabSecrets } from "../../lab/engine";
import { applicableChecks } from "../../lab/checks";
import { labPsk, labSpecFor, loadLabFixture, partnerListeners, modelFor, refuseNonLabAddresses, withAddedHost } from "../../lab/stackLab";
import { pskProblem } from "../../core/secrets";
import { projectConfig } from "../../program/stackFile";
import { testSshKey } from "../program/harness";

const FIXTURES = path.join(__dirname, "fixtures");
const ROOT = path.join(__dirname, "..", "..");

function secretsFor(values: Record<string, string>): LabSecrets {
    const partners = projectConfig(values).partners as Array<{ name: string }>;
    return { psks: Object.fromEntries(partners.map((p) => [p.name, labPsk()])), sshPrivateKey: testSshKey() };
}

describe("lab config: stack files mapped to the lab", () => {
    it("maps the vpc fixture: endpoint, EIPs, partner hosts plus a spare, instances from the DNAT targets, admin node", () => {
        const f = loadLabFixture(path.join(FIXTURES, "lab-vpc.yaml"));
        expect(f.spec).to.deep.include({ mode: "vpc-routing", subnetCidr: "172.16.0.0/24", routerIp: "172.16.0.1", adminIp: "172.16.0.250", internetCidr: "198.51.100.0/24" });
        expect(f.spec.instances).to.deep.equal(["172.16.0.10", "172.16.0.11"]);
        expect(f.spec.partners).to.deep.equal([
            { name: "bigcorp", privateIp: "172.16.0.5", tunnelIp: "192.0.2.10", natIp: "192.0.2.23", gatewayIp: "198.51.100.2", remoteHosts: ["203.0.113.7", "203.0.113.135", "203.0.113.1"] },
        ]);
        expect(f.partners[0].partnerSide).to.deep.include({ localAddress: "198.51.100.2", remoteAddress: "192.0.2.10", remoteTs: "192.0.2.23/32", ikeVersion: 2 });
        expect(f.partners[0].partnerSide.localHosts).to.deep.equal(["203.0.113.7/32", "203.0.113.135/32", "203.0.113.1/32"]);
    });

    it("the fixtures cover both modes, IKEv1 and IKEv2, a partner with two hosts, http and tcp proxies", () => {
        const vpc = loadLabFixture(path.join(FIXTURES, "lab-vpc.yaml")).model;
        const classic = loadLabFixture(path.join(FIXTURES, "lab-classic.yaml")).model;
        expect([vpc.mode, classic.mode]).to.deep.equal(["vpc-routing", "classic-proxy"]);
        expect([vpc.partners[0].ike.version, classic.partners[0].ike.version]).to.have.members([1, 2]);
        expect(vpc.partners[0].remoteHosts).to.have.length(2);
        expect(classic.partners[0].proxies.map((p) => p.protocol)).to.have.members(["http", "tcp"]);
        // The booted Debian image's own user, through sudo, as on EC2: never root.
        for (const m of [vpc, classic]) expect([m.endpoint.os, m.partners[0].sshUser]).to.deep.equal(["debian-13", "admin"]);
    });

    it("regression: every partner address the config names exists on the partner's side (proxies to .17 and .18 inside a /29)", () => {
        const f = loadLabFixture(path.join(FIXTURES, "lab-classic-network.yaml"));
        expect(f.model.partners[0].remoteHosts).to.deep.equal(["203.0.113.16/29"]);
        expect(f.spec.partners[0].remoteHosts).to.include.members(["203.0.113.17", "203.0.113.18"]);
        const served = partnerListeners(f.model.partners[0], f.partners[0]).map((l) => `${l.kind} ${l.address}:${l.port}`);
        expect(served).to.include.members(["http 203.0.113.17:80", "tcp 203.0.113.18:7000"]);
    });

    it("regression: two partners map to two endpoints and two gateways, hosts and spares apart", () => {
        const f = loadLabFixture(path.join(FIXTURES, "lab-two-partners.yaml"));
        expect(f.spec.partners.map((p) => [p.name, p.privateIp, p.gatewayIp])).to.deep.equal([["bigcorp", "172.16.0.5", "198.51.100.2"], ["acme", "172.16.0.6", "198.51.100.3"]]);
        const all = f.spec.partners.flatMap((p) => p.remoteHosts);
        expect(new Set(all).size).to.equal(all.length);
    });

    it("--os puts every endpoint on that OS, and an OS the lab does not boot is refused before anything is built", () => {
        const twelve = loadLabFixture(path.join(FIXTURES, "lab-vpc.yaml"), { os: "debian-12" }).model;
        expect(twelve.partners.map((p) => [p.os, p.sshUser])).to.deep.equal([["debian-12", "admin"]]);
        expect(() => loadLabFixture(path.join(FIXTURES, "lab-vpc.yaml"), { os: "ubuntu-24.04" })).to.throw(/partners\[0\] \(bigcorp\) runs ubuntu-24\.04, which the lab does not boot \(it boots debian-13, debian-12\)/);
        expect(() => loadLabFixture(path.join(FIXTURES, "lab-vpc.yaml"), { os: "debian-11" })).to.throw(/endpoint\.os: "debian-11" is not one of debian-13, debian-12, ubuntu-24\.04/);
    });

    it("refuses the dev stacks: their public addresses are named one by one", () => {
        expect(() => loadLabFixture(path.join(ROOT, "Pulumi.dev.yaml"))).to.throw(/partners\[0\]\.gatewayIp: 110\.220\.9\.72 is public/);
        expect(() => refuseNonLabAddresses({ endpoint: { adminCidrs: ["0.0.0.0/0"] } })).to.throw(/endpoint\.adminCidrs\[0\]: 0\.0\.0\.0\/0 is unspecified\/broadcast/);
        expect(() => refuseNonLabAddresses({ network: { internalCidrs: ["10.0.0.0/7"] } })).to.throw(/private\/public/);
        expect(() => refuseNonLabAddresses({ network: { internalCidrs: ["10.0.0.0/8"] }, partners: [{ remoteHosts: ["203.0.113.0/24"] }] })).to.not.throw();
    });

    it("refuses configs it cannot map, saying why", () => {
        const base = loadLabFixture(path.join(FIXTURES, "lab-vpc.yaml"));
        const edit = (change: (p: Record<string, unknown>, cfg: Record<string, unknown>) => void) => {
            const cfg = projectConfig(base.values);
            change((cfg.partners as Record<string, unknown>[])[0], cfg);
            return Object.fromEntries(Object.entries(cfg).map(([k, v]) => [`partner-vpn:${k}`, typeof v === "string" ? v : JSON.stringify(v)]));
        };
        const noNatIp = modelFor(edit((p) => delete p.natEip));
        expect(() => labSpecFor(noNatIp)).to.throw(/natEip needs \{allocationId, publicIp\}/);
        const farAdmin = modelFor(edit((_p, cfg) => ((cfg.endpoint as Record<string, unknown>).adminCidrs = ["10.9.9.9/32"])));
        expect(() => labSpecFor(farAdmin)).to.throw(/adminCidrs must include an address inside network\.subnetCidr/);
        expect(() => modelFor(edit((p) => (p.gatewayIp = "8.8.8.8")))).to.throw(/gatewayIp: 8\.8\.8\.8 is public/);
    });

    it("maps a Libreswan stack and runs only the machine checks on it; refuses one mixing the daemons, saying why", () => {
        const lsw = loadLabFixture(path.join(FIXTURES, "lab-libreswan.yaml"));
        expect(lsw.model.partners.map((p) => [p.ipsecDaemon, p.os])).to.deep.equal([["libreswan", "debian-13"]]);
        expect(applicableChecks(lsw).map((c) => c.id)).to.deep.equal(["bootstrap", "reboot"]);
        expect(applicableChecks(loadLabFixture(path.join(FIXTURES, "lab-vpc.yaml"))).map((c) => c.id)).to.include.members(["tunnels", "traffic", "bootstrap", "reboot"]);
        const two = loadLabFixture(path.join(FIXTURES, "lab-two-partners.yaml"));
        const cfg = projectConfig(two.values);
        (cfg.partners as Record<string, unknown>[])[1].ipsecDaemon = "libreswan";
        const mixed = modelFor(Object.fromEntries(Object.entries(cfg).map(([k, v]) => [`partner-vpn:${k}`, typeof v === "string" ? v : JSON.stringify(v)])));
        expect(() => labSpecFor(mixed)).to.throw(/mixes strongSwan and Libreswan partners/);
    });

    it("generates PSKs the project's validator accepts, different every time", () => {
        const a = labPsk();
        expect(pskProblem(a)).to.equal(undefined);
        expect(labPsk()).to.not.equal(a);
    });
});

describe("lab config: the program's remote commands as the lab replays them", function () {
    this.timeout(60_000);

    it("bootstrap then apply, as the image's user through sudo, to the tunnel EIP, the PSK only on stdin", async () => {
        const values = loadLabFixture(path.join(FIXTURES, "lab-vpc.yaml")).values;
        const secrets = secretsFor({ ...values });
        const run = await programCommands(values, secrets);
        expect(run.commands.map((c) => c.name)).to.deep.equal(["bigcorp-bootstrap", "bigcorp-apply"]);
        const apply = commandNamed(run, "bigcorp-apply");
        expect(apply.create).to.equal("sudo -n bash -s");
        expect(commandNamed(run, "bigcorp-bootstrap").create).to.match(/^sudo -n bash -s -- 'vpc-routing' 'debian-13' 'proposal=/);
        expect(apply.connection).to.deep.include({ host: "192.0.2.10", user: "admin", port: 22, privateKey: secrets.sshPrivateKey });
        expect(apply.stdinSecret).to.equal(true);
        expect(apply.create + apply.delete).to.not.include(secrets.psks.bigcorp);
        expect(embeddedFile(apply.stdin ?? "", "secrets").content).to.include(Buffer.from(secrets.psks.bigcorp).toString("base64"));
        expect(orderByDependencies([...run.commands].reverse()).map((c) => c.name)).to.deep.equal(["bigcorp-bootstrap", "bigcorp-apply"]);
    });

    it("adding a host replaces the apply (new create, then old delete) and leaves bootstrap alone", async () => {
        const f = loadLabFixture(path.join(FIXTURES, "lab-classic.yaml"));
        const secrets = secretsFor({ ...f.values });
        const before = await programCommands(f.values, secrets);
        const added = withAddedHost(f.values, "smallco", f.partners[0].spareHost);
        expect(modelFor(added).partners[0].proxies.at(-1)).to.deep.equal({ listenPort: 8082, protocol: "http", remoteHost: "203.0.113.1", remotePort: 80 });
        const after = await programCommands(added, secrets);
        const plan = replayPlan(before.commands, after.commands);
        expect(plan.map((s) => `${s.name}:${s.action}`)).to.deep.equal(["smallco-bootstrap:unchanged", "smallco-apply:replace"]);
        const replace = plan[1];
        expect(scriptGeneration(replace.previous?.stdin ?? "")).to.not.equal(scriptGeneration(replace.next?.stdin ?? ""));
        expect(replace.previous?.delete).to.include(scriptGeneration(replace.previous?.stdin ?? ""));
        expect(replayPlan(after.commands, after.commands).map((s) => s.action)).to.deep.equal(["unchanged", "unchanged"]);
    });

    it("reads and hand-edits the files an apply script carries, touching only the edited one", async () => {
        const f = loadLabFixture(path.join(FIXTURES, "lab-classic.yaml"));
        const script = commandNamed(await programCommands(f.values, secretsFor({ ...f.values })), "smallco-apply").stdin ?? "";
        const files = embeddedFiles(script);
        expect(files.map((x) => x.role)).to.deep.equal(["swanctl", "secrets", "nat", "nginx", "expect", "helper", "helper", "metrics", "metrics", "metrics"]);
        const edited = withEditedFile(script, "swanctl", (c) => c.replace(/esp_proposals = [^\n]+/g, "esp_proposals = aes999-sha256-modp2048"));
        const after = embeddedFiles(edited);
        expect(after[0].content).to.include("esp_proposals = aes999-sha256-modp2048");
        expect(after.slice(1)).to.deep.equal(files.slice(1));
        expect(() => withEditedFile(script, "nginx", (c) => c)).to.throw(/changed nothing/);
    });
});

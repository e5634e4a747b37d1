/**
 * Every stack file at the repository root evaluates under mocks, and each partner gets exactly the
 * resources its mode calls for, with the inputs that matter.
 */
import { expect } from "chai";
import { projectConfig } from "../../program/stackFile";
import { revealSecrets } from "../../program/mocks";
import { byType, evaluate, one, stackConfig, stackFiles, T } from "./harness";

interface PartnerCfg { name: string; privateIp: string; gatewayIp: string; remoteHosts: string[]; proxies?: { listenPort: number }[]; ha?: { privateIp: string } }

describe("stack files under mocks", () => {
    it("finds both dev stacks", () => {
        expect(stackFiles()).to.include.members(["Pulumi.dev.yaml", "Pulumi.dev-classic.yaml"]);
    });

    for (const file of stackFiles()) {
        describe(file, () => {
            const config = stackConfig(file);
            const cfg = projectConfig(config);
            const mode = cfg.mode as string;
            const partners = cfg.partners as PartnerCfg[];
            const network = cfg.network as { routeTableIds?: string[]; internalCidrs: string[]; vpcId: string };

            it("registers one component per partner with the package type token, children parented to it", async () => {
                const ev = await evaluate(config);
                const components = byType(ev, T.component);
                expect(components.map((c) => c.name)).to.deep.equal(partners.map((p) => p.name));
                for (const r of ev.resources.filter((x) => x.type !== T.component)) {
                    expect(r.parent, `${r.type} ${r.name}`).to.match(/partner-vpn:index:PartnerVpn::/);
                }
            });

            for (const p of partners) {
                it(`${p.name}: per-partner resources match the ${mode} mode`, async () => {
                    const ev = await evaluate(config);
                    const mine = ev.resources.filter((r) => r.name.startsWith(`${p.name}-`));
                    const count = (type: string) => mine.filter((r) => r.type === type).length;
                    expect(count(T.eip)).to.equal(2);
                    expect(count(T.sg)).to.equal(1);
                    // An active/standby pair: a standby instance with its own bootstrap and apply.
                    expect(count(T.instance)).to.equal(p.ha ? 2 : 1);
                    expect(count(T.association)).to.equal(1);
                    expect(count(T.command)).to.equal(p.ha ? 4 : 2);
                    const routes = mine.filter((r) => r.type === T.route);
                    if (mode === "vpc-routing") {
                        const expected = (network.routeTableIds ?? []).flatMap((rtb) => p.remoteHosts.map((h) => `${rtb} ${h.includes("/") ? h : `${h}/32`}`));
                        expect(routes.map((r) => `${r.inputs.routeTableId} ${r.inputs.destinationCidrBlock}`)).to.have.members(expected);
                        const instance = one(ev, T.instance, `${p.name}-endpoint`);
                        for (const r of routes) expect(r.options.dependencies).to.include(instance.urn);
                    } else {
                        expect(routes).to.have.length(0);
                    }
                });

                it(`${p.name}: the instance has the fixed private IP and the mode's forwarding setting`, async () => {
                    const ev = await evaluate(config);
                    const instance = one(ev, T.instance, `${p.name}-endpoint`);
                    expect(instance.inputs.privateIp).to.equal(p.privateIp);
                    expect(instance.inputs.sourceDestCheck).to.equal(mode !== "vpc-routing");
                    expect(instance.options.deleteBeforeReplace, "a fixed private IP cannot exist twice").to.equal(true);
                });

                it(`${p.name}: the apply pushes a proxy config only in classic-proxy mode`, async () => {
                    const ev = await evaluate(config);
                    const apply = one(ev, T.command, `${p.name}-apply`);
                    const script = revealSecrets(apply.inputs.stdin) as string;
                    const table = script.split("\n").filter((l) => /^ {8}(swanctl|secrets|nat|nginx|helper) f\d+ /.test(l)).map((l) => l.trim().split(" ")[0]);
                    const expected = ["swanctl", "secrets", "nat", ...(mode === "classic-proxy" ? ["nginx"] : []), "helper", "helper"];
                    expect(table).to.deep.equal(expected);
                    const sg = one(ev, T.sg, `${p.name}-sg`);
                    const ports = (sg.inputs.ingress as { fromPort: number; protocol: string }[]).filter((r) => r.protocol === "tcp" && r.fromPort !== 22).map((r) => r.fromPort);
                    expect(ports).to.have.members(mode === "classic-proxy" ? (p.proxies ?? []).map((x) => x.listenPort) : []);
                });
            }
        });
    }
});

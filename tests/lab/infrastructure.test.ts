/**
 * Proves the lab itself with a hand-written endpoint config (tests/lab/fixtures): real IKE and ESP
 * (userspace, kernel-libipsec) between our endpoint behind an emulated EIP 1:1 NAT and a partner
 * gateway configured independently, the seed's SNAT/DNAT rules, and a negative control.
 *
 * Needs root and strongSwan/sshd/iptables; skips with the reason otherwise, unless LAB_REQUIRED=1.
 */
import { expect } from "chai";
import * as fs from "fs";
import { cleanupLab } from "../../lab/cleanup";
import { requireLab } from "../gates";
import { sshClientOptions, sshProxyCommand } from "../../lab/sshd";
import { listSas, natFlags } from "../../lab/strongswan";
import { run } from "../../lab/exec";
import { labProxyConf, startNginx } from "../../lab/nginx";
import { writeNodeFile } from "../../lab/node";
import { buildLab, defaultLabSpec, emulateXfrmSourceSelection, Lab, LabPartner, teardownLab } from "../../lab/topology";
import { httpRequest, tcpRequest } from "../../lab/traffic";
import { seedNatRules } from "./fixtures/handWrittenEndpoint";
import {
    bringUpHandWrittenTunnel,
    EP_CONF_PATH,
    HTTP_PORT,
    iptablesCommand,
    onEndpoint,
    startStandardServers,
    TCP_PORT,
    TunnelSetup,
} from "./fixtures/tunnel";

for (const version of [2, 1] as const) {
    describe(`lab infrastructure, IKEv${version} (namespaces, NAT-T behind an emulated EIP, userspace ESP)`, function () {
        this.timeout(120_000);
        let lab: Lab | undefined;
        let partner: LabPartner;
        let tunnel: TunnelSetup;

        before(async function () {
            requireLab(this);
            lab = await buildLab(defaultLabSpec());
            partner = lab.partners[0];
            for (const note of lab.notes) console.log(`      lab note: ${note}`);
            await startStandardServers(lab, partner);
            tunnel = await bringUpHandWrittenTunnel(lab, partner, version);
        });

        after(function () {
            if (lab) teardownLab(lab);
            cleanupLab();
        });

        it("establishes one CHILD_SA per partner host, UDP-encapsulated, from the private IP with the EIP as identity", async function () {
            const { sas } = await listSas(partner.ep);
            const ike = sas.find((s) => s.name === tunnel.connName && s.state === "ESTABLISHED");
            expect(ike, "IKE_SA").to.not.equal(undefined);
            expect(ike?.version).to.equal(`IKEv${version}`);
            expect(ike?.localHost).to.equal(partner.spec.privateIp);
            expect(ike?.localId).to.equal(partner.spec.tunnelIp);
            const children = new Map(ike?.children.map((c) => [c.name, c]));
            for (const name of tunnel.children) {
                expect(children.get(name)?.state, name).to.equal("INSTALLED");
                expect(children.get(name)?.mode, name).to.equal("TUNNEL-in-UDP");
                expect(children.get(name)?.localTs).to.deep.equal([`${partner.spec.natIp}/32`]);
            }
            // The partner sees our EIP, not the private address, and our side detected the NAT.
            const partnerView = (await listSas(partner.pgw)).sas.find((s) => s.state === "ESTABLISHED");
            expect(partnerView?.remoteHost).to.equal(partner.spec.tunnelIp);
            expect((await natFlags(partner.ep)).get(tunnel.connName)?.natLocal).to.equal(true);
        });

        it("runs commands over ssh inside the endpoint's own /run and overlaid /etc", async function () {
            const out = await onEndpoint(
                lab as Lab,
                partner,
                "swanctl --list-conns | head -1\ncat /run/charon.pid\nmkdir -p /etc/partner-vpn/lab && echo x > /etc/partner-vpn/lab/probe\ncat /etc/partner-vpn/lab/probe",
            );
            const [firstConn, pid, probe] = out.trim().split("\n");
            expect(firstConn).to.match(new RegExp(`^${tunnel.connName}:`));
            expect(Number(pid)).to.equal(partner.epCharon?.process.pid);
            expect(probe).to.equal("x");
            // The same from an ssh client in the root namespace, through the admin node (a pipe, no link).
            const viaProxy = await run([
                "ssh",
                ...sshClientOptions(lab!.keys),
                "-o",
                `ProxyCommand=${sshProxyCommand(lab!.admin)}`,
                `root@${partner.spec.privateIp}`,
                "cat /run/charon.pid",
            ]);
            expect(viaProxy.stdout.trim(), viaProxy.stderr).to.equal(pid);
            // Nothing pushed reached the host's own files.
            expect(fs.existsSync(EP_CONF_PATH), EP_CONF_PATH).to.equal(false);
            expect(fs.existsSync("/etc/partner-vpn/lab/probe")).to.equal(false);
        });

        it("instance -> partner hosts (HTTP and TCP): answered, and the partner saw our NAT IP", async function () {
            for (const host of partner.spec.remoteHosts) {
                const http = await httpRequest(lab!.instances[0].node, host, HTTP_PORT);
                expect(http.ok, `${host}: ${http.error}`).to.equal(true);
                expect(http.report).to.include({ peer: partner.spec.natIp, server: host });
                const tcp = await tcpRequest(lab!.instances[1].node, host, TCP_PORT);
                expect(tcp.ok, `${host}: ${tcp.error}`).to.equal(true);
                expect(tcp.report).to.include({ peer: partner.spec.natIp, server: host });
            }
        });

        it("partner host -> NAT IP reaches the DNAT target, which saw the partner host", async function () {
            for (const { host, target } of tunnel.inbound) {
                const http = await httpRequest(partner.pgw, partner.spec.natIp, HTTP_PORT, { from: host });
                expect(http.ok, `${host}: ${http.error}`).to.equal(true);
                expect(http.report).to.include({ peer: host, server: target });
                const tcp = await tcpRequest(partner.pgw, partner.spec.natIp, TCP_PORT, { from: host });
                expect(tcp.report).to.include({ peer: host, server: target });
            }
        });

        it("negative control: with the SNAT rule removed, the outbound request fails; restored, it works", async function () {
            const host = partner.spec.remoteHosts[0];
            const rules = seedNatRules(lab!.spec.subnetCidr, partner.spec.natIp, tunnel.inbound);
            const snat = rules.find((r) => r.includes("SNAT") && r.includes(`${host}/32`)) as string[];
            const del = snat.map((a) => (a === "-A" ? "-D" : a));
            await onEndpoint(lab as Lab, partner, iptablesCommand(del));
            const without = await httpRequest(lab!.instances[0].node, host, HTTP_PORT, { timeoutSeconds: 2 });
            await onEndpoint(lab as Lab, partner, iptablesCommand(snat));
            expect(without.ok, "request without SNAT").to.equal(false);
            const again = await httpRequest(lab!.instances[0].node, host, HTTP_PORT);
            expect(again.ok, again.error).to.equal(true);
        });
    });
}

describe("lab infrastructure, classic-proxy mode (no instance routes; nginx on the endpoint)", function () {
    this.timeout(120_000);
    let lab: Lab | undefined;
    let partner: LabPartner;
    let tunnel: TunnelSetup;

    before(async function () {
        requireLab(this);
        lab = await buildLab(defaultLabSpec({ mode: "classic-proxy" }));
        partner = lab.partners[0];
        await startStandardServers(lab, partner);
        tunnel = await bringUpHandWrittenTunnel(lab, partner, 2);
        const [h1, h2] = partner.spec.remoteHosts;
        await writeNodeFile(
            partner.ep,
            "/etc/nginx/nginx.conf",
            labProxyConf(partner.spec.privateIp, [
                { listenPort: 8080, protocol: "http", host: h1, port: HTTP_PORT },
                { listenPort: 8081, protocol: "tcp", host: h2, port: TCP_PORT },
            ]),
        );
        await startNginx(partner.ep);
        // As on a production endpoint, nginx's connections leave with the private IP and need SNAT.
        await emulateXfrmSourceSelection(partner);
    });

    after(function () {
        if (lab) teardownLab(lab);
        cleanupLab();
    });

    it("instances have no route to the partner; through nginx they reach it and the partner sees the NAT IP", async function () {
        const inst = lab!.instances[0].node;
        const direct = await httpRequest(inst, partner.spec.remoteHosts[0], HTTP_PORT, { timeoutSeconds: 2 });
        expect(direct.ok, "direct request without a route").to.equal(false);
        const http = await httpRequest(inst, partner.spec.privateIp, 8080);
        expect(http.report, http.error).to.include({ peer: partner.spec.natIp, server: partner.spec.remoteHosts[0] });
        const tcp = await tcpRequest(inst, partner.spec.privateIp, 8081);
        expect(tcp.report, tcp.error).to.include({ peer: partner.spec.natIp, server: partner.spec.remoteHosts[1] });
    });

    it("negative control: without the SNAT rules the proxied request fails", async function () {
        const snat = seedNatRules(lab!.spec.subnetCidr, partner.spec.natIp, tunnel.inbound).filter((r) => r.includes("SNAT"));
        await onEndpoint(lab as Lab, partner, snat.map((r) => iptablesCommand(r.map((a) => (a === "-A" ? "-D" : a)))).join("\n"));
        const without = await httpRequest(lab!.instances[0].node, partner.spec.privateIp, 8080, { timeoutSeconds: 3 });
        await onEndpoint(lab as Lab, partner, snat.map(iptablesCommand).join("\n"));
        expect(without.report?.server, "proxied request without SNAT").to.not.equal(partner.spec.remoteHosts[0]);
    });
});

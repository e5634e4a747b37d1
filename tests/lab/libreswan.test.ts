/**
 * Libreswan's pluto in the lab, with our rendered config, against a strongSwan partner gateway
 * configured by hand from the agreement (lab/libreswan.ts): our endpoint (172.16.0.5) sits behind
 * an emulated EIP 1:1 NAT (198.51.100.1), the partner's gateway is 198.51.100.2 with its hosts on lo.
 *
 * What this kernel allows (no CONFIG_INET_ESP; see lab/README.md "Libreswan"): pluto loads the
 * conns and completes IKE, as initiator and as responder, for IKEv2 (IKE SA) and IKEv1 (ISAKMP SA,
 * Main Mode with the PSK keyed on both identities), NAT-T on UDP 4500 through the NAT. Installing
 * the IPsec SA fails in the kernel (XFRM "Add SA": Protocol not supported, errno 93): Libreswan has
 * no userspace ESP, so no packet crosses this tunnel in the lab. The tests assert that failure as
 * the measured boundary; if a kernel with ESP runs them, they report the CHILD SA instead.
 *
 * Needs root, the unpacked Libreswan with pluto's libraries, certutil, strongSwan with
 * kernel-libipsec; skips with the reason otherwise, unless LAB_REQUIRED=1.
 */
import { expect } from "chai";
import * as fs from "fs";
import { renderEndpointFiles } from "../../core/render";
import type { PartnerModel } from "../../core/model";
import { listLabNamespaces } from "../../lab/cleanup";
import { runSyncResult as runCommand } from "../../lab/exec";
import { buildIkeLab, IKE_LAB, IkeLab, listPartnerSas, loadPartnerConf, partnerSwanctlConf, plutoUnavailableReason } from "../../lab/libreswan";
import { runInNode } from "../../lab/node";
import { CHARON_BINARY as CHARON_PATH } from "../../lab/strongswan";
import { requireLibreswanForLab } from "../tools/libreswanTool";
import { DEV, modelOf, repoStackConfig, TEST_PSK, type RawStack } from "../tools/tools";

function labReason(root: string): string | undefined {
    const pluto = plutoUnavailableReason(root);
    if (pluto) return `pluto cannot run here: ${pluto}`;
    for (const f of [CHARON_PATH, "/usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so", "/dev/net/tun"]) {
        if (!fs.existsSync(f)) return `${f} missing (strongSwan with kernel-libipsec is the partner's gateway)`;
    }
    if (runCommand(["sh", "-c", "command -v swanctl"]).code !== 0) return "swanctl not installed";
    return undefined;
}

/** The dev stack on Libreswan, pointed at the lab's partner gateway and hosts. */
function labPartner(ike: 1 | 2, edit: (p: Record<string, unknown>) => void = () => undefined): PartnerModel {
    const raw = JSON.parse(JSON.stringify(repoStackConfig(DEV))) as RawStack;
    raw.allowDocumentationAddresses = true;
    // The host's unpacked Libreswan is Debian 12's (4.10); Debian 13's runs in the booted image.
    raw.endpoint = { ...(raw.endpoint as object), ipsecDaemon: "libreswan", os: "debian-12" };
    const p = (raw.partners as Record<string, unknown>[])[0];
    p.gatewayIp = IKE_LAB.gatewayIp;
    p.remoteHosts = [...IKE_LAB.partnerHosts];
    p.inbound = [];
    p.ike = { version: ike };
    edit(p);
    return modelOf(raw).partners[0];
}

function ourFiles(partner: PartnerModel, psk = TEST_PSK) {
    const model = modelOf({ ...repoStackConfig(DEV), allowDocumentationAddresses: true });
    return renderEndpointFiles(model, partner, { natIp: IKE_LAB.natIp, tunnelIp: IKE_LAB.tunnelIp }, psk).filter((f) => f.path.startsWith("/etc/ipsec.d/"));
}

const ESTABLISHED = {
    2: { initiator: /initiator established IKE SA; authenticated peer using authby=secret and ID_IPV4_ADDR '198\.51\.100\.2'/, responder: /responder established IKE SA; authenticated peer using authby=secret and ID_IPV4_ADDR '198\.51\.100\.2'/ },
    1: { initiator: /IKE SA established \{auth=PRESHARED_KEY cipher=AES_CBC_256 integ=HMAC_SHA2_256 group=MODP2048\}/, responder: /IKE SA established \{auth=PRESHARED_KEY cipher=AES_CBC_256 integ=HMAC_SHA2_256 group=MODP2048\}/ },
} as const;

/** The boundary of this kernel: the IPsec SA cannot be installed (or, with ESP, it is). */
const CHILD_OUTCOME = /netlink response for Add SA esp\.[0-9a-f]+@198\.51\.100\.2: Protocol not supported \(errno 93\)|established Child SA|IPsec SA established/;

for (const ike of [2, 1] as const) {
    describe(`lab: Libreswan's pluto with our rendered conns vs. a strongSwan gateway, IKEv${ike}, behind an emulated EIP NAT`, function () {
        this.timeout(180_000);
        let root = "";
        let lab: IkeLab | undefined;
        const built: string[] = [];

        before(function () {
            root = requireLibreswanForLab(this, labReason);
        });

        afterEach(() => {
            lab?.destroy();
            lab = undefined;
        });

        after(() => {
            expect(listLabNamespaces().filter((n) => built.includes(n))).to.deep.equal([]);
        });

        it("pluto initiates (auto=start): IKE completes with the PSK, from the private IP, identified as the EIP, over UDP 4500", async () => {
            const partner = labPartner(ike);
            lab = await buildIkeLab(root, ike, ourFiles(partner), { startPluto: false });
            built.push(...lab.namespaces);
            const load = await loadPartnerConf(lab.pgw, partnerSwanctlConf({ ike, ikeProposals: partner.ike.ikeProposals, espProposals: partner.ike.espProposals, psk: TEST_PSK }));
            expect(load.code, load.stderr).to.equal(0);
            await lab.ep.startPluto();
            const established = await lab.ep.waitForLog(ESTABLISHED[ike].initiator);
            expect(established, lab.ep.log).to.equal(true);
            // strongSwan saw us as the EIP (the NAT rewrote 172.16.0.5) and authenticated that identity.
            const sas = (await listPartnerSas(lab.pgw));
            expect(sas).to.match(new RegExp(`ESTABLISHED, IKEv${ike}`));
            expect(sas).to.include("remote '198.51.100.1' @ 198.51.100.1[4500]");
            expect(lab.ep.log).to.match(/"pvpn-bigcorp-203-0-113-[78]-32"/);
            expect(await lab.ep.waitForLog(CHILD_OUTCOME), lab.ep.log).to.equal(true);
            const child = CHILD_OUTCOME.exec(lab.ep.log)?.[0] ?? "";
            console.log(`      IPsec SA on this kernel: ${child.includes("errno 93") ? "not installable (no ESP in the kernel): " : ""}${child}`);
            expect(lab.ep.log).not.to.match(/warning/i);
        });

        it("the partner initiates and pluto responds: the PSK is found by the two identities (Main Mode for IKEv1)", async () => {
            const partner = labPartner(ike);
            // Loaded with --add only, so that pluto does not initiate itself.
            lab = await buildIkeLab(root, ike, ourFiles(partner).map((f) => ({ ...f, content: f.content.replace(/auto=start/g, "auto=add") })));
            built.push(...lab.namespaces);
            const load = await loadPartnerConf(lab.pgw, partnerSwanctlConf({ ike, ikeProposals: partner.ike.ikeProposals, espProposals: partner.ike.espProposals, psk: TEST_PSK }));
            expect(load.code, load.stderr).to.equal(0);
            const initiate = await runInNode(lab.pgw.node, ["swanctl", "--initiate", "--child", "h-203-0-113-7", "--timeout", "5"], { timeoutMs: 30_000 });
            expect(initiate.stdout).to.match(/IKE_SA ours\[\d+\] established between 198\.51\.100\.2\[198\.51\.100\.2\]\.\.\.198\.51\.100\.1\[198\.51\.100\.1\]/);
            expect(await lab.ep.waitForLog(ESTABLISHED[ike].responder), lab.ep.log).to.equal(true);
        });

        it("a wrong PSK on the partner's side fails authentication (negative control)", async () => {
            const partner = labPartner(ike);
            lab = await buildIkeLab(root, ike, ourFiles(partner), { startPluto: false });
            built.push(...lab.namespaces);
            await loadPartnerConf(lab.pgw, partnerSwanctlConf({ ike, ikeProposals: partner.ike.ikeProposals, espProposals: partner.ike.espProposals, psk: "pvt-not-the-agreed-key-000000" }));
            await lab.ep.startPluto();
            // IKEv2: the partner answers AUTHENTICATION_FAILED; IKEv1: its Main Mode 4 does not
            // decrypt with our key (pluto reads garbage: "malformed payload").
            const failure = ike === 2 ? /IKE SA authentication request rejected by peer: AUTHENTICATION_FAILED/ : /malformed payload in packet/;
            expect(await lab.ep.waitForLog(failure, 15_000), lab.ep.log).to.equal(true);
            expect(lab.ep.log).not.to.match(ESTABLISHED[ike].initiator);
            expect((await listPartnerSas(lab.pgw))).not.to.match(/ESTABLISHED/);
        });
    });
}

/**
 * The rendered swanctl connection and secrets files loaded into a real charon. charon runs in a
 * throwaway `pvt-` network namespace with a private mount namespace (tmpfs /run for its vici
 * socket and pid) and a lab-only strongswan.conf (kernel-libipsec, since this kernel has no ESP).
 * The files go to a scratch swanctl folder loaded with `swanctl --load-all --file`; nothing is
 * written under the host's /etc. The namespace has only `lo`, so charon's initiation attempts
 * (start_action = start) cannot leave it.
 */
import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import type { PartnerModel } from "../../core/model";
import { renderSwanctl, renderSwanctlSecrets, swanctlChildName } from "../../core/render";
import { runInNodeSync, runInNodeOkSync, destroyNode, type LabNode } from "../../lab/node";
import { startCharon, stopCharon, type Charon } from "../../lab/strongswan";
import { ADDRESSES, CHARON, describeRun, parseListConns, parseViciPretty, renderPartner, requireRoot, requireTool, type RunResult, stackVariants, startTestNode, TEST_PSK, type ViciSection, withIke } from "./tools";

/** The credential folders swanctl looks into; created empty so its output has no "failed" noise. */
const CREDENTIAL_DIRS = ["x509", "x509ca", "x509ocsp", "x509aa", "x509ac", "x509crl", "pubkey", "private", "rsa", "ecdsa", "bliss", "pkcs8", "pkcs12"];

describe("tools: strongSwan loads the rendered swanctl files", function () {
    this.timeout(120_000);
    let node: LabNode | undefined;
    let charon: Charon | undefined;
    let counter = 0;

    before(async function () {
        requireRoot(this);
        requireTool(this, "swanctl", CHARON);
        node = await startTestNode("swan");
        charon = await startCharon(node);
        // kernel-libipsec refuses a trap policy unless an address of the local TS is local (the
        // lab's quirk, see lab/README.md): put the NAT address on lo, as the lab's endpoint does.
        runInNodeOkSync(node, ["ip", "link", "set", "lo", "up"]);
        runInNodeOkSync(node, ["ip", "addr", "add", `${ADDRESSES.natIp}/32`, "dev", "lo"]);
    });

    after(async () => {
        if (charon) await stopCharon(charon);
        if (node) destroyNode(node);
    });

    /** Writes a scratch swanctl folder (swanctl.conf including conf.d/*.conf) and loads it. */
    function load(files: Record<string, string>): RunResult {
        const n = node as LabNode;
        const dir = path.join(n.dir, `swanctl-${++counter}`);
        fs.mkdirSync(path.join(dir, "conf.d"), { recursive: true });
        for (const d of CREDENTIAL_DIRS) fs.mkdirSync(path.join(dir, d));
        fs.writeFileSync(path.join(dir, "swanctl.conf"), "include conf.d/*.conf\n");
        for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, "conf.d", name), content, { mode: 0o600 });
        return runInNodeSync(n, ["swanctl", "--load-all", "--noprompt", "--file", path.join(dir, "swanctl.conf")]);
    }

    function renderedFiles(partner: PartnerModel, psk = TEST_PSK): Record<string, string> {
        return {
            [`partner-vpn-${partner.name}.conf`]: renderSwanctl(partner, ADDRESSES),
            [`partner-vpn-${partner.name}.secrets.conf`]: renderSwanctlSecrets(partner, ADDRESSES, psk),
        };
    }

    function listed(): { text: ReturnType<typeof parseListConns>; pretty: ViciSection[] } {
        const n = node as LabNode;
        return {
            text: parseListConns(runInNodeOkSync(n, ["swanctl", "--list-conns"])),
            pretty: parseViciPretty(runInNodeOkSync(n, ["swanctl", "--list-conns", "--pretty"])).filter((m) => Object.keys(m.sections).length > 0),
        };
    }

    for (const variant of stackVariants()) {
        describe(variant.name, () => {
            let partner!: PartnerModel;
            let ike!: PartnerModel["ike"];

            before(() => {
                partner = renderPartner(variant.model).partner;
                ike = partner.ike;
            });

            it("loads the connection and its secret (swanctl --load-all exits 0 and reports no failure of the config)", () => {
                const r = load(renderedFiles(partner));
                expect(r.code, describeRun(["swanctl", "--load-all"], r)).to.equal(0);
                expect(r.stdout).to.include("loaded ike secret 'ike-pvpn-bigcorp'");
                expect(r.stdout).to.include("loaded connection 'pvpn-bigcorp'");
                expect(r.stdout).to.include("successfully loaded 1 connections");
                // swanctl warns about every optional plugin that is not installed (the endpoint has
                // none of libstrongswan-extra-plugins): that is about swanctl's own plugins, not the config.
                const aboutConfig = `${r.stdout}\n${r.stderr}`.split("\n").filter((l) => !/^plugin '[a-z0-9-]+': failed to load - /.test(l));
                expect(aboutConfig.join("\n")).not.to.match(/failed|invalid|discarded/i);
            });

            it("lists pvpn-bigcorp with its IKE version and one child per partner host", () => {
                const { text } = listed();
                expect(text.map((c) => c.name)).to.deep.equal(["pvpn-bigcorp"]);
                expect(text[0].header).to.match(new RegExp(`^IKEv${ike.version},`));
                const expected = partner.remoteHosts.map((h) => ({ name: swanctlChildName("bigcorp", h), local: `${ADDRESSES.natIp}/32`, remote: h }));
                const got = text[0].children.map((c) => ({ name: c.name, local: c.local, remote: c.remote }));
                expect([...got].sort((a, b) => a.name.localeCompare(b.name))).to.deep.equal([...expected].sort((a, b) => a.name.localeCompare(b.name)));
                for (const c of text[0].children) expect(c.header).to.match(/: TUNNEL, rekeying every \d+s/);
            });

            it("installs a trap policy per child at load (start_action trap|start) and initiates at once", () => {
                load(renderedFiles(partner));
                const n = node as LabNode;
                const pols = runInNodeOkSync(n, ["swanctl", "--list-pols"]);
                for (const host of partner.remoteHosts) {
                    const child = swanctlChildName("bigcorp", host);
                    expect(pols, child).to.match(new RegExp(`^pvpn-bigcorp/${child}, TUNNEL\\n  local:  ${ADDRESSES.natIp.replace(/\./g, "\\.")}/32\\n  remote: ${host.replace(/\./g, "\\.")}\\n`, "m"));
                }
                // `start`: charon is already trying to reach the (absent) gateway; keyingtries = 0 keeps it trying.
                expect(runInNodeOkSync(n, ["swanctl", "--list-sas"])).to.match(/^pvpn-bigcorp: #\d+, CONNECTING, IKEv\d/m);
            });

            it("holds the rendered addresses, identities and lifetimes as charon parsed them", () => {
                const { pretty } = listed();
                const conn = pretty[0].sections["pvpn-bigcorp"];
                expect(conn.values.version).to.equal(`IKEv${ike.version}`);
                expect(conn.values.local_addrs).to.deep.equal([partner.privateIp]);
                expect(conn.values.remote_addrs).to.deep.equal([partner.gatewayIp]);
                expect(conn.values.rekey_time).to.equal(String(Math.floor(ike.ikeLifetime * 0.9)));
                expect(conn.values.unique).to.equal("UNIQUE_REPLACE");
                // IKEv1 DPD gives up after dpd_timeout; IKEv2 after the retransmissions (charon drop-in).
                if (ike.version === 1 && ike.dpdDelay > 0) expect(conn.values.dpd_timeout).to.equal(String(3 * ike.dpdDelay));
                else expect(conn.values.dpd_timeout ?? "0").to.equal("0");
                expect(conn.sections["local-1"].values).to.include({ id: ADDRESSES.tunnelIp, class: "pre-shared key" });
                expect(conn.sections["remote-1"].values).to.include({ id: partner.remoteId, class: "pre-shared key" });
                for (const host of partner.remoteHosts) {
                    const child = conn.sections.children.sections[swanctlChildName("bigcorp", host)];
                    expect(child.values.mode).to.equal("TUNNEL");
                    expect(child.values.rekey_time).to.equal(String(Math.floor(ike.childLifetime * 0.9)));
                    // vici names the actions: restart -> "start", clear -> "none".
                    expect(child.values.dpd_action).to.equal(ike.dpdDelay > 0 ? "start" : "none");
                    expect(child.values.close_action).to.equal("start");
                    expect(child.values["local-ts"]).to.deep.equal([`${ADDRESSES.natIp}/32`]);
                    expect(child.values["remote-ts"]).to.deep.equal([host]);
                }
            });
        });
    }

    describe("negative controls and edge cases", () => {
        let dev!: PartnerModel;

        before(function () {
            if (!node) this.skip();
            dev = stackVariants()[0].model.partners[0];
            const r = load(renderedFiles(dev));
            expect(r.code, describeRun(["swanctl", "--load-all"], r)).to.equal(0);
        });

        const broken: { title: string; partner: () => PartnerModel; field: string }[] = [
            { title: "an unknown ESP algorithm", partner: () => withIke(dev, { espProposals: ["aes256-bogus-modp2048"] }), field: "esp_proposals" },
            { title: "an unknown IKE algorithm", partner: () => withIke(dev, { ikeProposals: ["aes256-sha256-modp9999"] }), field: "proposals" },
        ];
        for (const b of broken) {
            it(`fails to load a proposal with ${b.title}, and keeps the connection loaded before`, () => {
                const before = listed().text;
                const r = load(renderedFiles(b.partner()));
                expect(r.code).not.to.equal(0);
                expect(r.stderr).to.include(`invalid value for: ${b.field}, config discarded`);
                expect(listed().text).to.deep.equal(before);
            });
        }

        it("loads secrets whose key holds quotes, braces and newlines (base64 keeps them inert)", () => {
            const r = load(renderedFiles(dev, 'q"uo}te\n secret = x\r\n{ # end'));
            expect(r.code, describeRun(["swanctl", "--load-all"], r)).to.equal(0);
            expect(r.stdout).to.include("loaded ike secret 'ike-pvpn-bigcorp'");
        });

        it("shows why the renderer refuses an empty proposal list: charon silently takes its defaults", () => {
            const text = renderSwanctl(dev, ADDRESSES).replace("proposals = aes256-sha256-modp2048", "proposals = ");
            expect(text).to.match(/\n {8}proposals = \n/);
            const r = load({ "partner-vpn-bigcorp.conf": text });
            expect(r.code, describeRun(["swanctl", "--load-all"], r)).to.equal(0);
            expect(r.stdout).to.include("loaded connection 'pvpn-bigcorp'");
        });

        it("shows why pvpn_swanctl_load asks charon what it holds: a syntax error exits 0 and UNLOADS the connection", () => {
            expect(load(renderedFiles(dev)).code).to.equal(0);
            expect(listed().text.map((c) => c.name)).to.deep.equal(["pvpn-bigcorp"]);
            const text = renderSwanctl(dev, ADDRESSES).replace("        encap = yes\n", "        encap = yes\n        this is not a setting\n");
            const r = load({ "partner-vpn-bigcorp.conf": text });
            expect(r.code, describeRun(["swanctl", "--load-all"], r)).to.equal(0);
            expect(r.stderr).to.include("syntax error");
            expect(r.stderr).to.include("invalid config file");
            expect(r.stdout).to.include("no connections found, 1 unloaded");
            expect(listed().text).to.deep.equal([]);
            // Only what charon lists tells (lib.sh pvpn_swanctl_load -> charon.sh pvpn_charon_verify_loaded,
            // proven in charonChecks.test.ts): the exit code is 0 and the connection is gone.
            expect(load(renderedFiles(dev)).code).to.equal(0);
        });

        it("notes that swanctl's parser tolerates a missing final brace (so the unit tests check balance)", () => {
            const text = renderSwanctl(dev, ADDRESSES).replace(/\n}\n$/, "\n");
            const r = load({ "partner-vpn-bigcorp.conf": text });
            expect(r.code, describeRun(["swanctl", "--load-all"], r)).to.equal(0);
        });
    });
});

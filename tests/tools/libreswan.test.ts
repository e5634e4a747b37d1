/**
 * The Libreswan backend against Libreswan itself (the package as Debian ships it, unpacked, never
 * installed: see libreswanTool.ts):
 * - its config parser (`addconn --checkconfig`) on every rendered config, which must produce no
 *   output at all (no warning about an obsolete keyword), and its algorithm parser (`algparse`) on
 *   every translated proposal, which must expand to exactly the algorithms the partner agreed;
 * - its IKE daemon pluto, run in a throwaway pvk- node (lab/libreswan.ts) with the bootstrap's
 *   /etc/ipsec.conf, executing the rendered apply, boot and remove scripts: which conns they load,
 *   replace and delete (pluto's conn serials show a conn was left alone), the values pluto holds,
 *   validate-before-switch and rollback. The node has only `lo`: pluto's attempts to reach the
 *   partner cannot leave it. IKE with a real peer is tests/lab/libreswan.test.ts.
 */
import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import type { PartnerModel, RenderedFile, StackModel } from "../../core/model";
import {
    endpointPaths, libreswanAlgorithms, libreswanConnName, removeCommand, renderApplyScript, renderBootHelper, renderRemoveHelper,
} from "../../core/render";
import { BOOT_SCRIPT, REMOVE_SCRIPT } from "../../core/render/paths";
import { runSyncResult as runCommand } from "../../lab/exec";
import { addconnCheck, algparse, bootstrapIpsecConf, Pluto, plutoUnavailableReason } from "../../lab/libreswan";
import { readNodeFileSync, runInNodeOkSync, runInNodeSync } from "../../lab/node";
import { PROPOSAL_CASES } from "../fixtures/libreswanProposals";
import { requireLibreswan } from "./libreswanTool";
import {
    chainRules, classicTcpRaw, createTestNetns, DEV, DEV_CLASSIC, describeRun, editFirstPartner, inboundPortsRaw, listTestNamespaces, modelOf, normalizeSave, repoStackConfig, removeScratch,
    renderPartner, requireRoot, requireTool, scratchDir, skipOrFail, TEST_PSK, withIke, withPartner, type RawStack, type RenderedPartner, type RunResult,
} from "./tools";

/** A Libreswan endpoint on Debian 12: the host's unpacked package is Debian 12's Libreswan 4.10
 *  (Debian 13's Libreswan 5 runs in the lab's booted image: tests/lab/labChecks.test.ts). */
function libreswan(raw: RawStack): RawStack {
    const copy = JSON.parse(JSON.stringify(raw)) as RawStack;
    copy.endpoint = { ...(copy.endpoint as object), ipsecDaemon: "libreswan", os: "debian-12" };
    return copy;
}

/** Both dev stacks switched to Libreswan, IKEv1 and IKEv2 variants, several proposals each. */
function libreswanVariants(): { name: string; model: StackModel }[] {
    const variants: { name: string; raw: RawStack }[] = [
        { name: "dev", raw: repoStackConfig(DEV) },
        { name: "dev-classic", raw: repoStackConfig(DEV_CLASSIC) },
        { name: "classic-tcp", raw: classicTcpRaw() },
        { name: "inbound-ports", raw: inboundPortsRaw() },
        {
            name: "ikev1-legacy", raw: editFirstPartner(repoStackConfig(DEV), (p) => {
                p.ike = { version: 1, ikeProposals: ["aes256-sha256-modp2048", "aes256-sha1-modp1536", "3des-sha1-modp1536"], espProposals: ["aes256-sha1-modp1536", "3des-md5-modp1536"], ikeLifetime: 86400, childLifetime: 28800, dpdDelay: 10, allowWeakAlgorithms: true };
            }),
        },
        {
            name: "ikev1-no-pfs", raw: editFirstPartner(repoStackConfig(DEV_CLASSIC), (p) => {
                p.ike = { version: 1, ikeProposals: ["aes128-sha256-ecp256", "aes256-aes128-sha384-sha256-modp2048"], espProposals: ["aes256-sha256", "aes128gcm16", "aes256-aes128-sha1"], dpdDelay: 0, allowWeakAlgorithms: true };
            }),
        },
        {
            name: "ikev2-aead-fqdn", raw: editFirstPartner(repoStackConfig(DEV), (p) => {
                p.remoteId = "vpn.bigcorp.example.com";
                p.ike = { version: 2, ikeProposals: ["aes256gcm16-prfsha384-ecp384", "aes256-sha512-modp4096", "chacha20poly1305-prfsha256-curve25519"], espProposals: ["aes256gcm16-ecp384", "aes128-sha256-ecp384-ecp256", "chacha20poly1305-ecp384"], ikeLifetime: 3600, childLifetime: 1200, dpdDelay: 300 };
            }),
        },
        {
            name: "ikev2-combined", raw: editFirstPartner(repoStackConfig(DEV), (p) => {
                p.remoteId = "ops@bigcorp.example.com";
                p.ike = { version: 2, ikeProposals: ["aes256-aes128-sha512-sha256-ecp256-modp2048"], espProposals: ["aes256gcm16-aes128gcm16", "aes256-sha384"] };
            }),
        },
    ];
    return variants.map((v) => ({ name: v.name, model: modelOf(libreswan(v.raw)) }));
}

function outputOf(r: RunResult): string {
    return `${r.stdout}${r.stderr}`;
}

/** algparse's expansion of one value: its result lines, without the echoed command. */
function expansion(r: RunResult): string[] {
    return r.stdout.split("\n").filter((l) => l.startsWith("\t")).map((l) => l.trim());
}

describe("tools: Libreswan's own parsers accept the rendered config", function () {
    this.timeout(300_000);
    let root = "";
    let dir = "";

    before(function () {
        root = requireLibreswan(this);
        dir = scratchDir("libreswan-parse");
    });

    after(() => {
        if (dir) removeScratch(dir);
    });

    it("the package's ipsec.conf includes /etc/ipsec.d/*.conf and its ipsec.secrets /etc/ipsec.d/*.secrets", () => {
        expect(fs.readFileSync(path.join(root, "etc", "ipsec.conf"), "utf8")).to.match(/^include \/etc\/ipsec\.d\/\*\.conf$/m);
        expect(fs.readFileSync(path.join(root, "etc", "ipsec.secrets"), "utf8")).to.match(/^include \/etc\/ipsec\.d\/\*\.secrets$/m);
    });

    it("negative controls: addconn warns about the seed's forceencaps and rejects keyexchange=ikev2 (Libreswan 4), algparse rejects modp1024", () => {
        const seed = path.join(dir, "seed.conf");
        fs.writeFileSync(seed, "conn vpn_tunnel\n\ttype=tunnel\n\tauthby=secret\n\tforceencaps=yes\n\tauto=start\n\tleft=%defaultroute\n\tleftid=198.51.100.1\n\tleftsubnet=192.0.2.23/32\n\tright=203.0.113.72\n\trightid=203.0.113.72\n\trightsubnet=203.0.113.7/32\n");
        const warned = addconnCheck(root, seed);
        expect(warned.code).to.equal(0);
        expect(outputOf(warned)).to.include("obsolete keyword 'forceencaps'");
        const v5 = path.join(dir, "v5.conf");
        fs.writeFileSync(v5, "conn x\n\tleft=192.0.2.1\n\tright=192.0.2.2\n\tkeyexchange=ikev2\n");
        const rejected = addconnCheck(root, v5);
        expect(rejected.code, outputOf(rejected)).not.to.equal(0);
        expect(outputOf(rejected)).to.include("keyexchange");
        const dh2 = algparse(root, "ike", "aes256-sha1;modp1024", 1, false);
        expect(dh2.code).not.to.equal(0);
        expect(outputOf(dh2)).to.include("'modp1024' is not supported");
        const qm = algparse(root, "esp", "aes256-sha1;dh19", 1, true);
        expect(outputOf(qm)).to.include("is not supported by IKEv1");
        const ke = algparse(root, "esp", "aes256-sha2_256;modp2048,aes128-sha2_256;modp3072", 2, true);
        expect(ke.code).not.to.equal(0);
        expect(outputOf(ke)).to.include("more than one IKEv2 ESP DH algorithm");
    });

    for (const c of PROPOSAL_CASES) {
        it(`algparse -v${c.version}${c.pfs && c.kind === "esp" ? " -pfs" : ""} ${c.kind}=${c.libreswan} means ${c.canonical.join(", ")}`, () => {
            const r = algparse(root, c.kind, c.libreswan, c.version, c.kind === "esp" && c.pfs);
            expect(r.code, describeRun(["algparse"], r)).to.equal(0);
            expect(expansion(r)).to.deep.equal(c.canonical);
            expect(outputOf(r)).not.to.match(/ERROR|ignoring/);
        });
    }

    for (const variant of libreswanVariants()) {
        describe(variant.name, () => {
            const partner = (): PartnerModel => variant.model.partners[0];
            const conf = (): RenderedFile => renderPartner(variant.model).file(".conf");

            it("addconn --checkconfig accepts the conns and prints nothing (no warning, no obsolete keyword)", () => {
                const file = path.join(dir, `${variant.name}.conf`);
                fs.writeFileSync(file, conf().content);
                const r = addconnCheck(root, file);
                expect(r.code, describeRun(["addconn", "--checkconfig"], r)).to.equal(0);
                expect(outputOf(r)).to.equal("");
            });

            it("Libreswan reads one conn per partner host", () => {
                const file = path.join(dir, `${variant.name}-list.conf`);
                fs.writeFileSync(file, conf().content);
                const r = runCommand([path.join(root, "usr", "libexec", "ipsec", "addconn"), "--config", file, "--listall"]);
                expect(r.stdout.trim().split(/\s+/)).to.deep.equal(partner().remoteHosts.map((h) => libreswanConnName("bigcorp", h)));
            });

            it("with the bootstrap's /etc/ipsec.conf around it, the whole config parses without a word", () => {
                const sub = path.join(dir, `${variant.name}-d`);
                fs.mkdirSync(sub, { recursive: true });
                fs.writeFileSync(path.join(sub, "partner-vpn-bigcorp.conf"), conf().content);
                const main = path.join(dir, `${variant.name}-ipsec.conf`);
                fs.writeFileSync(main, bootstrapIpsecConf(partner().ike.version).replace("/etc/ipsec.d/*.conf", `${sub}/*.conf`));
                const r = addconnCheck(root, main);
                expect(r.code, describeRun(["addconn", "--checkconfig"], r)).to.equal(0);
                expect(outputOf(r)).to.equal("");
            });

            it("algparse reads ike= and esp= without an error or an ignored algorithm", () => {
                const a = libreswanAlgorithms(partner());
                for (const [kind, value] of [["ike", a.ike], ["esp", a.esp]] as const) {
                    const r = algparse(root, kind, value, partner().ike.version, kind === "esp" && a.pfs);
                    expect(r.code, describeRun(["algparse", kind, value], r)).to.equal(0);
                    expect(outputOf(r), `${kind}=${value}`).not.to.match(/ERROR|ignoring/);
                    expect(expansion(r).length, `${kind}=${value}`).to.be.greaterThan(0);
                }
            });
        });
    }
});

describe("tools: shellcheck on the Libreswan scripts, as written and as rendered", function () {
    this.timeout(120_000);
    let dir = "";

    before(function () {
        requireTool(this, "shellcheck");
        dir = scratchDir("libreswan-shellcheck");
    });

    after(() => {
        if (dir) removeScratch(dir);
    });

    const scripts: { name: string; content: () => string }[] = [
        { name: "libreswan.sh", content: () => fs.readFileSync(path.join(__dirname, "..", "..", "scripts", "endpoint", "libreswan.sh"), "utf8") },
        { name: "partner-vpn-boot (Libreswan)", content: () => renderBootHelper("libreswan") },
        { name: "partner-vpn-remove (Libreswan)", content: () => renderRemoveHelper("libreswan") },
        ...libreswanVariants().map((v) => ({ name: `apply ${v.name} (Libreswan)`, content: () => renderPartner(v.model).apply })),
        { name: "apply dev with a hostile PSK (Libreswan)", content: () => renderPartner(libreswanVariants()[0].model, undefined, "a'b\"c\n$(reboot)`x`").apply },
    ];
    for (const script of scripts) {
        it(`${script.name} is clean (shellcheck, bash -n)`, () => {
            const file = path.join(dir, `${script.name.replace(/[^a-z0-9.-]+/gi, "_")}.sh`);
            fs.writeFileSync(file, script.content(), { mode: 0o600 });
            const sc = runCommand(["shellcheck", "--shell=bash", "--severity=style", "--format=gcc", file]);
            expect(sc.code, describeRun(["shellcheck", file], sc)).to.equal(0);
            const n = runCommand(["bash", "-n", file]);
            expect(n.code, describeRun(["bash", "-n", file], n)).to.equal(0);
        });
    }
});

// ---------------------------------------------------------------------------------------------
// pluto running the rendered scripts
// ---------------------------------------------------------------------------------------------

function rootModel(model: StackModel): StackModel {
    return { ...model, endpoint: { ...model.endpoint, sshUser: "root" } };
}

const CONF = endpointPaths("bigcorp").libreswanConf;
const SECRETS = endpointPaths("bigcorp").libreswanSecrets;

function apply(ep: Pluto, script: string): RunResult {
    return runInNodeSync(ep.node, ["bash", "-s"], { input: script, timeoutMs: 120_000 });
}

function applyOk(ep: Pluto, r: RenderedPartner): RunResult {
    const result = apply(ep, r.apply);
    expect(result.code, describeRun(["bash", "-s", "<apply"], result)).to.equal(0);
    expect(result.stderr).to.include(`bigcorp: applied generation ${r.generation}`);
    return result;
}

/** An apply script for files changed by `edit` (bypassing the renderers, e.g. to break one file). */
function applyWith(r: RenderedPartner, edit: (f: RenderedFile) => RenderedFile, generation = "0badc0de0badc0de"): string {
    return renderApplyScript(r.partner, r.files.map(edit), generation);
}

function serials(ep: Pluto): Record<string, string | undefined> {
    return Object.fromEntries(ep.conns().map((c) => [c, ep.connSerial(c)]));
}

function expectedConns(p: PartnerModel): string[] {
    return p.remoteHosts.map((h) => libreswanConnName("bigcorp", h)).sort();
}

function files(ep: Pluto): Record<string, string> {
    const out: Record<string, string> = {};
    for (const f of [CONF, SECRETS, endpointPaths("bigcorp").natRules, BOOT_SCRIPT, REMOVE_SCRIPT, "/etc/partner-vpn/bigcorp/generation"]) {
        const r = runInNodeSync(ep.node, ["sh", "-c", 'stat -c "%a %U:%G" "$1" && sha256sum <"$1"', "sh", f]);
        out[f] = r.code === 0 ? r.stdout.replace(/\s+-?\s*$/, "").replace(/\n/g, " ") : "absent";
    }
    return out;
}

/** How often pluto has read our secrets file, once its output so far has arrived. */
async function secretsLoads(ep: Pluto): Promise<number> {
    await settle();
    return ep.log.split(`loading secrets from "${SECRETS}"`).length - 1;
}

/** pluto's log arrives through the event loop, which synchronous commands hold up: let it catch up. */
function settle(ms = 500): Promise<void> {
    return new Promise((r) => setTimeout(r, ms));
}

function requirePluto(ctx: Mocha.Context, root: string): void {
    requireRoot(ctx);
    requireTool(ctx, "bash", "iptables", "iptables-restore", "iptables-save", "flock", "base64", "install", "cmp", "sha256sum", "awk");
    const why = plutoUnavailableReason(root);
    if (why) skipOrFail(ctx, `pluto cannot run here: ${why}`);
}

describe("tools: pluto runs the rendered Libreswan apply, boot and remove scripts", function () {
    this.timeout(300_000);
    let root = "";

    before(function () {
        root = requireLibreswan(this);
        requirePluto(this, root);
    });

    after(() => {
        expect(listTestNamespaces()).to.deep.equal([]);
    });

    describe("IKEv2 (dev stack on Libreswan)", () => {
        let ep: Pluto | undefined;
        let model!: StackModel;
        let base!: RenderedPartner;
        const node = (): Pluto => ep as Pluto;

        before(async () => {
            model = rootModel(modelOf(libreswan(repoStackConfig(DEV))));
            base = renderPartner(model);
            ep = await Pluto.start(createTestNetns("lsw-apply"), root, { ike: 2, loAddresses: ["172.16.0.5/32"], tmpfs: ["/usr/local/sbin"] });
        });

        after(() => ep?.destroy());

        it("starts from an endpoint as the bootstrap leaves it: pluto up, IKEv1 dropped, no conn", () => {
            expect(readNodeFileSync(node().node, "/etc/ipsec.conf")).to.include("ikev1-policy=drop");
            expect(node().conns()).to.deep.equal([]);
            expect(runInNodeSync(node().node, ["ls", "/etc/ipsec.d/"]).stdout).not.to.include("partner-vpn");
        });

        it("a failing FIRST apply (a proposal pluto refuses) leaves nothing installed or loaded", () => {
            const bad = applyWith(base, (f) => (f.path === CONF ? { ...f, content: f.content.replace(/ike=aes256-sha2_256;modp2048/g, "ike=aes256-sha2_256;modp1024") } : f));
            const r = apply(node(), bad);
            expect(r.code).not.to.equal(0);
            expect(r.stderr).to.include("bigcorp: Libreswan rejected the new config; nothing was installed before, and what this apply installed was removed");
            for (const f of [CONF, SECRETS, "/etc/partner-vpn/bigcorp/generation", "/etc/partner-vpn/bigcorp/previous"]) expect(runInNodeSync(node().node, ["test", "-e", f]).code, f).not.to.equal(0);
            expect(node().conns()).to.deep.equal([]);
        });

        it("first apply installs the files (secrets 0600), loads one conn per host and records them", () => {
            const r = applyOk(node(), base);
            for (const f of base.files) {
                expect(runInNodeOkSync(node().node, ["stat", "-c", "%a %U %G", f.path]).trim(), f.path).to.equal(`${f.mode.replace(/^0/, "")} root root`);
                expect(readNodeFileSync(node().node, f.path), f.path).to.equal(f.content);
            }
            expect(node().conns()).to.deep.equal(expectedConns(base.partner));
            expect(runInNodeOkSync(node().node, ["ls", "/etc/partner-vpn/bigcorp/libreswan"]).trim().split("\n").sort()).to.deep.equal(expectedConns(base.partner));
            for (const c of expectedConns(base.partner)) expect(r.stderr).to.include(`bigcorp: loaded conn ${c} (add)`);
            expect(outputOf(r)).not.to.match(/warning/i);
        });

        it("pluto holds the rendered values: addresses, ids, selectors, algorithms, lifetimes, DPD, NAT-T", async () => {
            await settle();
            const s = node().connStatus("pvpn-bigcorp-110-220-10-7-32").join("\n");
            expect(s).to.include("192.0.2.23/32===172.16.0.5[198.51.100.1]...110.220.9.72===110.220.10.7/32");
            expect(s).to.include("our idtype: ID_IPV4_ADDR; our id=198.51.100.1; their idtype: ID_IPV4_ADDR; their id=110.220.9.72");
            expect(s).to.match(/policy: IKEv2\+PSK\+ENCRYPT\+TUNNEL\+PFS\+UP\+/);
            expect(s).to.include("IKE algorithms: AES_CBC_256-HMAC_SHA2_256-MODP2048");
            expect(s).to.include("ESP algorithms: AES_CBC_256-HMAC_SHA2_256_128-MODP2048");
            expect(s).to.match(/ike_life: 28800s; ipsec_life: 3600s; .*rekey_margin: 360s; rekey_fuzz: 100%; keyingtries: 0;/);
            expect(s).to.include("liveness: active; dpdaction:restart; dpddelay:30s");
            expect(s).to.include("nat-traversal: encaps:yes");
            expect(node().log).not.to.match(/warning/i);
        });

        it("installs the NAT chains and their jumps, exactly as for strongSwan partners", () => {
            const save = normalizeSave(runInNodeOkSync(node().node, ["iptables-save", "-t", "nat"]));
            expect(chainRules(save, "POSTROUTING")).to.deep.equal(["-A POSTROUTING -j PVPN-bigcorp-POST"]);
            const payload = base.file("/nat.rules").content.split("\n");
            expect(chainRules(save, "PVPN-bigcorp-POST")).to.deep.equal(payload.filter((l) => l.startsWith("-A PVPN-bigcorp-POST ")));
        });

        it("a second run prints 'unchanged' and reloads no conn (same serials)", () => {
            const before = serials(node());
            const r = apply(node(), base.apply);
            expect(r.code, describeRun(["bash", "-s"], r)).to.equal(0);
            expect(r.stderr).to.include(`bigcorp: unchanged (generation ${base.generation})`);
            expect(serials(node())).to.deep.equal(before);
        });

        it("adding a host adds only its conn; the others keep their serial", () => {
            const before = serials(node());
            const more = renderPartner(model, withPartner(base.partner, { remoteHosts: [...base.partner.remoteHosts, "110.220.10.200/32"] }));
            const r = applyOk(node(), more);
            const after = serials(node());
            expect(Object.keys(after).sort()).to.deep.equal(expectedConns(more.partner));
            for (const c of Object.keys(before)) expect(after[c], c).to.equal(before[c]);
            expect(r.stderr).to.include("bigcorp: loaded conn pvpn-bigcorp-110-220-10-200-32 (add)");
            expect(r.stderr).not.to.include("(replace)");
        });

        it("removing a host deletes only its conn", () => {
            const before = serials(node());
            const fewer = renderPartner(model, withPartner(base.partner, { remoteHosts: ["110.220.10.135/32", "110.220.10.200/32"] }));
            const r = applyOk(node(), fewer);
            const after = serials(node());
            expect(Object.keys(after).sort()).to.deep.equal(expectedConns(fewer.partner));
            for (const c of Object.keys(after)) expect(after[c], c).to.equal(before[c]);
            expect(r.stderr).to.include("bigcorp: deleted conn pvpn-bigcorp-110-220-10-7-32");
            expect(runInNodeSync(node().node, ["test", "-e", "/etc/partner-vpn/bigcorp/libreswan/pvpn-bigcorp-110-220-10-7-32"]).code).not.to.equal(0);
        });

        it("going back to the stack's hosts re-adds the removed conn and deletes the extra one", () => {
            applyOk(node(), base);
            expect(node().conns()).to.deep.equal(expectedConns(base.partner));
        });

        it("a PSK rotation re-reads the secrets and reloads no conn", async () => {
            const before = serials(node());
            const loads = await secretsLoads(node());
            const rotated = renderPartner(model, base.partner, "pvt-rotated-key-Zq8wR2nX5vL0cT7y");
            const r = applyOk(node(), rotated);
            expect(r.stderr).to.include("(changed: libreswan-secrets)");
            expect(serials(node())).to.deep.equal(before);
            expect(await secretsLoads(node())).to.be.greaterThan(loads);
            expect(readNodeFileSync(node().node, SECRETS)).to.include(Buffer.from("pvt-rotated-key-Zq8wR2nX5vL0cT7y").toString("base64"));
            applyOk(node(), base);
        });

        it("a proposal change replaces every conn, and pluto holds the new algorithms", () => {
            const before = serials(node());
            const changed = renderPartner(model, withIke(base.partner, { ikeProposals: ["aes128gcm16-prfsha256-ecp256"], espProposals: ["aes128gcm16-ecp256"] }));
            const r = applyOk(node(), changed);
            const after = serials(node());
            for (const c of Object.keys(before)) {
                expect(after[c], c).not.to.equal(before[c]);
                expect(r.stderr).to.include(`bigcorp: loaded conn ${c} (replace)`);
            }
            const s = node().connStatus("pvpn-bigcorp-110-220-10-135-32").join("\n");
            expect(s).to.include("IKE algorithms: AES_GCM_16_128-HMAC_SHA2_256-DH19");
            expect(s).to.include("ESP algorithms: AES_GCM_16_128-NONE-DH19");
            applyOk(node(), base);
        });

        it("rollback: a conn pluto refuses after the switch began restores the previous files and conns", () => {
            const filesBefore = files(node());
            const statusBefore = expectedConns(base.partner).map((c) => node().connStatus(c).filter((l) => !/serial|newest|eroute/.test(l)).join("\n"));
            // The first conn changes validly and is replaced; the second then fails to load.
            const script = applyWith(base, (f) => {
                if (f.path !== CONF) return f;
                const [head, second] = f.content.split("\nconn pvpn-bigcorp-110-220-10-135-32\n");
                return { ...f, content: `${head.replace("salifetime=3600s", "salifetime=3000s")}\nconn pvpn-bigcorp-110-220-10-135-32\n${second.replace("ike=aes256-sha2_256;modp2048", "ike=aes256-sha2_256;modp1024")}` };
            });
            const r = apply(node(), script);
            expect(r.code).not.to.equal(0);
            expect(r.stderr).to.include("bigcorp: loaded conn pvpn-bigcorp-110-220-10-7-32 (replace)");
            expect(r.stderr).to.include("bigcorp: Libreswan did not load conn pvpn-bigcorp-110-220-10-135-32");
            expect(r.stderr).to.include("bigcorp: Libreswan rejected the new config; the previous config was restored and keeps serving");
            expect(files(node())).to.deep.equal(filesBefore);
            expect(node().conns()).to.deep.equal(expectedConns(base.partner));
            const statusAfter = expectedConns(base.partner).map((c) => node().connStatus(c).filter((l) => !/serial|newest|eroute/.test(l)).join("\n"));
            expect(statusAfter).to.deep.equal(statusBefore);
            expect(runInNodeSync(node().node, ["test", "-e", "/etc/partner-vpn/bigcorp/previous"]).code).not.to.equal(0);
            // And the next regular apply finds everything in place.
            const again = apply(node(), base.apply);
            expect(again.stderr).to.include("unchanged");
        });

        const refusedBeforeSwitch: { title: string; edit: (f: RenderedFile) => RenderedFile; message: string }[] = [
            {
                title: "an obsolete keyword (the seed's forceencaps): addconn warns",
                edit: (f) => (f.path === CONF ? { ...f, content: f.content.replace(/\tencapsulation=yes/g, "\tforceencaps=yes") } : f),
                message: "Libreswan's parser rejected (or warned about) /etc/ipsec.d/partner-vpn-bigcorp.conf; nothing was changed",
            },
            {
                title: "an unknown keyword",
                edit: (f) => (f.path === CONF ? { ...f, content: f.content.replace("\tauto=start", "\tauto=start\n\tbogus=1") } : f),
                message: "Libreswan's parser rejected (or warned about)",
            },
            {
                title: "IKEv1 conns while pluto drops IKEv1 (the bootstrap ran for IKEv2)",
                edit: (f) => (f.path === CONF ? { ...f, content: f.content.replace(/ikev2=yes/g, "ikev2=no") } : f),
                message: "has IKEv1 conns but /etc/ipsec.conf does not accept IKEv1",
            },
            {
                title: "a secrets file not in the expected form (and not shown)",
                edit: (f) => (f.path === SECRETS ? { ...f, content: `${f.content}%any %any : PSK "pvt-leak-me"\n` } : f),
                message: "is not in the expected ipsec.secrets form (not shown: it holds the key); nothing was changed",
            },
        ];
        for (const c of refusedBeforeSwitch) {
            it(`validate before switching: refuses ${c.title}, and nothing changes`, () => {
                const filesBefore = files(node());
                const serialsBefore = serials(node());
                const r = apply(node(), applyWith(base, c.edit));
                expect(r.code).not.to.equal(0);
                expect(r.stderr).to.include(c.message);
                expect(outputOf(r)).not.to.include("pvt-leak-me");
                expect(outputOf(r)).not.to.include(Buffer.from(TEST_PSK).toString("base64"));
                expect(files(node())).to.deep.equal(filesBefore);
                expect(serials(node())).to.deep.equal(serialsBefore);
            });
        }

        it("boot: after a restart of pluto and a flushed NAT table, partner-vpn-boot restores NAT and every conn", async () => {
            await node().stopPluto();
            runInNodeOkSync(node().node, ["sh", "-c", "iptables -w -t nat -F && iptables -w -t nat -X"]);
            await node().startPluto();
            // pluto loads auto=start conns from /etc/ipsec.conf itself; lose one to see boot put it back.
            expect(node().conns()).to.deep.equal(expectedConns(base.partner));
            runInNodeOkSync(node().node, ["ipsec", "auto", "--delete", "pvpn-bigcorp-110-220-10-7-32"]);
            const kept = node().connSerial("pvpn-bigcorp-110-220-10-135-32");
            const r = runInNodeSync(node().node, [BOOT_SCRIPT], { timeoutMs: 90_000 });
            expect(r.code, describeRun([BOOT_SCRIPT], r)).to.equal(0);
            expect(r.stderr).to.include("bigcorp: NAT rules restored");
            expect(r.stderr).to.include("bigcorp: loaded conn pvpn-bigcorp-110-220-10-7-32 (add)");
            expect(node().conns()).to.deep.equal(expectedConns(base.partner));
            expect(node().connSerial("pvpn-bigcorp-110-220-10-135-32")).to.equal(kept);
            expect(chainRules(normalizeSave(runInNodeOkSync(node().node, ["iptables-save", "-t", "nat"])), "PREROUTING")).to.deep.equal(["-A PREROUTING -j PVPN-bigcorp-PRE"]);
        });

        it("remove with a stale generation removes nothing; with the applied one it removes files, conns, PSK, NAT and state", async () => {
            const stale = runInNodeSync(node().node, ["bash", "-c", removeCommand(model, "bigcorp", "0badc0de0badc0de")]);
            expect(stale.code).to.equal(0);
            expect(stale.stderr).to.include("nothing removed");
            expect(node().conns()).to.deep.equal(expectedConns(base.partner));
            const loads = await secretsLoads(node());
            const r = runInNodeSync(node().node, ["bash", "-c", removeCommand(model, "bigcorp", base.generation)], { timeoutMs: 90_000 });
            expect(r.code, describeRun(["remove"], r)).to.equal(0);
            expect(r.stderr).to.include("bigcorp: removed");
            expect(node().conns()).to.deep.equal([]);
            for (const f of [CONF, SECRETS, "/etc/partner-vpn/bigcorp"]) expect(runInNodeSync(node().node, ["test", "-e", f]).code, f).not.to.equal(0);
            expect(normalizeSave(runInNodeOkSync(node().node, ["iptables-save", "-t", "nat"]))).not.to.include("PVPN-");
            // pluto re-read its secrets without our file: the PSK is forgotten.
            expect(await secretsLoads(node())).to.equal(loads);
            expect(node().log.lastIndexOf("forgetting secrets")).to.be.greaterThan(-1);
            expect(node().log.slice(node().log.lastIndexOf("forgetting secrets"))).to.include('loading secrets from "/etc/ipsec.secrets"');
        });
    });

    describe("IKEv1 (pluto accepting IKEv1, as the bootstrap configures it for an ikev1 partner)", () => {
        let ep: Pluto | undefined;
        let r1!: RenderedPartner;

        before(async () => {
            const model = rootModel(modelOf(libreswan(editFirstPartner(repoStackConfig(DEV), (p) => {
                p.ike = { version: 1, ikeProposals: ["aes256-sha1-modp1536"], espProposals: ["aes256-sha1-modp1536"], dpdDelay: 30, allowWeakAlgorithms: true };
            }))));
            // A hostile PSK: quotes, a newline and what looks like another entry must stay inert.
            r1 = renderPartner(model, model.partners[0], 'pvt"key\n%any %any : PSK "x" # $(reboot)');
            ep = await Pluto.start(createTestNetns("lsw-ikev1"), root, { ike: 1, loAddresses: ["172.16.0.5/32"], tmpfs: ["/usr/local/sbin"] });
        });

        after(() => ep?.destroy());

        it("loads IKEv1 conns with PFS and IKEv1 DPD (delay and timeout), and reads the hostile PSK without an error", async () => {
            const r = applyOk(ep as Pluto, r1);
            expect(outputOf(r)).not.to.match(/warning|ERROR/i);
            expect((ep as Pluto).conns()).to.deep.equal(expectedConns(r1.partner));
            const s = (ep as Pluto).connStatus("pvpn-bigcorp-110-220-10-7-32").join("\n");
            expect(s).to.match(/policy: IKEv1\+PSK\+ENCRYPT\+TUNNEL\+PFS\+UP\+/);
            expect(s).to.include("IKE algorithms: AES_CBC_256-HMAC_SHA1-MODP1536");
            expect(s).to.include("ESP algorithms: AES_CBC_256-HMAC_SHA1_96-MODP1536");
            expect(s).to.include("dpd: active; action:restart; delay:30s; timeout:90s");
            await settle();
            expect((ep as Pluto).log).to.include(`loading secrets from "${SECRETS}"`);
            expect((ep as Pluto).log).not.to.match(/ERROR "\/etc\/ipsec\.d/);
        });
    });
});

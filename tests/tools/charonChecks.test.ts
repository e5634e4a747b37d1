/**
 * The endpoint's charon checks (scripts/endpoint/charon.sh) against a real charon: the algorithm
 * names core/charonAlgorithms.ts emits are the ones `swanctl --list-algs` prints; an apply whose
 * proposals need an algorithm the loaded plugins lack is refused before anything is switched, with
 * the partner, the proposal and the missing algorithm named; plugin warnings from swanctl are not
 * failures; a connection charon does not hold after the load is.
 */
import { expect } from "chai";
import { ALL_CHARON_ALGORITHMS } from "../../core/charonAlgorithms";
import { endpointPaths } from "../../core/render";
import { runInNodeSync, runInNodeOkSync, bashInNodeSync, writeNodeFileSync, existsInNodeSync, destroyNode, type LabNode } from "../../lab/node";
import { startCharon, stopCharon, type Charon } from "../../lab/strongswan";
import { CHARON, describeRun, DEV, modelOf, type RenderedPartner, renderPartner, repoStackConfig, requireRoot, requireTool, startTestNode, type TestNodeOptions, withIke } from "./tools";

function nodeOptions(): TestNodeOptions {
    return {
        distroSwanctl: true,
        tmpfs: ["/etc/partner-vpn", "/usr/local/sbin"],
        loAddresses: ["172.16.0.5/32"],
    };
}

/** The charon.sh functions, as the rendered scripts carry them, followed by `call`. */
function withCharonFunctions(r: RenderedPartner, call: string): string {
    const start = r.apply.indexOf("pvpn_charon_say() {");
    const end = r.apply.indexOf("\npvpn_apply() {");
    expect(start, "the apply script carries charon.sh").to.be.greaterThan(0);
    return `set -euo pipefail\n${r.apply.slice(start, end)}\n${call}\n`;
}

const GCM_ECP = { ikeProposals: ["aes256gcm16-prfsha256-ecp256"], espProposals: ["aes256gcm16-ecp256"] };

describe("tools: charon.sh's checks against a real charon", function () {
    this.timeout(120_000);
    let node: LabNode | undefined;
    let charon: Charon | undefined;

    before(function () {
        requireRoot(this);
        requireTool(this, "bash", "swanctl", CHARON, "iptables-restore", "flock", "base64");
    });

    afterEach(async () => {
        if (charon) await stopCharon(charon);
        if (node) destroyNode(node);
        node = undefined;
    });

    it("every algorithm name a proposal can need is one charon lists with the endpoint's plugin packages", async () => {
        node = await startTestNode("charon-algs", nodeOptions());
        charon = await startCharon(node);
        const r = renderPartner(modelOf(repoStackConfig(DEV)));
        const listed = bashInNodeSync(node, withCharonFunctions(r, "pvpn_charon_algorithms"));
        expect(listed.code, describeRun(["pvpn_charon_algorithms"], listed)).to.equal(0);
        const names = listed.stdout.trim().split("\n");
        expect(names.length, "charon lists algorithms").to.be.greaterThan(20);
        expect(ALL_CHARON_ALGORITHMS.filter((a) => !names.includes(a)), "needed but not listed").to.deep.equal([]);
    });

    it("refuses, before the switch, a config whose proposals need algorithms the loaded plugins lack, naming them", async () => {
        node = await startTestNode("charon-lacking", nodeOptions());
        // An endpoint without libstrongswan-standard-plugins: no openssl, gcm or aesni.
        charon = await startCharon(node, { withoutPlugins: ["openssl", "gcm", "aesni"] });
        const model = modelOf(repoStackConfig(DEV));
        const r = renderPartner(model, withIke(model.partners[0], GCM_ECP));
        const result = runInNodeSync(node, ["bash", "-s"], { input: r.apply, timeoutMs: 90_000 });
        expect(result.code, describeRun(["bash", "-s", "<apply"], result)).to.not.equal(0);
        expect(result.stderr).to.include("bigcorp: the ike proposal aes256gcm16-prfsha256-ecp256 needs AES_GCM_16 ECP_256, which charon's installed crypto plugins do not provide");
        expect(result.stderr).to.include("bigcorp: the esp proposal aes256gcm16-ecp256 needs ECP_256,");
        expect(result.stderr).to.include("nothing was changed");
        // Nothing was installed, nothing loaded.
        expect(existsInNodeSync(node, endpointPaths("bigcorp").swanctlConf)).to.equal(false);
        expect(runInNodeOkSync(node, ["swanctl", "--list-conns"]).trim()).to.equal("");
        // The same charon takes a config whose proposals it can do (AES-CBC, SHA-2 HMAC, MODP from its
        // remaining plugins): the check is about the algorithms, not about the plugins being absent.
        const cbc = renderPartner(model);
        const ok = runInNodeSync(node, ["bash", "-s"], { input: cbc.apply, timeoutMs: 90_000 });
        expect(ok.code, describeRun(["bash", "-s", "<apply"], ok)).to.equal(0);
    });

    it("accepts a complete plugin set even when swanctl warns about plugins that are not installed", async () => {
        node = await startTestNode("charon-noisy", nodeOptions());
        charon = await startCharon(node);
        // swanctl loads its own plugin list: make it name one that does not exist, as Debian's
        // default list does for every optional package left out.
        writeNodeFileSync(node, "/etc/strongswan.d/zz-pvt-noise.conf", "swanctl {\n    load = random nonce openssl pem pkcs1 pkcs8 x509 pubkey pvt-absent-plugin\n}\n");
        const model = modelOf(repoStackConfig(DEV));
        const r = renderPartner(model, withIke(model.partners[0], GCM_ECP));
        const noise = runInNodeSync(node, ["swanctl", "--load-all", "--noprompt"]);
        expect(noise.code).to.equal(0);
        expect(noise.stdout + noise.stderr, "swanctl prints its plugin warning on every load").to.include("plugin 'pvt-absent-plugin': failed to load");
        const result = runInNodeSync(node, ["bash", "-s"], { input: r.apply, timeoutMs: 90_000 });
        expect(result.code, describeRun(["bash", "-s", "<apply"], result)).to.equal(0);
        expect(result.stderr).to.include(`bigcorp: applied generation ${r.generation}`);
    });

    it("fails the load when charon does not hold a connection or child the expectation names", async () => {
        node = await startTestNode("charon-verify", nodeOptions());
        charon = await startCharon(node);
        const model = modelOf(repoStackConfig(DEV));
        const r = renderPartner(model);
        const applied = runInNodeSync(node, ["bash", "-s"], { input: r.apply, timeoutMs: 90_000 });
        expect(applied.code, describeRun(["bash", "-s", "<apply"], applied)).to.equal(0);
        const expectFile = endpointPaths("bigcorp").charonExpect;
        const held = bashInNodeSync(node, withCharonFunctions(r, `pvpn_charon_verify_loaded ${expectFile}`));
        expect(held.code, describeRun(["pvpn_charon_verify_loaded"], held)).to.equal(0);
        // A child and a connection that were never loaded.
        writeNodeFileSync(node, "/tmp/pvt-extra.expect", "conn pvpn-bigcorp\nchild pvpn-bigcorp bigcorp-198-51-100-99-32\nconn pvpn-nobody\n");
        const missing = bashInNodeSync(node, withCharonFunctions(r, `pvpn_charon_verify_loaded ${expectFile} /tmp/pvt-extra.expect`));
        expect(missing.code).to.equal(1);
        expect(missing.stderr).to.include("charon holds no child bigcorp-198-51-100-99-32 of pvpn-bigcorp (from /tmp/pvt-extra.expect)");
        expect(missing.stderr).to.include("charon holds no connection pvpn-nobody");
        expect(missing.stderr).not.to.include(expectFile + ")");
    });
});

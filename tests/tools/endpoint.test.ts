/**
 * The rendered endpoint scripts, run for real: the apply script fed to `bash -s` on stdin (as the
 * apply command does over SSH), the boot helper after a simulated reboot, and the remove helper
 * through the exact removeCommand string.
 *
 * Each stack runs in its own throwaway node: a `pvt-` network namespace holding the endpoint's
 * private IP on lo, and a private mount namespace with tmpfs over /run, /etc/swanctl (a copy of the
 * distribution's layout), /etc/partner-vpn, /etc/nginx, /usr/local/sbin, /var/log/nginx and
 * /var/lib/nginx (and a copy-on-write /etc whose changes live in that tmpfs), so nothing touches
 * the host's files. charon (lab strongswan.conf, kernel-libipsec) runs in the node; nginx is
 * started by the apply script itself. The node has only `lo`: nothing leaves it.
 */
import { expect } from "chai";
import { CHILD_WAITING, childStatusFromApplyOutput } from "../../core/childStatus";
import type { PartnerModel, RenderedFile, StackModel } from "../../core/model";
import { endpointPaths, removeCommand, renderApplyScript, swanctlChildName } from "../../core/render";
import { BOOT_SCRIPT, REMOVE_SCRIPT } from "../../core/render/paths";
import { runInNodeSync, runInNodeOkSync, readNodeFileSync, existsInNodeSync, destroyNode, type LabNode } from "../../lab/node";
import { startCharon, stopCharon, type Charon } from "../../lab/strongswan";
import { chainRules, CHARON, classicTcpRaw, describeRun, DEV, modelOf, normalizeSave, parseListConns, type RenderedPartner, renderPartner, repoStackConfig, requireRoot, requireTool, type RunResult, startTestNode, type TestNodeOptions, TEST_PSK, withPartner } from "./tools";

const FOREIGN_POST = "-A POSTROUTING -o eth9 -j MASQUERADE";

function nodeOptions(): TestNodeOptions {
    return {
        distroSwanctl: true,
        tmpfs: ["/etc/partner-vpn", "/etc/nginx", "/usr/local/sbin", "/var/log/nginx", "/var/lib/nginx"],
        loAddresses: ["172.16.0.5/32"],
    };
}

function apply(node: LabNode, script: string): RunResult {
    return runInNodeSync(node, ["bash", "-s"], { input: script, timeoutMs: 120_000 });
}

function applyOk(node: LabNode, r: RenderedPartner): RunResult {
    const result = apply(node, r.apply);
    expect(result.code, describeRun(["bash", "-s", "<apply"], result)).to.equal(0);
    expect(result.stderr).to.include(`bigcorp: applied generation ${r.generation}`);
    return result;
}

interface Snapshot {
    readonly nat: string;
    readonly conns: string;
    /** path -> "mode owner:group sha256" (or "absent"). */
    readonly files: Record<string, string>;
    readonly generation: string;
}

const WATCHED = (partner: string): string[] => {
    const p = endpointPaths(partner);
    return [p.swanctlConf, p.swanctlSecrets, p.natRules, p.nginxConf, BOOT_SCRIPT, REMOVE_SCRIPT];
};

function snapshot(node: LabNode): Snapshot {
    const files: Record<string, string> = {};
    for (const f of WATCHED("bigcorp")) {
        const r = runInNodeSync(node, ["sh", "-c", 'stat -c "%a %U:%G" "$1" && sha256sum <"$1"', "sh", f]);
        files[f] = r.code === 0 ? r.stdout.replace(/\s+-?\s*$/, "").replace(/\n/g, " ") : "absent";
    }
    const gen = runInNodeSync(node, ["cat", "/etc/partner-vpn/bigcorp/generation"]);
    return {
        nat: normalizeSave(runInNodeOkSync(node, ["iptables-save", "-t", "nat"])),
        conns: runInNodeOkSync(node, ["swanctl", "--list-conns"]),
        files,
        generation: gen.code === 0 ? gen.stdout.trim() : "absent",
    };
}

function listening(node: LabNode): string[] {
    return runInNodeOkSync(node, ["ss", "-Hltn"])
        .split("\n")
        .map((l) => l.trim().split(/\s+/)[3])
        .filter(Boolean)
        .sort();
}

/** An apply script for files changed by `edit` (bypassing the renderers, e.g. to break one file). */
function applyWith(r: RenderedPartner, edit: (f: RenderedFile) => RenderedFile, generation = "0badc0de0badc0de"): string {
    return renderApplyScript(r.partner, r.files.map(edit), generation);
}

/**
 * An apply script whose swanctl.conf sets `key` to a value charon rejects (validation would refuse
 * it, so it is written into the rendered file directly): charon's own refusal path.
 */
function withSwanctlValue(r: RenderedPartner, key: string, value: string): string {
    const pattern = new RegExp(`^(\\s+${key} = ).*$`, "gm");
    return applyWith(r, (f) => (f.path === endpointPaths("bigcorp").swanctlConf ? { ...f, content: f.content.replace(pattern, `$1${value}`) } : f));
}

function assertInstalled(node: LabNode, r: RenderedPartner): void {
    for (const f of r.files) {
        const stat = runInNodeOkSync(node, ["stat", "-c", "%a %U %G", f.path]).trim();
        expect(stat, f.path).to.equal(`${f.mode.replace(/^0/, "")} root root`);
        expect(readNodeFileSync(node, f.path), f.path).to.equal(f.content);
    }
    const secrets = endpointPaths("bigcorp").swanctlSecrets;
    expect(runInNodeOkSync(node, ["stat", "-c", "%a %U", secrets]).trim()).to.equal("600 root");
    expect(readNodeFileSync(node, "/etc/partner-vpn/bigcorp/generation").trim()).to.equal(r.generation);
}

function assertJumpsOnce(node: LabNode): void {
    const save = normalizeSave(runInNodeOkSync(node, ["iptables-save", "-t", "nat"]));
    expect(chainRules(save, "POSTROUTING")).to.deep.equal(["-A POSTROUTING -j PVPN-bigcorp-POST", FOREIGN_POST]);
    expect(chainRules(save, "PREROUTING")).to.deep.equal(["-A PREROUTING -j PVPN-bigcorp-PRE"]);
}

function assertNatMatches(node: LabNode, r: RenderedPartner): void {
    const save = normalizeSave(runInNodeOkSync(node, ["iptables-save", "-t", "nat"]));
    const payload = r.file("/nat.rules").content.split("\n");
    for (const chain of ["PVPN-bigcorp-PRE", "PVPN-bigcorp-POST"]) {
        expect(chainRules(save, chain), chain).to.deep.equal(payload.filter((l) => l.startsWith(`-A ${chain} `)));
    }
}

function childNames(node: LabNode): string[] {
    const conns = parseListConns(runInNodeOkSync(node, ["swanctl", "--list-conns"]));
    expect(conns.map((c) => c.name)).to.deep.equal(["pvpn-bigcorp"]);
    return conns[0].children.map((c) => c.name).sort();
}

function expectedChildren(p: PartnerModel): string[] {
    return p.remoteHosts.map((h) => swanctlChildName("bigcorp", h)).sort();
}

function rootModel(model: StackModel): StackModel {
    return { ...model, endpoint: { ...model.endpoint, sshUser: "root" } };
}

const CHILD_WAIT = 2;

describe("tools: the rendered endpoint scripts run for real in a throwaway node", function () {
    this.timeout(300_000);

    before(function () {
        // The apply's bounded wait for the children (20 s on an endpoint): no partner answers here.
        process.env.PVPN_CHILD_WAIT = String(CHILD_WAIT);
        requireRoot(this);
        requireTool(this, "bash", "swanctl", CHARON, "iptables", "iptables-restore", "iptables-save", "nginx", "ss", "flock", "base64", "install", "cmp", "sha256sum");
    });

    describe("vpc-routing (dev stack)", () => {
        let node: LabNode | undefined;
        let charon: Charon | undefined;
        let model!: StackModel;
        let base!: RenderedPartner;
        let moreHosts!: RenderedPartner;
        let afterChange: Snapshot | undefined;

        before(async function () {
            requireRoot(this);
            model = modelOf(repoStackConfig(DEV));
            base = renderPartner(model);
            moreHosts = renderPartner(model, withPartner(base.partner, { remoteHosts: [...base.partner.remoteHosts, "110.220.10.200/32"] }));
            node = await startTestNode("ep-dev", nodeOptions());
            charon = await startCharon(node);
            runInNodeOkSync(node, ["iptables", "-t", "nat", "-A", "POSTROUTING", "-o", "eth9", "-j", "MASQUERADE"]);
        });

        after(async () => {
            if (charon) await stopCharon(charon);
            if (node) destroyNode(node);
        });

        it("starts from an empty endpoint (private folders, nothing of the host's)", () => {
            const n = node as LabNode;
            expect(runInNodeOkSync(n, ["ls", "-A", "/etc/partner-vpn", "/usr/local/sbin", "/etc/swanctl/conf.d"]).replace(/^\/.*:$/gm, "").trim()).to.equal("");
            expect(runInNodeOkSync(n, ["swanctl", "--list-conns"]).trim()).to.equal("");
        });

        it("a failing FIRST apply (bad proposal) leaves nothing installed or loaded", () => {
            const n = node as LabNode;
            const r = apply(n, withSwanctlValue(base, "esp_proposals", "aes256-bogus-modp2048"));
            expect(r.code).not.to.equal(0);
            expect(r.stderr).to.include("bigcorp: strongSwan rejected the new config; nothing was installed before, and what this apply installed was removed");
            const paths = endpointPaths("bigcorp");
            for (const f of [paths.swanctlConf, paths.swanctlSecrets, paths.natRules, `${paths.stateDir}/generation`, `${paths.stateDir}/previous`]) {
                expect(existsInNodeSync(n, f), f).to.equal(false);
            }
            expect(runInNodeOkSync(n, ["swanctl", "--list-conns"]).trim()).to.equal("");
            expect(normalizeSave(runInNodeOkSync(n, ["iptables-save", "-t", "nat"]))).not.to.include("PVPN-");
        });

        it("first apply installs every file with its mode, root-owned, the secrets 0600", () => {
            const n = node as LabNode;
            const r = applyOk(n, base);
            assertInstalled(n, base);
            // No partner gateway here: after the bounded wait each child is reported, and the apply still succeeds.
            for (const c of expectedChildren(base.partner)) expect(r.stdout).to.include(`partner-vpn: bigcorp child ${c}: waiting for the partner (not established after ${CHILD_WAIT} s;`);
            expect(r.stdout).not.to.match(/: up$/m);
            // The stack output childStatus is read from exactly this stdout.
            expect(childStatusFromApplyOutput(base.partner, r.stdout)).to.deep.equal(Object.fromEntries(expectedChildren(base.partner).map((c) => [c, CHILD_WAITING])));
        });

        it("loads the connection with one child per host into charon", () => {
            expect(childNames(node as LabNode)).to.deep.equal(expectedChildren(base.partner));
        });

        it("installs the NAT chains and jumps once, keeping the foreign rule", () => {
            assertNatMatches(node as LabNode, base);
            assertJumpsOnce(node as LabNode);
        });

        it("leaves no stage folder or backup behind", () => {
            const n = node as LabNode;
            expect(runInNodeSync(n, ["sh", "-c", "ls -d /run/partner-vpn-stage.* 2>/dev/null"]).stdout.trim()).to.equal("");
            expect(existsInNodeSync(n, "/etc/partner-vpn/bigcorp/previous")).to.equal(false);
        });

        it("a second run prints 'unchanged' and leaves files, iptables-save and charon identical", () => {
            const n = node as LabNode;
            const before = snapshot(n);
            const r = apply(n, base.apply);
            expect(r.code, describeRun(["bash", "-s"], r)).to.equal(0);
            expect(r.stderr).to.include(`bigcorp: unchanged (generation ${base.generation})`);
            expect(snapshot(n)).to.deep.equal(before);
        });

        it("re-asserts a lost jump on an unchanged run (a hand-edited ruleset)", () => {
            const n = node as LabNode;
            const before = snapshot(n);
            runInNodeOkSync(n, ["iptables", "-t", "nat", "-D", "POSTROUTING", "-j", "PVPN-bigcorp-POST"]);
            const r = apply(n, base.apply);
            expect(r.code, describeRun(["bash", "-s"], r)).to.equal(0);
            expect(r.stderr).to.include("unchanged");
            expect(snapshot(n)).to.deep.equal(before);
        });

        it("an unchanged run reloads the connections a restarted charon lost", async () => {
            const n = node as LabNode;
            const before = snapshot(n);
            if (charon) await stopCharon(charon);
            charon = await startCharon(n);
            expect(runInNodeOkSync(n, ["swanctl", "--list-conns"]).trim()).to.equal("");
            const r = apply(n, base.apply);
            expect(r.code, describeRun(["bash", "-s"], r)).to.equal(0);
            expect(r.stderr).to.include("unchanged");
            expect(snapshot(n)).to.deep.equal(before);
        });

        it("applies an added host: a new child, the others untouched, the new SNAT rule", () => {
            const n = node as LabNode;
            applyOk(n, moreHosts);
            assertInstalled(n, moreHosts);
            expect(childNames(n)).to.deep.equal(expectedChildren(moreHosts.partner));
            assertNatMatches(n, moreHosts);
            assertJumpsOnce(n);
            afterChange = snapshot(n);
        });

        it("a bad proposal FAILS with a clear message and rolls back files, NAT and connections", () => {
            const n = node as LabNode;
            const before = afterChange ?? snapshot(n);
            // Also drops a host, so that NAT and children would differ if the rollback missed anything.
            const oneHost = renderPartner(model, withPartner(base.partner, { remoteHosts: [base.partner.remoteHosts[0]] }));
            const r = apply(n, withSwanctlValue(oneHost, "esp_proposals", "aes256-bogus-modp2048"));
            expect(r.code).not.to.equal(0);
            expect(r.stderr).to.include("invalid value for: esp_proposals");
            expect(r.stderr).to.include("bigcorp: strongSwan rejected the new config; the previous config was restored and keeps serving");
            expect(snapshot(n)).to.deep.equal(before);
            // The backup (it holds a copy of the previous secrets file) is not left behind.
            expect(existsInNodeSync(n, "/etc/partner-vpn/bigcorp/previous")).to.equal(false);
            expect(childNames(n)).to.deep.equal(expectedChildren(moreHosts.partner));
        });

        it("a NAT payload that cannot be applied FAILS and rolls back (iptables-restore --test let it through)", () => {
            const n = node as LabNode;
            const before = snapshot(n);
            const script = applyWith(moreHosts, (f) =>
                f.path.endsWith("/nat.rules") ? { ...f, content: f.content.replace("COMMIT", "-A PVPN-bigcorp-POST -j PVPN-MISSING\nCOMMIT") } : f,
            );
            const r = apply(n, script);
            expect(r.code).not.to.equal(0);
            expect(r.stderr).to.include("bigcorp: the NAT rules did not apply; the previous config was restored and keeps serving");
            expect(snapshot(n)).to.deep.equal(before);
        });

        it("a swanctl file with a syntax error is refused before anything changes (no connection unloaded)", () => {
            const n = node as LabNode;
            const before = snapshot(n);
            const script = applyWith(moreHosts, (f) =>
                f.path.endsWith("/partner-vpn-bigcorp.conf") ? { ...f, content: f.content.replace("        encap = yes\n", "        encap = yes\n        this is not a setting\n") } : f,
            );
            const r = apply(n, script);
            expect(r.code).not.to.equal(0);
            expect(r.stderr).to.include("strongSwan's parser rejected the syntax of /etc/swanctl/conf.d/partner-vpn-bigcorp.conf; nothing was changed");
            expect(snapshot(n)).to.deep.equal(before);
        });

        it("a secrets file with a syntax error is refused without quoting the key", () => {
            const n = node as LabNode;
            const before = snapshot(n);
            const script = applyWith(moreHosts, (f) => (f.secret ? { ...f, content: f.content.replace("secrets {", `secrets {\n    stray ${TEST_PSK}`) } : f));
            const r = apply(n, script);
            expect(r.code).not.to.equal(0);
            expect(r.stderr).to.include("strongSwan's parser rejected the syntax of /etc/swanctl/conf.d/partner-vpn-bigcorp.secrets.conf; nothing was changed");
            expect(`${r.stdout}${r.stderr}`).not.to.include(TEST_PSK);
            expect(`${r.stdout}${r.stderr}`).not.to.include(Buffer.from(TEST_PSK).toString("base64"));
            expect(snapshot(n)).to.deep.equal(before);
        });

        it("the boot helper restores NAT and IPsec config after a reboot (rules flushed, charon restarted)", async () => {
            const n = node as LabNode;
            const before = snapshot(n);
            runInNodeOkSync(n, ["sh", "-c", "iptables -t nat -F && iptables -t nat -X && iptables -t nat -A POSTROUTING -o eth9 -j MASQUERADE"]);
            if (charon) await stopCharon(charon);
            charon = await startCharon(n);
            expect(runInNodeOkSync(n, ["swanctl", "--list-conns"]).trim()).to.equal("");
            const r = runInNodeSync(n, [BOOT_SCRIPT]);
            expect(r.code, describeRun([BOOT_SCRIPT], r)).to.equal(0);
            expect(r.stderr).to.include("bigcorp: NAT rules restored");
            expect(snapshot(n)).to.deep.equal(before);
        });

        it("the remove helper with a stale generation removes nothing", () => {
            const n = node as LabNode;
            const before = snapshot(n);
            const r = runInNodeSync(n, ["sh", "-c", removeCommand(rootModel(model), "bigcorp", base.generation)]);
            expect(r.code, describeRun(["remove"], r)).to.equal(0);
            expect(r.stderr).to.include(`generation ${moreHosts.generation} is applied, not ${base.generation}; nothing removed`);
            expect(snapshot(n)).to.deep.equal(before);
        });

        it("the remove helper with the current generation removes the config, NAT and connection", () => {
            const n = node as LabNode;
            const r = runInNodeSync(n, ["sh", "-c", removeCommand(rootModel(model), "bigcorp", moreHosts.generation)]);
            expect(r.code, describeRun(["remove"], r)).to.equal(0);
            expect(r.stderr).to.include("bigcorp: removed");
            const paths = endpointPaths("bigcorp");
            for (const f of [paths.swanctlConf, paths.swanctlSecrets, paths.stateDir]) expect(existsInNodeSync(n, f), f).to.equal(false);
            expect(runInNodeOkSync(n, ["swanctl", "--list-conns"]).trim()).to.equal("");
            const save = normalizeSave(runInNodeOkSync(n, ["iptables-save", "-t", "nat"]));
            expect(save).not.to.include("PVPN-");
            expect(chainRules(save, "POSTROUTING")).to.deep.equal([FOREIGN_POST]);
        });

        it("the remove command says so when nothing was ever installed", () => {
            const n = node as LabNode;
            runInNodeOkSync(n, ["rm", "-f", REMOVE_SCRIPT]);
            const r = runInNodeSync(n, ["sh", "-c", removeCommand(rootModel(model), "bigcorp", moreHosts.generation)]);
            expect(r.code).to.equal(0);
            expect(r.stdout).to.include("partner-vpn: nothing installed");
        });

        it("applies again from scratch after the removal", () => {
            const n = node as LabNode;
            applyOk(n, base);
            assertInstalled(n, base);
            expect(childNames(n)).to.deep.equal(expectedChildren(base.partner));
            assertJumpsOnce(n);
        });
    });

    describe("classic-proxy with an http and a tcp proxy", () => {
        let node: LabNode | undefined;
        let charon: Charon | undefined;
        let model!: StackModel;
        let base!: RenderedPartner;
        let moved!: RenderedPartner;

        before(async function () {
            requireRoot(this);
            model = modelOf(classicTcpRaw());
            base = renderPartner(model);
            moved = renderPartner(model, withPartner(base.partner, { proxies: base.partner.proxies.map((p) => (p.protocol === "http" ? { ...p, listenPort: 8090 } : p)) }));
            node = await startTestNode("ep-classic", nodeOptions());
            charon = await startCharon(node);
            runInNodeOkSync(node, ["iptables", "-t", "nat", "-A", "POSTROUTING", "-o", "eth9", "-j", "MASQUERADE"]);
        });

        after(async () => {
            if (charon) await stopCharon(charon);
            if (node) destroyNode(node);
        });

        it("applies even when one of swanctl's empty credential folders is missing", () => {
            const n = node as LabNode;
            runInNodeOkSync(n, ["rmdir", "/etc/swanctl/pkcs12"]);
            applyOk(n, base);
            assertInstalled(n, base);
        });

        it("starts nginx on the private IP with both proxies, and loads the connection", () => {
            const n = node as LabNode;
            expect(listening(n)).to.deep.equal(["172.16.0.5:15432", "172.16.0.5:8080"]);
            expect(childNames(n)).to.deep.equal(expectedChildren(base.partner));
            assertNatMatches(n, base);
            assertJumpsOnce(n);
            expect(chainRules(normalizeSave(runInNodeOkSync(n, ["iptables-save", "-t", "nat"])), "PVPN-bigcorp-POST").join("\n")).to.include("pvpn bigcorp return");
        });

        it("does not leave the partner-vpn lock held by the nginx it started", () => {
            const r = runInNodeSync((node as LabNode), ["flock", "-n", "/run/partner-vpn.lock", "true"]);
            expect(r.code, "the lock is free once the apply has finished").to.equal(0);
        });

        it("a second run prints 'unchanged' and leaves everything identical", () => {
            const n = node as LabNode;
            const before = snapshot(n);
            const r = apply(n, base.apply);
            expect(r.code, describeRun(["bash", "-s"], r)).to.equal(0);
            expect(r.stderr).to.include("unchanged");
            expect(snapshot(n)).to.deep.equal(before);
            expect(listening(n)).to.deep.equal(["172.16.0.5:15432", "172.16.0.5:8080"]);
        });

        it("a broken nginx config is refused before anything changes", () => {
            const n = node as LabNode;
            const before = snapshot(n);
            const script = applyWith(base, (f) => (f.path === "/etc/nginx/nginx.conf" ? { ...f, content: f.content.replace("stream {", "stream {\n    bogus_directive on;") } : f));
            const r = apply(n, script);
            expect(r.code).not.to.equal(0);
            expect(r.stderr).to.include("nginx rejected the new proxy config; nothing was changed");
            expect(snapshot(n)).to.deep.equal(before);
        });

        it("reloads nginx when a proxy moves to another port", () => {
            const n = node as LabNode;
            applyOk(n, moved);
            let ports: string[] = [];
            for (let i = 0; i < 50; i++) {
                ports = listening(n);
                if (ports.includes("172.16.0.5:8090") && !ports.includes("172.16.0.5:8080")) break;
                runInNodeSync(n, ["sleep", "0.1"]);
            }
            expect(ports).to.deep.equal(["172.16.0.5:15432", "172.16.0.5:8090"]);
        });

        it("a bad proposal FAILS and rolls back, nginx config included", () => {
            const n = node as LabNode;
            const before = snapshot(n);
            // Same hosts as before: only swanctl's confirmation tells the rejected load from the old conn.
            const r = apply(n, withSwanctlValue(base, "proposals", "aes256-sha256-modp9999"));
            expect(r.code).not.to.equal(0);
            expect(r.stderr).to.include("invalid value for: proposals");
            expect(r.stderr).to.include("strongSwan rejected the new config; the previous config was restored");
            expect(snapshot(n)).to.deep.equal(before);
            expect(listening(n)).to.deep.equal(["172.16.0.5:15432", "172.16.0.5:8090"]);
        });

        it("the remove helper with a stale generation removes nothing", () => {
            const n = node as LabNode;
            const before = snapshot(n);
            const r = runInNodeSync(n, [REMOVE_SCRIPT, "bigcorp", base.generation]);
            expect(r.code, describeRun([REMOVE_SCRIPT], r)).to.equal(0);
            expect(r.stderr).to.include("nothing removed");
            expect(snapshot(n)).to.deep.equal(before);
            expect(listening(n)).to.deep.equal(["172.16.0.5:15432", "172.16.0.5:8090"]);
        });

        it("the remove helper with the current generation removes everything and stops the proxy", () => {
            const n = node as LabNode;
            const r = runInNodeSync(n, ["sh", "-c", removeCommand(rootModel(model), "bigcorp", moved.generation)]);
            expect(r.code, describeRun(["remove"], r)).to.equal(0);
            const paths = endpointPaths("bigcorp");
            for (const f of [paths.swanctlConf, paths.swanctlSecrets, paths.stateDir]) expect(existsInNodeSync(n, f), f).to.equal(false);
            expect(runInNodeOkSync(n, ["swanctl", "--list-conns"]).trim()).to.equal("");
            expect(normalizeSave(runInNodeOkSync(n, ["iptables-save", "-t", "nat"]))).not.to.include("PVPN-");
            let ports: string[] = [];
            for (let i = 0; i < 50; i++) {
                ports = listening(n);
                if (ports.length === 0) break;
                runInNodeSync(n, ["sleep", "0.1"]);
            }
            expect(ports).to.deep.equal([]);
        });
    });
});

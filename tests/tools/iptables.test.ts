/**
 * The rendered NAT payloads applied for real, with the endpoint library's own functions
 * (pvpn_restore_nat: `iptables-restore --noflush`, then the jumps; pvpn_remove_nat), each in a
 * throwaway `pvt-` network namespace. `iptables-restore --test` is not enough (measured: on the
 * nf_tables backend it accepts a jump to a missing chain), so every check applies the payload and
 * reads the kernel's ruleset back with `iptables-save`.
 */
import { expect } from "chai";
import * as path from "path";
import { renderNatRules } from "../../core/render";
import type { RunResult } from "../../lab/exec";
import { destroyNode, runInNodeSync, runInNodeOkSync, writeNodeFileSync, type LabNode } from "../../lab/node";
import { chainRules, describeRun, normalizeSave, type RenderedPartner, renderPartner, REPO_ROOT, requireRoot, requireTool, stackVariants, startTestNode, withPartner } from "./tools";

const LIB = path.join(REPO_ROOT, "scripts", "endpoint", "lib.sh");
const PAYLOAD = "/run/pvt/nat.rules";

/** Rules someone else put there before us; they must survive everything we do. */
const FOREIGN = [
    ["-t", "nat", "-A", "POSTROUTING", "-o", "eth9", "-j", "MASQUERADE"],
    ["-t", "nat", "-A", "PREROUTING", "-p", "tcp", "-m", "tcp", "--dport", "2222", "-j", "REDIRECT", "--to-ports", "22"],
];
const FOREIGN_POST = "-A POSTROUTING -o eth9 -j MASQUERADE";
const FOREIGN_PRE = "-A PREROUTING -p tcp -m tcp --dport 2222 -j REDIRECT --to-ports 22";

function lib(node: LabNode, call: string): RunResult {
    return runInNodeSync(node, ["bash", "-c", `source "$1"; ${call}`, "bash", LIB]);
}

function save(node: LabNode): string {
    return normalizeSave(runInNodeOkSync(node, ["iptables-save", "-t", "nat"]));
}

describe("tools: iptables applies the rendered NAT payloads", function () {
    this.timeout(120_000);

    before(function () {
        requireRoot(this);
        requireTool(this, "iptables", "iptables-restore", "iptables-save", "bash");
    });

    for (const variant of stackVariants()) {
        describe(variant.name, () => {
            let node: LabNode | undefined;
            let rendered!: RenderedPartner;
            let payload = "";
            const expectedRules = (chain: string) => payload.split("\n").filter((l) => l.startsWith(`-A ${chain} `));

            before(async function () {
                requireRoot(this);
                rendered = renderPartner(variant.model);
                payload = rendered.file("/nat.rules").content;
                node = await startTestNode(`nat-${variant.name}`);
                for (const rule of FOREIGN) runInNodeOkSync(node, ["iptables", ...rule]);
                writeNodeFileSync(node, PAYLOAD, payload);
            });

            after(() => node && destroyNode(node));

            it("restores the payload and the jumps (pvpn_restore_nat)", () => {
                const n = node as LabNode;
                const r = lib(n, `pvpn_restore_nat bigcorp ${PAYLOAD}`);
                expect(r.code, describeRun(["pvpn_restore_nat"], r)).to.equal(0);
                const s = save(n);
                expect(chainRules(s, "PVPN-bigcorp-POST")).to.deep.equal(expectedRules("PVPN-bigcorp-POST"));
                expect(chainRules(s, "PVPN-bigcorp-PRE")).to.deep.equal(expectedRules("PVPN-bigcorp-PRE"));
                expect(expectedRules("PVPN-bigcorp-POST").length).to.be.greaterThan(0);
            });

            it("jumps into the partner's chains exactly once, ahead of the foreign rules, which survive", () => {
                const s = save(node as LabNode);
                expect(chainRules(s, "POSTROUTING")).to.deep.equal(["-A POSTROUTING -j PVPN-bigcorp-POST", FOREIGN_POST]);
                expect(chainRules(s, "PREROUTING")).to.deep.equal(["-A PREROUTING -j PVPN-bigcorp-PRE", FOREIGN_PRE]);
            });

            it("is idempotent: applying again leaves an identical ruleset", () => {
                const n = node as LabNode;
                const before = save(n);
                for (let i = 0; i < 2; i++) {
                    const r = lib(n, `pvpn_restore_nat bigcorp ${PAYLOAD}`);
                    expect(r.code, describeRun(["pvpn_restore_nat"], r)).to.equal(0);
                }
                expect(save(n)).to.equal(before);
            });

            it("replaces only the partner's rules when the payload changes (a host removed)", () => {
                const n = node as LabNode;
                const fewer = withPartner(rendered.partner, {
                    remoteHosts: rendered.partner.remoteHosts.slice(1),
                    inbound: rendered.partner.inbound.filter((m) => m.from.every((f) => rendered.partner.remoteHosts.slice(1).includes(f))),
                });
                const next = renderNatRules(variant.model, fewer, { natIp: "192.0.2.23", tunnelIp: "198.51.100.1" });
                writeNodeFileSync(n, "/run/pvt/nat-next.rules", next);
                const r = lib(n, "pvpn_restore_nat bigcorp /run/pvt/nat-next.rules");
                expect(r.code, describeRun(["pvpn_restore_nat"], r)).to.equal(0);
                const s = save(n);
                const removed = rendered.partner.remoteHosts[0];
                expect(chainRules(s, "PVPN-bigcorp-POST").join("\n")).not.to.include(`-d ${removed} `);
                expect(chainRules(s, "PVPN-bigcorp-POST")).to.deep.equal(next.split("\n").filter((l) => l.startsWith("-A PVPN-bigcorp-POST ")));
                expect(chainRules(s, "POSTROUTING")).to.deep.equal(["-A POSTROUTING -j PVPN-bigcorp-POST", FOREIGN_POST]);
                // and back
                expect(lib(n, `pvpn_restore_nat bigcorp ${PAYLOAD}`).code).to.equal(0);
                expect(chainRules(save(n), "PVPN-bigcorp-POST")).to.deep.equal(expectedRules("PVPN-bigcorp-POST"));
            });

            it("removes the chains and jumps, and nothing else (pvpn_remove_nat)", () => {
                const n = node as LabNode;
                const r = lib(n, "pvpn_remove_nat bigcorp");
                expect(r.code, describeRun(["pvpn_remove_nat"], r)).to.equal(0);
                const s = save(n);
                expect(s).not.to.include("PVPN-");
                expect(chainRules(s, "POSTROUTING")).to.deep.equal([FOREIGN_POST]);
                expect(chainRules(s, "PREROUTING")).to.deep.equal([FOREIGN_PRE]);
                // Removing again is harmless.
                expect(lib(n, "pvpn_remove_nat bigcorp").code).to.equal(0);
            });
        });
    }

    describe("negative controls (the restore really ran)", () => {
        let node: LabNode | undefined;
        const missingChain = ["*nat", ":PVPN-bigcorp-POST - [0:0]", "-F PVPN-bigcorp-POST", "-A PVPN-bigcorp-POST -j PVPN-NOPE", "COMMIT", ""].join("\n");
        const badAddress = ["*nat", ":PVPN-bigcorp-POST - [0:0]", "-A PVPN-bigcorp-POST -s 300.1.1.1/32 -j SNAT --to-source 192.0.2.23", "COMMIT", ""].join("\n");

        before(async function () {
            requireRoot(this);
            node = await startTestNode("nat-negative");
            for (const rule of FOREIGN) runInNodeOkSync(node, ["iptables", ...rule]);
            writeNodeFileSync(node, "/run/pvt/missing.rules", missingChain);
            writeNodeFileSync(node, "/run/pvt/bad-address.rules", badAddress);
        });

        after(() => node && destroyNode(node));

        it("a payload jumping to a missing chain fails for real and changes nothing", () => {
            const n = node as LabNode;
            const before = save(n);
            const r = runInNodeSync(n, ["sh", "-c", "iptables-restore --noflush </run/pvt/missing.rules"]);
            expect(r.code).not.to.equal(0);
            expect(r.stderr).to.include("PVPN-NOPE");
            expect(save(n)).to.equal(before);
        });

        it("documents why --test is not enough: it accepts that same payload", () => {
            const r = runInNodeSync((node as LabNode), ["sh", "-c", "iptables-restore --test --noflush </run/pvt/missing.rules"]);
            if (r.code !== 0) {
                // The legacy backend (or a fixed nf_tables one) rejects it: stronger, still fine.
                console.log("      [note] iptables-restore --test rejected a jump to a missing chain here");
                return;
            }
            expect(r.code).to.equal(0);
        });

        it("pvpn_restore_nat reports the failure (so the apply rolls back) and adds no jump", () => {
            const n = node as LabNode;
            const r = lib(n, "pvpn_restore_nat bigcorp /run/pvt/missing.rules");
            expect(r.code).not.to.equal(0);
            expect(save(n)).not.to.include("PVPN-bigcorp");
        });

        it("a payload with an impossible address fails", () => {
            const r = runInNodeSync((node as LabNode), ["sh", "-c", "iptables-restore --noflush </run/pvt/bad-address.rules"]);
            expect(r.code).not.to.equal(0);
        });
    });
});

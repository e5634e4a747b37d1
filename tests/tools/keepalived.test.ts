/**
 * The rendered keepalived.conf against the real keepalived (`--config-test`), through the apply's
 * own check (scripts/endpoint/apply.sh pvpn_keepalived_check) in a throwaway namespace whose
 * interface holds the member's address, with a private /etc/keepalived: both members' files pass
 * (only the two expected warnings), the interface definition names that interface, and a broken
 * file or a machine without the member's address is refused.
 */
import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import { renderKeepalivedConf } from "../../core/render";
import { endpointScriptsDir } from "../../core/render/scripts";
import { validateStackConfig } from "../../core/validate";
import { devConfig } from "../fixtures/configs";
import { runSyncResult } from "../../lab/exec";
import { inNetns } from "../../lab/netns";
import { destroyNode, type LabNode } from "../../lab/node";
import { createTestNetns, requireRoot, requireTool, scratchDir, removeScratch } from "./tools";

function pairPartner() {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const c: any = devConfig();
    c.partners[0].ha = { privateIp: "172.16.1.5", subnetId: "subnet-1a1b2c3d4e5f60718", subnetCidr: "172.16.1.0/24" };
    const r = validateStackConfig(c);
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    return r.model.partners[0];
}

describe("tools: keepalived accepts the rendered pair config (the apply's check)", function () {
    this.timeout(60_000);
    let dir = "";
    const nodes: LabNode[] = [];

    before(function () {
        requireRoot(this);
        requireTool(this, "keepalived", "unshare");
        dir = scratchDir("keepalived");
    });
    after(() => {
        for (const n of nodes) destroyNode(n);
        if (dir) removeScratch(dir);
    });

    /** The apply's check on `conf`, in a namespace where `address` (if any) is on interface ha0. */
    function check(conf: string, address: string | undefined) {
        const node = createTestNetns("ka");
        nodes.push(node);
        const ip = (args: string[]) => {
            const r = runSyncResult(["ip", "-n", node.ns, ...args]);
            if (r.code !== 0) throw new Error(`ip ${args.join(" ")}: ${r.stderr}`);
        };
        ip(["link", "add", "ha0", "type", "veth", "peer", "name", "ha1"]);
        ip(["link", "set", "ha0", "up"]);
        if (address) ip(["addr", "add", `${address}/24`, "dev", "ha0"]);
        const file = path.join(dir, `keepalived-${nodes.length}.conf`);
        fs.writeFileSync(file, conf);
        const scripts = endpointScriptsDir();
        const script = [
            "set -euo pipefail",
            "mount -t tmpfs pvt-keepalived /etc/keepalived",
            `. ${path.join(scripts, "lib.sh")}`,
            `. ${path.join(scripts, "apply.sh")}`,
            `pvpn_keepalived_check ${file}`,
            "echo CHECK-PASSED",
            "cat /etc/keepalived/partner-vpn-interface.conf",
        ].join("\n");
        return runSyncResult(inNetns(node.ns, ["unshare", "--mount", "--propagation", "private", "bash", "-c", script]));
    }

    for (const member of ["primary", "standby"] as const) {
        it(`passes the ${member}'s file and defines the interface holding its address`, () => {
            const p = pairPartner();
            const own = member === "primary" ? p.privateIp : (p.ha?.privateIp as string);
            const r = check(renderKeepalivedConf(p, member), own);
            expect(r.stdout, r.stderr).to.include("CHECK-PASSED");
            expect(r.stdout).to.include("$PVPN_INTERFACE=ha0");
        });
    }

    it("refuses a file keepalived finds an error in, quoting keepalived", () => {
        const p = pairPartner();
        const r = check(renderKeepalivedConf(p, "primary").replace(/priority \d+/, "priority bogus"), p.privateIp);
        expect(r.code).to.not.equal(0);
        expect(r.stdout).to.not.include("CHECK-PASSED");
        expect(r.stderr).to.include("keepalived rejected the new pair config").and.to.include("invalid number 'bogus'");
    });

    it("refuses a machine where no interface holds the member's address", () => {
        const r = check(renderKeepalivedConf(pairPartner(), "standby"), undefined);
        expect(r.code).to.not.equal(0);
        expect(r.stderr).to.include("no interface holds this member's address 172.16.1.5");
    });
});

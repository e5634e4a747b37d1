/**
 * The MSS clamp of the rendered payload, applied for real by the endpoint library
 * (pvpn_restore_nat) in a throwaway `pvt-` endpoint namespace between an "instance" and a
 * "partner host" namespace, every link at EC2's 9001 bytes (no IPsec here: the lab's
 * large-packets check carries the traffic through the tunnel). Each connection's MSS is read
 * from the kernel with `ss -tin` on both ends: without the clamp a 9001-byte path gives ~8949,
 * with it neither end may send more than the clamp. Covers every direction of tunnelled TCP:
 * forwarded (ours to the partner), DNAT inbound (the partner's to our instance) and the
 * endpoint's own connections (nginx's).
 */
import { expect } from "chai";
import { killGroup, spawnLongRunning, type LongRunning } from "../../lab/exec";
import * as path from "path";
import { mssFor } from "../../core/render/mss";
import { runInNodeSync, runInNodeOkSync, writeNodeFileSync, inNode, destroyNode, type LabNode } from "../../lab/node";
import { addAddress } from "../../lab/netns";
import { createTestNetns, describeRun, type RenderedPartner, renderPartner, REPO_ROOT, requireRoot, requireTool, stackVariants, startTestNode } from "./tools";

const LIB = path.join(REPO_ROOT, "scripts", "endpoint", "lib.sh");
const PAYLOAD = "/run/pvt/nat.rules";
const MTU = "9001";

/** The send MSS of the one established connection matching `filter` in `ns` (ss's `mss:`). */
function mssOf(ns: LabNode, filter: string): number {
    const out = runInNodeOkSync(ns, ["bash", "-c", `ss -tinH state established ${filter}`]);
    const m = /\bmss:(\d+)/.exec(out);
    if (!m) throw new Error(`no established connection (${filter}) in ss output: ${out}`);
    return Number(m[1]);
}

async function waitListening(ns: LabNode, port: number): Promise<void> {
    for (let i = 0; i < 50; i++) {
        if (runInNodeOkSync(ns, ["ss", "-tlnH", `sport = :${port}`]).trim() !== "") return;
        await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`nothing listens on ${port}`);
}

/** A TCP connection held open for a few seconds: server in `server`, client (optionally bound) in `client`. */
async function connect(server: LabNode, listen: string, port: number, client: LabNode, dst: string, bind?: string): Promise<{ stop: () => void }> {
    const procs: LongRunning[] = [];
    procs.push(spawnLongRunning(inNode(server, ["timeout", "10", "socat", `TCP-LISTEN:${port},bind=${listen},reuseaddr`, "EXEC:sleep 6"])));
    await waitListening(server, port);
    procs.push(spawnLongRunning(inNode(client, ["timeout", "10", "socat", `TCP:${dst}:${port}${bind ? `,bind=${bind}` : ""}`, "EXEC:sleep 6"])));
    for (let i = 0; i < 50; i++) {
        if (runInNodeOkSync(client, ["ss", "-tnH", "state", "established", `dport = :${port}`]).trim() !== "") break;
        await new Promise((r) => setTimeout(r, 100));
    }
    return { stop: () => procs.forEach((p) => killGroup(p.child, "SIGKILL")) };
}

describe("tools: the MSS clamp, applied with iptables between 9001-byte links", function () {
    this.timeout(120_000);
    const variant = stackVariants()[0];
    let rendered!: RenderedPartner;
    let ep: LabNode | undefined;
    let inst: LabNode | undefined;
    let host: LabNode | undefined;
    let clamp = 0;
    let partnerHost = "";
    let natIp = "";
    let inbound!: { port: number; target: string; targetPort: number };

    before(async function () {
        requireRoot(this);
        requireTool(this, "iptables", "iptables-restore", "ss", "socat", "bash");
        rendered = renderPartner(variant.model);
        const p = rendered.partner;
        clamp = mssFor(p).mss;
        partnerHost = p.remoteHosts[0].replace(/\/32$/, "");
        natIp = /--to-source (\S+)/.exec(rendered.file("/nat.rules").content)?.[1] ?? "";
        // The dev stack's second mapping: NAT IP tcp/port -> target:targetPort (or all ports).
        const m = p.inbound.find((x) => x.from.some((f) => f.replace(/\/32$/, "") === partnerHost)) ?? p.inbound[0];
        inbound = { port: m.port ?? 8080, target: m.target, targetPort: m.targetPort ?? m.port ?? 8080 };

        ep = await startTestNode("mss-ep");
        inst = createTestNetns("mss-inst");
        host = createTestNetns("mss-host");
        // Links created inside the namespaces, never in the root one.
        runInNodeOkSync(inst, ["ip", "link", "add", "eth0", "mtu", MTU, "type", "veth", "peer", "name", "lan", "netns", ep.ns, "mtu", MTU]);
        runInNodeOkSync(host, ["ip", "link", "add", "eth0", "mtu", MTU, "type", "veth", "peer", "name", "wan", "netns", ep.ns, "mtu", MTU]);
        runInNodeOkSync(ep, ["ip", "addr", "add", `${p.privateIp}/24`, "dev", "lan"]);
        runInNodeOkSync(ep, ["ip", "addr", "add", "198.51.100.1/24", "dev", "wan"]);
        for (const l of ["lan", "wan"]) runInNodeOkSync(ep, ["ip", "link", "set", l, "up"]);
        runInNodeOkSync(ep, ["ip", "route", "add", `${partnerHost}/32`, "via", "198.51.100.2"]);
        runInNodeOkSync(ep, ["sysctl", "-qw", "net.ipv4.ip_forward=1"]);
        runInNodeOkSync(inst, ["ip", "addr", "add", `${inbound.target}/24`, "dev", "eth0"]);
        runInNodeOkSync(inst, ["ip", "link", "set", "eth0", "up"]);
        runInNodeOkSync(inst, ["ip", "route", "add", "default", "via", p.privateIp]);
        runInNodeOkSync(host, ["ip", "addr", "add", "198.51.100.2/24", "dev", "eth0"]);
        runInNodeOkSync(host, ["ip", "link", "set", "eth0", "up"]);
        addAddress(host.ns, "lo", `${partnerHost}/32`);
        runInNodeOkSync(host, ["ip", "route", "add", "default", "via", "198.51.100.1"]);
        writeNodeFileSync(ep, PAYLOAD, rendered.file("/nat.rules").content);
        const r = runInNodeSync(ep, ["bash", "-c", `source "$1"; pvpn_restore_nat bigcorp ${PAYLOAD}`, "bash", LIB]);
        expect(r.code, describeRun(["pvpn_restore_nat"], r)).to.equal(0);
    });

    after(() => {
        if (ep) destroyNode(ep);
        if (inst) destroyNode(inst);
        if (host) destroyNode(host);
    });

    it("sizes the clamp below what a 1500-byte path carries in ESP over UDP", () => {
        expect(clamp).to.be.within(1300, 1460 - 70);
    });

    it("jumps to the clamp from mangle PREROUTING and POSTROUTING, once", () => {
        const again = runInNodeSync((ep as LabNode), ["bash", "-c", `source "$1"; pvpn_restore_nat bigcorp ${PAYLOAD}`, "bash", LIB]);
        expect(again.code).to.equal(0);
        const save = runInNodeOkSync((ep as LabNode), ["iptables-save", "-t", "mangle"]);
        expect(save.split("\n").filter((l) => l === "-A PREROUTING -j PVPN-bigcorp-MSS")).to.have.length(1);
        expect(save.split("\n").filter((l) => l === "-A POSTROUTING -j PVPN-bigcorp-MSS")).to.have.length(1);
    });

    /** ss reports the send MSS net of TCP options (timestamps: 12 bytes). */
    const clamped = (mss: number) => expect(mss).to.be.within(clamp - 40, clamp);

    it("forwarded: our instance to the partner host, both ends send at most the clamp", async () => {
        const c = await connect(host as LabNode, partnerHost, 7001, inst as LabNode, partnerHost);
        try {
            clamped(mssOf(inst as LabNode, `dst ${partnerHost}:7001`));
            clamped(mssOf(host as LabNode, `src ${partnerHost}:7001`));
        } finally { c.stop(); }
    });

    it("DNAT inbound: the partner host to our NAT address, both ends send at most the clamp", async () => {
        const c = await connect(inst as LabNode, inbound.target, inbound.targetPort, host as LabNode, natIp, partnerHost);
        try {
            clamped(mssOf(host as LabNode, `dst ${natIp}:${inbound.targetPort}`));
            clamped(mssOf(inst as LabNode, `src ${inbound.target}:${inbound.targetPort}`));
        } finally { c.stop(); }
    });

    it("the endpoint's own connection (nginx's): both ends send at most the clamp", async () => {
        const c = await connect(host as LabNode, partnerHost, 7002, ep as LabNode, partnerHost);
        try {
            clamped(mssOf(ep as LabNode, `dst ${partnerHost}:7002`));
            clamped(mssOf(host as LabNode, `src ${partnerHost}:7002`));
        } finally { c.stop(); }
    });

    it("negative control: with the clamp chain flushed, the same connection sends ~8949-byte segments", async () => {
        runInNodeOkSync((ep as LabNode), ["iptables", "-t", "mangle", "-F", "PVPN-bigcorp-MSS"]);
        try {
            const c = await connect(host as LabNode, partnerHost, 7003, inst as LabNode, partnerHost);
            try {
                // Port-specific: an earlier test's connection may still be closing.
                expect(mssOf(inst as LabNode, `dst ${partnerHost}:7003`)).to.be.above(8000);
            } finally { c.stop(); }
        } finally {
            runInNodeOkSync((ep as LabNode), ["bash", "-c", `source "$1"; pvpn_restore_nat bigcorp ${PAYLOAD}`, "bash", LIB]);
        }
    });

    it("pvpn_remove_nat removes the clamp chain and its jumps", () => {
        runInNodeOkSync((ep as LabNode), ["bash", "-c", `source "$1"; pvpn_remove_nat bigcorp`, "bash", LIB]);
        expect(runInNodeOkSync((ep as LabNode), ["iptables-save", "-t", "mangle"])).not.to.include("PVPN-bigcorp-MSS");
    });
});

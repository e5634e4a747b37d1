/**
 * Adding a host while clients already send to it: the endpoint library's NAT switch
 * (pvpn_restore_nat) on real iptables and conntrack, in a throwaway `pvt-` endpoint namespace
 * between an "instance" and a "partner host" namespace. The partner host routes only the NAT IP
 * back, as the internet does: a connection that leaves un-NATed never gets an answer and stays
 * pinned un-NATed in conntrack, and so does a later connection from the same source port (the
 * lab's zero-downtime check saw new hosts fail after their first answer from exactly that).
 */
import { expect } from "chai";
import * as path from "path";
import { addAddress } from "../../lab/netns";
import { destroyNode, type LabNode, runInNodeOkSync, runInNodeSync, writeNodeFileSync } from "../../lab/node";
import { createTestNetns, describeRun, editFirstPartner, modelOf, REPO_ROOT, renderPartner, repoStackConfig, requireRoot, requireTool, startTestNode } from "./tools";

const LIB = path.join(REPO_ROOT, "scripts", "endpoint", "lib.sh");
const FIXTURE = "tests/lab/fixtures/lab-two-partners.yaml";
const BEFORE = "/run/pvt/before.rules";
const AFTER = "/run/pvt/after.rules";
const PORT = 7300;
/** Client source ports, fixed so that the test can reuse them on purpose. */
const SOURCE_PORTS = [41001, 41003, 41005, 41007];

describe("tools: the NAT switch for a new host leaves no connection pinned un-NATed", function () {
    this.timeout(120_000);
    let ep: LabNode | undefined;
    let inst: LabNode | undefined;
    let host: LabNode | undefined;
    let oldHost = "";
    let newHost = "";
    let natIp = "";
    let instIp = "";

    const lib = (call: string) => runInNodeSync(ep as LabNode, ["bash", "-c", `source "$1"; ${call}`, "bash", LIB]);
    const libOk = (call: string) => {
        const r = lib(call);
        expect(r.code, describeRun([call], r)).to.equal(0);
        return r.stdout;
    };
    /** One connection attempt from a fixed source port; true when the server answered. */
    const connectFrom = (dst: string, sport: number): boolean =>
        runInNodeSync(inst as LabNode, ["timeout", "3", "socat", "-T", "1", `TCP:${dst}:${PORT},bind=${instIp}:${sport},reuseaddr,connect-timeout=0.6`, "STDOUT"]).code === 0;
    /** conntrack entries to `dst` from our instance, by source port: the address replies go to. */
    const entries = (dst: string): Map<number, string> => {
        const out = runInNodeSync(ep as LabNode, ["conntrack", "-L", "-p", "tcp", "-d", dst, "-s", instIp]).stdout;
        const m = new Map<number, string>();
        for (const line of out.split("\n")) {
            const sport = /sport=(\d+)/.exec(line)?.[1];
            const replyTo = [...line.matchAll(/dst=(\S+)/g)][1]?.[1];
            if (sport && replyTo) m.set(Number(sport), replyTo);
        }
        return m;
    };

    before(async function () {
        requireRoot(this);
        requireTool(this, "iptables", "iptables-restore", "conntrack", "socat", "bash", "timeout");
        const raw = repoStackConfig(FIXTURE);
        const full = modelOf(raw).partners[0];
        [oldHost, newHost] = full.remoteHosts.map((h) => h.replace(/\/32$/, ""));
        // The config before the change: the partner without its second host (and its inbound rule).
        const without = modelOf(
            editFirstPartner(raw, (p) => {
                p.remoteHosts = [oldHost];
                p.inbound = (p.inbound as Array<{ from: string[] }>).filter((m) => m.from.includes(oldHost));
            }),
        );
        const before = renderPartner(without).file("/nat.rules").content;
        const after = renderPartner(modelOf(raw)).file("/nat.rules").content;
        natIp = /--to-source (\S+)/.exec(after)?.[1] ?? "";
        instIp = full.inbound[0].target;

        ep = await startTestNode("natsw-ep");
        inst = createTestNetns("natsw-inst");
        host = createTestNetns("natsw-host");
        runInNodeOkSync(inst, ["ip", "link", "add", "eth0", "type", "veth", "peer", "name", "lan", "netns", ep.ns]);
        runInNodeOkSync(host, ["ip", "link", "add", "eth0", "type", "veth", "peer", "name", "wan", "netns", ep.ns]);
        runInNodeOkSync(ep, ["ip", "addr", "add", `${full.privateIp}/24`, "dev", "lan"]);
        runInNodeOkSync(ep, ["ip", "addr", "add", "198.51.100.1/24", "dev", "wan"]);
        for (const l of ["lan", "wan"]) runInNodeOkSync(ep, ["ip", "link", "set", l, "up"]);
        for (const h of [oldHost, newHost]) runInNodeOkSync(ep, ["ip", "route", "add", `${h}/32`, "via", "198.51.100.2"]);
        runInNodeOkSync(ep, ["sysctl", "-qw", "net.ipv4.ip_forward=1"]);
        runInNodeOkSync(inst, ["ip", "addr", "add", `${instIp}/24`, "dev", "eth0"]);
        runInNodeOkSync(inst, ["ip", "link", "set", "eth0", "up"]);
        runInNodeOkSync(inst, ["ip", "route", "add", "default", "via", full.privateIp]);
        runInNodeOkSync(host, ["ip", "addr", "add", "198.51.100.2/24", "dev", "eth0"]);
        runInNodeOkSync(host, ["ip", "link", "set", "eth0", "up"]);
        for (const h of [oldHost, newHost]) addAddress(host.ns, "lo", `${h}/32`);
        // Only the NAT IP routes back (the internet drops private sources).
        runInNodeOkSync(host, ["ip", "route", "add", `${natIp}/32`, "via", "198.51.100.1"]);
        for (const h of [oldHost, newHost]) runInNodeOkSync(host, ["sh", "-c", `timeout 100 socat TCP-LISTEN:${PORT},bind=${h},fork,reuseaddr SYSTEM:'echo ok' >/dev/null 2>&1 &`]);
        writeNodeFileSync(ep, BEFORE, before);
        writeNodeFileSync(ep, AFTER, after);
        libOk(`pvpn_restore_nat bigcorp ${BEFORE}`);
    });

    after(() => {
        if (ep) destroyNode(ep);
        if (inst) destroyNode(inst);
        if (host) destroyNode(host);
    });

    it("negative control: before the new host's rule, connections to it fail and stay pinned un-NATed", () => {
        expect(connectFrom(oldHost, 41101), "the existing host answers through its SNAT rule").to.equal(true);
        for (const p of SOURCE_PORTS) expect(connectFrom(newHost, p), `port ${p}`).to.equal(false);
        const pinned = entries(newHost);
        expect(SOURCE_PORTS.map((p) => pinned.get(p))).to.deep.equal(SOURCE_PORTS.map(() => instIp));
    });

    it("holds new connections to destinations the live rules do not SNAT yet, never the others", () => {
        libOk(`pvpn_hold_new_destinations bigcorp ${AFTER}`);
        try {
            const hold = runInNodeOkSync(ep as LabNode, ["iptables", "-S", "PVPN-bigcorp-HOLD"]);
            expect(hold).to.include(`-d ${newHost}/32`);
            expect(hold).not.to.include(oldHost);
            expect(runInNodeOkSync(ep as LabNode, ["iptables", "-S", "FORWARD"]).split("\n")[1]).to.equal("-A FORWARD -j PVPN-bigcorp-HOLD");
            // A held SYN is dropped before conntrack confirms it: nothing new can be pinned.
            expect(connectFrom(newHost, 41201)).to.equal(false);
            expect(entries(newHost).has(41201), "an entry for the held connection").to.equal(false);
            expect(connectFrom(oldHost, 41103), "the existing host during the hold").to.equal(true);
        } finally {
            libOk("pvpn_release_hold bigcorp");
        }
        expect(runInNodeOkSync(ep as LabNode, ["iptables", "-S"])).not.to.include("HOLD");
    });

    it("after the switch, a connection reusing a pinned source port is SNATed and answered", () => {
        libOk(`pvpn_restore_nat bigcorp ${AFTER}`);
        expect(entries(newHost).size, "pinned entries left after the switch").to.equal(0);
        for (const p of SOURCE_PORTS) expect(connectFrom(newHost, p), `port ${p} again`).to.equal(true);
        const now = entries(newHost);
        expect(SOURCE_PORTS.map((p) => now.get(p))).to.deep.equal(SOURCE_PORTS.map(() => natIp));
        expect(runInNodeOkSync(ep as LabNode, ["iptables", "-S"]), "the hold is gone").not.to.include("HOLD");
    });

    it("a hold left by a killed apply is removed by the next switch and by the removal", () => {
        runInNodeOkSync(ep as LabNode, ["iptables", "-N", "PVPN-bigcorp-HOLD"]);
        runInNodeOkSync(ep as LabNode, ["iptables", "-A", "PVPN-bigcorp-HOLD", "-d", `${oldHost}/32`, "-j", "DROP"]);
        runInNodeOkSync(ep as LabNode, ["iptables", "-I", "FORWARD", "1", "-j", "PVPN-bigcorp-HOLD"]);
        libOk(`pvpn_restore_nat bigcorp ${AFTER}`);
        expect(runInNodeOkSync(ep as LabNode, ["iptables", "-S"])).not.to.include("HOLD");
        expect(connectFrom(oldHost, 41105)).to.equal(true);
        runInNodeOkSync(ep as LabNode, ["iptables", "-N", "PVPN-bigcorp-HOLD"]);
        runInNodeOkSync(ep as LabNode, ["iptables", "-I", "FORWARD", "1", "-j", "PVPN-bigcorp-HOLD"]);
        libOk("pvpn_remove_nat bigcorp");
        expect(runInNodeOkSync(ep as LabNode, ["iptables", "-S"])).not.to.include("HOLD");
    });

    it("a destination the live chain SNATs but whose jump someone removed: pinned, then forgotten after the switch (never held)", () => {
        libOk(`pvpn_restore_nat bigcorp ${AFTER}`);
        expect(connectFrom(oldHost, 41301), "NATed while the jump is in place").to.equal(true);
        runInNodeOkSync(ep as LabNode, ["iptables", "-t", "nat", "-D", "POSTROUTING", "-j", "PVPN-bigcorp-POST"]);
        const ports = [41303, 41305];
        for (const p of ports) expect(connectFrom(oldHost, p), `port ${p} without the jump`).to.equal(false);
        expect(ports.map((p) => entries(oldHost).get(p)), "pinned un-NATed").to.deep.equal(ports.map(() => instIp));
        libOk(`pvpn_restore_nat bigcorp ${AFTER}`);
        expect(ports.filter((p) => entries(oldHost).has(p)), "pinned entries left after the switch").to.deep.equal([]);
        for (const p of ports) expect(connectFrom(oldHost, p), `port ${p} again`).to.equal(true);
        expect(ports.map((p) => entries(oldHost).get(p))).to.deep.equal(ports.map(() => natIp));
    });
});

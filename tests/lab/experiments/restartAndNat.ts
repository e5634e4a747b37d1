/**
 * Experiments e and f: the naive redeploy (restart charon, flush and re-create NAT rules) under
 * traffic, and whether an `iptables-restore --noflush` payload declaring our own chains replaces
 * just those chains atomically and idempotently (nf_tables backend), also under traffic.
 */
import * as crypto from "crypto";
import { teardownNamespaces } from "../../../lab/cleanup";
import { run, sleep } from "../../../lab/exec";
import { createNamespace, inNetns } from "../../../lab/netns";
import { sshRun } from "../../../lab/sshd";
import { waitEstablished } from "../../../lab/strongswan";
import { buildLab, restartEndpointCharon, teardownLab } from "../../../lab/topology";
import { startStream } from "../../../lab/traffic";
import { seedNatRules } from "../fixtures/handWrittenEndpoint";
import { bringUpHandWrittenTunnel, HTTP_PORT, iptablesCommand, startStandardServers } from "../fixtures/tunnel";
import { Report, streamFacts } from "./report";

/** e: restart charon and re-create the NAT rules the naive way, under a 20 req/s stream each way. */
export async function experimentNaiveRestart(): Promise<Report> {
    const report = new Report("e. The naive way: restart charon, --load-all, flush and re-create NAT rules, under traffic");
    const lab = await buildLab();
    try {
        const partner = lab.partners[0];
        await startStandardServers(lab, partner);
        const setup = await bringUpHandWrittenTunnel(lab, partner, 2);
        const [h1] = partner.spec.remoteHosts;
        const out = startStream(lab.instances[0].node, { host: h1, port: HTTP_PORT, rate: 20, maxCount: 700, maxSeconds: 30 });
        const inb = startStream(partner.pgw, { host: partner.spec.natIp, from: h1, port: HTTP_PORT, rate: 20, maxCount: 700, maxSeconds: 30 });
        await sleep(3000);
        const t0 = Date.now();
        await restartEndpointCharon(partner); // = systemctl restart strongswan
        const rules = seedNatRules(lab.spec.subnetCidr, partner.spec.natIp, setup.inbound);
        const script = ["swanctl --load-all", "iptables -w 5 -t nat -F", ...rules.map(iptablesCommand)].join("\n");
        const r = await sshRun(lab.admin, lab.keys, partner.spec.privateIp, script);
        report.command("ep: charon stopped and started by the lab (systemctl restart), then via ssh", script, r.stdout + r.stderr, r.code);
        await waitEstablished(partner.ep, setup.connName, setup.children, 30_000);
        const up = Date.now();
        report.say(`restart began at +0 s; both CHILD_SAs INSTALLED again at +${((up - t0) / 1000).toFixed(2)} s`);
        const [ro, ri] = await Promise.all([out.done, inb.done]);
        report.data(`outbound stream inst1 -> ${h1}`, streamFacts(ro));
        report.data(`inbound stream ${h1} -> NAT IP`, streamFacts(ri));
        report.finding(
            `naive restart: ${ro.filter((x) => !x.ok).length} of ${ro.length} outbound and ${ri.filter((x) => !x.ok).length} of ${ri.length} inbound requests failed`,
        );
    } finally {
        teardownLab(lab);
    }
    return report;
}

/** iptables-save of the nat table without the comment lines and counters, for comparisons. */
async function natState(ns: string): Promise<string> {
    const r = await run(inNetns(ns, ["iptables-save", "-t", "nat"]));
    return r.stdout
        .split("\n")
        .filter((l) => l && !l.startsWith("#"))
        .map((l) => l.replace(/ \[\d+:\d+\]$/, ""))
        .join("\n");
}

async function restore(report: Report, ns: string, label: string, payload: string, args: string[] = ["--noflush"]): Promise<number | null> {
    const r = await run(inNetns(ns, ["iptables-restore", "-w", "5", ...args]), { input: payload });
    report.command(`${label}`, `iptables-restore ${args.join(" ")} <<EOF\n${payload}EOF`, r.stdout + r.stderr, r.code);
    return r.code;
}

function chainPayload(hosts: readonly string[], extra: string[] = []): string {
    return [
        "*nat",
        ":PVPN-x-POST - [0:0]",
        ":PVPN-x-PRE - [0:0]",
        ...hosts.map((h) => `-A PVPN-x-POST -s 172.16.0.0/24 -d ${h}/32 -j SNAT --to-source 192.0.2.23`),
        ...hosts.map((h, i) => `-A PVPN-x-PRE -s ${h}/32 -d 192.0.2.23/32 -j DNAT --to-destination 172.16.0.${10 + i}`),
        ...extra,
        "COMMIT",
        "",
    ].join("\n");
}

/** f (static part): in a throwaway namespace, compare iptables-save after each restore. */
export async function experimentChainRestore(): Promise<Report> {
    const report = new Report("f. iptables-restore --noflush with our own chains (nf_tables backend)");
    const ns = `pvl-${crypto.randomBytes(2).toString("hex")}-natf`;
    createNamespace(ns);
    try {
        const setupOthers = [
            "iptables -t nat -N OTHER-POST",
            "iptables -t nat -A OTHER-POST -d 198.51.100.99/32 -j MASQUERADE",
            "iptables -t nat -A POSTROUTING -j OTHER-POST",
            "iptables -t nat -A POSTROUTING -s 10.9.0.0/16 -j ACCEPT",
            "iptables -t nat -A PREROUTING -d 198.51.100.98/32 -j DNAT --to-destination 10.9.0.1",
        ];
        for (const c of setupOthers) await run(inNetns(ns, c.split(" ")));
        const s0 = await natState(ns);
        report.command(ns, "iptables-save -t nat (someone else's rules, before)", s0);

        const [h1, h2] = ["203.0.113.7", "203.0.113.135"];
        const jump = ["-A POSTROUTING -j PVPN-x-POST", "-A PREROUTING -j PVPN-x-PRE"];
        await restore(report, ns, "first apply, chains and jumps", chainPayload([h1], jump));
        const s1 = await natState(ns);
        report.command(ns, "iptables-save -t nat", s1);
        await restore(report, ns, "same payload again", chainPayload([h1], jump));
        const s1b = await natState(ns);
        report.command(ns, "iptables-save -t nat", s1b);
        report.finding(`re-applying a payload that contains the -A jumps duplicates them: ${s1b.split("-j PVPN-x-POST").length - 1} POSTROUTING jumps after two applies`);

        // Reset: jumps installed once (guarded by -C), chain content from the payload only.
        await run(inNetns(ns, ["iptables", "-t", "nat", "-D", "POSTROUTING", "-j", "PVPN-x-POST"]));
        await run(inNetns(ns, ["iptables", "-t", "nat", "-D", "PREROUTING", "-j", "PVPN-x-PRE"]));
        const chainsOnly = chainPayload([h1]);
        await restore(report, ns, "chains only (jumps already present once)", chainsOnly);
        const s2 = await natState(ns);
        await restore(report, ns, "chains only, again", chainsOnly);
        const s3 = await natState(ns);
        report.command(ns, "iptables-save -t nat after applying the chains-only payload twice", s3);
        report.finding(`chains-only payload re-applied: iptables-save identical: ${s2 === s3}`);

        await restore(report, ns, "changed payload (second host)", chainPayload([h1, h2]));
        const s4 = await natState(ns);
        report.command(ns, "iptables-save -t nat", s4);
        const others = (s: string): string => s.split("\n").filter((l) => !l.includes("PVPN")).join("\n");
        report.finding(
            `declared chains were flushed and refilled (exactly ${s4.split("\n").filter((l) => l.startsWith("-A PVPN-x-POST")).length} rules in PVPN-x-POST), other chains untouched: ${others(s4) === others(s0)}`,
        );

        const good = s4;
        const bad = chainPayload([h1], ["-A PVPN-x-POST -d 203.0.113.9/32 -j NOPE-NOT-A-CHAIN"]);
        await restore(report, ns, "bad payload, --test", bad, ["--test", "--noflush"]);
        await restore(report, ns, "bad payload (jump to a missing chain) for real", bad);
        const s5 = await natState(ns);
        report.finding(`a failing payload left the previous rules in place (atomic): ${s5 === good}`);
        const badAddr = chainPayload(["300.1.1.1"]);
        await restore(report, ns, "bad address", badAddr);
        report.finding(`after a bad-address payload the rules are unchanged: ${(await natState(ns)) === good}`);
        await restore(report, ns, "user chain declared with --noflush but deleted from the payload? (PVPN-x-PRE omitted)", ["*nat", ":PVPN-x-POST - [0:0]", `-A PVPN-x-POST -s 172.16.0.0/24 -d ${h2}/32 -j SNAT --to-source 192.0.2.23`, "COMMIT", ""].join("\n"));
        const s6 = await natState(ns);
        report.command(ns, "iptables-save -t nat", s6);
        report.finding(`a chain not declared in the payload is left alone (PVPN-x-PRE kept its rules): ${s6.includes("-A PVPN-x-PRE")}`);
    } finally {
        teardownNamespaces([ns]);
    }
    return report;
}

/** f (live part): replace the SNAT/DNAT chains 20 times while traffic flows through them. */
export async function experimentChainRestoreUnderTraffic(): Promise<Report> {
    const report = new Report("f (live). Re-applying the chain payload 20 times under a 20 req/s stream each way");
    const lab = await buildLab();
    try {
        const partner = lab.partners[0];
        await startStandardServers(lab, partner);
        const setup = await bringUpHandWrittenTunnel(lab, partner, 2);
        const s = partner.spec;
        const payload = [
            "*nat",
            ":PVPN-lab-POST - [0:0]",
            ":PVPN-lab-PRE - [0:0]",
            ...setup.inbound.map(({ host }) => `-A PVPN-lab-POST -s ${lab.spec.subnetCidr} -d ${host}/32 -j SNAT --to-source ${s.natIp}`),
            ...setup.inbound.map(({ host, target }) => `-A PVPN-lab-PRE -s ${host}/32 -d ${s.natIp}/32 -j DNAT --to-destination ${target}`),
            "COMMIT",
            "",
        ].join("\n");
        const install = [
            "iptables -w 5 -t nat -F POSTROUTING",
            "iptables -w 5 -t nat -F PREROUTING",
            `cat > /tmp/pvpn-lab.rules <<'PVL_EOF'\n${payload}PVL_EOF`,
            "iptables-restore -w 5 --noflush < /tmp/pvpn-lab.rules",
            "iptables -w 5 -t nat -C POSTROUTING -j PVPN-lab-POST 2>/dev/null || iptables -w 5 -t nat -A POSTROUTING -j PVPN-lab-POST",
            "iptables -w 5 -t nat -C PREROUTING -j PVPN-lab-PRE 2>/dev/null || iptables -w 5 -t nat -A PREROUTING -j PVPN-lab-PRE",
            "iptables-save -t nat | grep -v '^#'",
        ].join("\n");
        const r0 = await sshRun(lab.admin, lab.keys, s.privateIp, install);
        report.command("ep via ssh: move the seed rules into our own chains", install, r0.stdout + r0.stderr, r0.code);
        const [h1] = s.remoteHosts;
        const out = startStream(lab.instances[0].node, { host: h1, port: HTTP_PORT, rate: 20, maxCount: 400, maxSeconds: 15 });
        const inb = startStream(partner.pgw, { host: s.natIp, from: h1, port: HTTP_PORT, rate: 20, maxCount: 400, maxSeconds: 15 });
        await sleep(2000);
        const loop = "for i in $(seq 1 20); do iptables-restore -w 5 --noflush < /tmp/pvpn-lab.rules || exit 1; sleep 0.25; done; iptables-save -t nat | grep -c PVPN";
        const r1 = await sshRun(lab.admin, lab.keys, s.privateIp, loop);
        report.command("ep via ssh", loop, r1.stdout + r1.stderr, r1.code);
        const [ro, ri] = await Promise.all([out.done, inb.done]);
        report.data(`outbound inst1 -> ${h1}`, streamFacts(ro));
        report.data(`inbound ${h1} -> NAT IP`, streamFacts(ri));
        report.finding(`20 chain replacements under traffic: ${ro.filter((x) => !x.ok).length}/${ro.length} outbound and ${ri.filter((x) => !x.ok).length}/${ri.length} inbound requests failed`);
    } finally {
        teardownLab(lab);
    }
    return report;
}

/**
 * Experiments a-d: what `swanctl --load-all` does to established SAs when a child is added, when
 * nothing changed, and when the new config is invalid, measured under a steady request stream.
 */
import { sleep } from "../../../lab/exec";
import { sshRun } from "../../../lab/sshd";
import { listSas } from "../../../lab/strongswan";
import { buildLab, Lab, LabPartner, teardownLab } from "../../../lab/topology";
import { failuresBetween, RequestStream, secondsUntilFirstSuccess, startStream } from "../../../lab/traffic";
import { endpointChildName, handWrittenEndpointConf } from "../fixtures/handWrittenEndpoint";
import { bringUpHandWrittenTunnel, endpointParams, EP_CONF_PATH, HTTP_PORT, startStandardServers } from "../fixtures/tunnel";
import { compareChildren, logMark, logSince, Report, snapshotSas, streamFacts } from "./report";

const INTERESTING = /CHILD_SA|IKE_SA|delet|rekeying|initiat|establish|unload|load|replac|closing|TS_UNACCEPTABLE|error|fail/i;

/** The push of a swanctl file plus `--load-all`, over ssh, exactly as reported. */
async function pushAndLoad(lab: Lab, partner: LabPartner, report: Report, conf: string, label: string): Promise<{ code: number | null; at: number }> {
    const script = `umask 077\ncat > ${EP_CONF_PATH} <<'PVL_EOF'\n${conf}PVL_EOF\nswanctl --load-all; echo "swanctl exit: $?"`;
    const at = Date.now();
    const r = await sshRun(lab.admin, lab.keys, partner.spec.privateIp, script);
    report.command(`ep via ssh, ${label}`, `cat > ${EP_CONF_PATH} <<EOF ... EOF; swanctl --load-all`, r.stdout + r.stderr, r.code);
    const code = Number(/swanctl exit: (\d+)/.exec(r.stdout)?.[1] ?? NaN);
    return { code: Number.isNaN(code) ? null : code, at };
}

async function withLab(body: (lab: Lab, partner: LabPartner) => Promise<void>): Promise<void> {
    const lab = await buildLab();
    try {
        await startStandardServers(lab, lab.partners[0]);
        await body(lab, lab.partners[0]);
    } finally {
        teardownLab(lab);
    }
}

function streams(lab: Lab, hosts: readonly string[], seconds: number): RequestStream[] {
    return hosts.map((host, i) =>
        startStream(lab.instances[i % lab.instances.length].node, { host, port: HTTP_PORT, rate: 20, maxCount: 20 * seconds + 20, maxSeconds: seconds }),
    );
}

/** a (IKEv2) and b (IKEv1): append a second child to the conn and `--load-all` under traffic. */
export async function experimentAddChild(version: 1 | 2): Promise<Report> {
    const report = new Report(`${version === 2 ? "a" : "b"}. IKEv${version}: append a second child and run swanctl --load-all under traffic`);
    await withLab(async (lab, partner) => {
        const [h1, h2] = partner.spec.remoteHosts;
        const setup = await bringUpHandWrittenTunnel(lab, partner, version, [h1]);
        const before = await snapshotSas(partner.ep);
        report.data("SAs before (one child)", before);
        const [s1, s2] = streams(lab, [h1, h2], 25);
        await sleep(3000);
        const mark = logMark(partner.epCharon!.logPath);
        const conf = handWrittenEndpointConf(endpointParams(partner, version, [h1, h2]));
        const load = await pushAndLoad(lab, partner, report, conf, "two children, start_action = start");
        const child2 = endpointChildName(h2);
        let autoInstalledAt: number | undefined;
        for (let i = 0; i < 75 && !autoInstalledAt; i++) {
            const { sas } = await listSas(partner.ep);
            if (sas.some((s) => s.children.some((c) => c.name === child2 && c.state === "INSTALLED"))) autoInstalledAt = Date.now();
            else await sleep(200);
        }
        if (autoInstalledAt) {
            report.finding(`the new child ${child2} was initiated automatically by --load-all (start_action = start): INSTALLED ${((autoInstalledAt - load.at) / 1000).toFixed(2)} s after the push started`);
        } else {
            report.finding(`the new child ${child2} was NOT initiated within 15 s of --load-all; initiating it explicitly`);
            const r = await sshRun(lab.admin, lab.keys, partner.spec.privateIp, `swanctl --initiate --child ${child2} --timeout 15`);
            report.command("ep via ssh", `swanctl --initiate --child ${child2} --timeout 15`, r.stdout + r.stderr, r.code);
        }
        const [r1, r2] = await Promise.all([s1.done, s2.done]);
        const after = await snapshotSas(partner.ep);
        report.data("SAs after", after);
        report.data("existing child vs before", compareChildren(before, after));
        report.data(`stream to ${h1} (existing child)`, { ...streamFacts(r1), failedFromLoadOn: failuresBetween(r1, load.at, Date.now()) });
        report.data(`stream to ${h2} (new child)`, streamFacts(r2));
        const firstOk = secondsUntilFirstSuccess(r2, load.at);
        report.finding(
            `existing child SPIs unchanged: ${compareChildren(before, after).same.length === before.children.length}; ` +
                `failed requests to ${h1}: ${r1.filter((r) => !r.ok).length}/${r1.length}; ` +
                `new host ${h2} first answered ${firstOk === undefined ? "never" : `${firstOk.toFixed(2)} s`} after the push started`,
        );
        report.command("charon log on ep", `(lines since the push matching ${INTERESTING.source})`, logSince(partner.epCharon!.logPath, mark, INTERESTING).join("\n"));
        void setup;
    });
    return report;
}

/** c: `--load-all` with an unchanged config, three times, under traffic. */
export async function experimentUnchangedReload(version: 1 | 2): Promise<Report> {
    const report = new Report(`c. IKEv${version}: swanctl --load-all with an unchanged config (3 times) under traffic`);
    await withLab(async (lab, partner) => {
        const hosts = partner.spec.remoteHosts;
        await bringUpHandWrittenTunnel(lab, partner, version, hosts);
        const before = await snapshotSas(partner.ep);
        const s = streams(lab, hosts, 12);
        await sleep(2000);
        const mark = logMark(partner.epCharon!.logPath);
        for (let i = 0; i < 3; i++) {
            const r = await sshRun(lab.admin, lab.keys, partner.spec.privateIp, "swanctl --load-all");
            report.command("ep via ssh", "swanctl --load-all", r.stdout + r.stderr, r.code);
            await sleep(1000);
        }
        const results = await Promise.all(s.map((x) => x.done));
        const after = await snapshotSas(partner.ep);
        report.data("children before/after", compareChildren(before, after));
        report.data("IKE_SAs before", before.ike);
        report.data("IKE_SAs after", after.ike);
        results.forEach((r, i) => report.data(`stream to ${hosts[i]}`, streamFacts(r)));
        report.command("charon log on ep", "(lines since the first reload)", logSince(partner.epCharon!.logPath, mark, INTERESTING).join("\n"));
        const same = compareChildren(before, after).same.length === before.children.length && after.children.length === before.children.length;
        report.finding(
            `unchanged --load-all: all CHILD_SAs kept (same SPIs, no extra SAs): ${same}; IKE_SA kept: ${JSON.stringify(before.ike) === JSON.stringify(after.ike)}; ` +
                `failed requests: ${results.map((r) => r.filter((x) => !x.ok).length).join(", ")}`,
        );
    });
    return report;
}

/** d: a config with an invalid proposal, then one with a syntax error, under traffic. */
export async function experimentInvalidConfig(): Promise<Report> {
    const report = new Report("d. IKEv2: --load-all with an invalid proposal, then with a syntax error");
    await withLab(async (lab, partner) => {
        const hosts = partner.spec.remoteHosts;
        const setup = await bringUpHandWrittenTunnel(lab, partner, 2, hosts);
        const good = handWrittenEndpointConf(setup.params);
        const before = await snapshotSas(partner.ep);
        const s = streams(lab, hosts, 20);
        await sleep(2000);
        const mark = logMark(partner.epCharon!.logPath);
        const cases: Array<[string, string]> = [
            ["invalid IKE proposal aes999-sha256-modp2048", good.replace(/proposals = aes256-sha256-modp2048\n {8}dpd/, "proposals = aes999-sha256-modp2048\n        dpd")],
            ["invalid ESP proposal aes999-sha256-modp2048", good.replace(/esp_proposals = aes256-sha256-modp2048/, "esp_proposals = aes999-sha256-modp2048")],
            ["syntax error (a closing brace removed)", good.replace(/\n {8}}\n {8}children/, "\n        children")],
        ];
        const phases: Array<[string, number]> = [];
        for (const [label, conf] of cases) {
            if (conf === good) throw new Error(`fixture edit for "${label}" did not apply`);
            // A syntax check that needs no daemon: swanctl parses STRONGSWAN_CONF at start-up and
            // aborts with exit 64 on a syntax error; semantics (proposals) are not checked there.
            const check = await sshRun(
                lab.admin,
                lab.keys,
                partner.spec.privateIp,
                `cat > /tmp/candidate.conf <<'PVL_EOF'\n${conf}PVL_EOF\nSTRONGSWAN_CONF=/tmp/candidate.conf swanctl --help >/dev/null; echo "syntax check exit: $?"`,
            );
            report.command("ep via ssh, syntax check of the candidate", "STRONGSWAN_CONF=/tmp/candidate.conf swanctl --help >/dev/null", check.stdout + check.stderr, check.code);
            const load = await pushAndLoad(lab, partner, report, conf, label);
            phases.push([label, load.at]);
            const conns = await sshRun(lab.admin, lab.keys, partner.spec.privateIp, "swanctl --list-conns | grep -E '^[^ ].*:' ; swanctl --list-sas | grep -E 'ESTABLISHED|INSTALLED'");
            report.command("ep via ssh, right after", "swanctl --list-conns | grep conns; swanctl --list-sas | grep states", conns.stdout + conns.stderr, conns.code);
            await sleep(2000);
        }
        const restored = await pushAndLoad(lab, partner, report, good, "the good config again");
        phases.push(["the good config again", restored.at]);
        const results = await Promise.all(s.map((x) => x.done));
        phases.push(["end", Date.now()]);
        report.data(
            "failed requests per phase (all streams), from each push to the next",
            phases.slice(0, -1).map(([label, at], i) => ({
                phase: label,
                failed: results.reduce((n, r) => n + failuresBetween(r, at, phases[i + 1][1]), 0),
            })),
        );
        const after = await snapshotSas(partner.ep);
        report.data("children before/after", compareChildren(before, after));
        results.forEach((r, i) => report.data(`stream to ${hosts[i]}`, streamFacts(r)));
        report.command("charon log on ep", "(lines since the first bad load)", logSince(partner.epCharon!.logPath, mark, INTERESTING).join("\n"));
    });
    return report;
}

/** g: change a setting of an existing child, then remove a child, with `--load-all` under traffic. */
export async function experimentChangeAndRemoveChild(version: 1 | 2): Promise<Report> {
    const report = new Report(`g. IKEv${version}: change an existing child's setting, then remove a child, with --load-all under traffic`);
    await withLab(async (lab, partner) => {
        const hosts = partner.spec.remoteHosts;
        const setup = await bringUpHandWrittenTunnel(lab, partner, version, hosts);
        const good = handWrittenEndpointConf(setup.params);
        const s = streams(lab, hosts, 16);
        await sleep(2000);
        const mark = logMark(partner.epCharon!.logPath);
        const before = await snapshotSas(partner.ep);
        // Only the first child's rekey time changes; everything else is byte-identical.
        const changed = good.replace(/(h-203-0-113-7 \{\n)/, "$1            rekey_time = 50m\n");
        if (changed === good) throw new Error("fixture edit did not apply");
        const t1 = await pushAndLoad(lab, partner, report, changed, "first child's rekey_time changed");
        await sleep(3000);
        const mid = await snapshotSas(partner.ep);
        report.data("after changing the first child: children vs before", compareChildren(before, mid));
        const removed = handWrittenEndpointConf({ ...setup.params, hosts: [hosts[0]] }).replace(/(h-203-0-113-7 \{\n)/, "$1            rekey_time = 50m\n");
        const t2 = await pushAndLoad(lab, partner, report, removed, `second child (${hosts[1]}) removed`);
        await sleep(3000);
        const after = await snapshotSas(partner.ep);
        report.data("after removing the second child: children vs the previous step", compareChildren(mid, after));
        const [r1, r2] = await Promise.all(s.map((x) => x.done));
        report.data(`stream to ${hosts[0]} (changed child)`, { ...streamFacts(r1), failedAfterChange: failuresBetween(r1, t1.at, t2.at) });
        report.data(`stream to ${hosts[1]} (removed child)`, { ...streamFacts(r2), failedAfterChange: failuresBetween(r2, t1.at, t2.at), failedAfterRemoval: failuresBetween(r2, t2.at, Date.now()) });
        report.command("charon log on ep", "(lines since the first push)", logSince(partner.epCharon!.logPath, mark, INTERESTING).join("\n"));
    });
    return report;
}

/**
 * Tunnels that restore themselves (core/render/swanctl.ts, charonSettings.ts), proven with the
 * lab's partner answering only (its start_action is none, as the handoff sheet asks):
 * - partner-outage: the partner's gateway is cut off for longer than our whole retry sequence
 *   (a DPD interval, the failed probe's retransmissions, then a failed initiation sequence),
 *   then returns without initiating anything: our side must bring every child back by itself,
 *   and no packet towards the partner's hosts may leave the endpoint unencrypted meanwhile;
 * - partner-restart: the partner's charon restarts and forgets every SA; traffic resumes
 *   without us restarting anything;
 * - our-restart: our charon is killed and restarted as systemd does (strongswan.service's
 *   ExecStartPost loads the config): children and NAT come back.
 * Each measures seconds until an outbound request is answered again.
 */
import { retransmitSequenceSeconds, swanctlChildName, swanctlConnectionName } from "../../core/render";
import { natChainNames } from "../../core/render/nat";
import type { CheckDefinition, Recorder } from "../checkResult";
import { sleep } from "../exec";
import { outboundFlows, sendFlow, type Flow } from "../flows";
import { runInNodeOk } from "../node";
import { startCharon, stopCharon, swanctl } from "../strongswan";
import { settle, type PartnerRun, type StackSession } from "../stackSession";
import { endpointCharonPid, iptablesIn, restartEndpointCharon, waitForVici } from "../topology";
import { client, recordFlows } from "./connectivity";

/** kernel-libipsec's TUN device on the endpoint: the only way out for tunnelled traffic. */
const TUNNEL_DEVICE = "ipsec0";
const CLEARTEXT_COMMENT = "pvpn-lab cleartext to partner host";

/** Sends `flow` every second until it is answered or `limitSeconds` pass; seconds from `t0`. */
async function secondsUntilAnswered(flow: Flow, t0: number, limitSeconds: number): Promise<number | undefined> {
    while ((Date.now() - t0) / 1000 < limitSeconds) {
        const started = Date.now();
        if ((await sendFlow(flow, 2)).ok) return (Date.now() - t0) / 1000;
        await sleep(Math.max(0, 1000 - (Date.now() - started)));
    }
    return undefined;
}

/** Counts packets to the partner's hosts that leave the endpoint other than through the tunnel. */
async function countCleartext(p: PartnerRun): Promise<() => Promise<number>> {
    const hosts = p.model.remoteHosts;
    for (const h of hosts) {
        await iptablesIn(p.lab.ep, ["-t", "mangle", "-A", "POSTROUTING", "!", "-o", TUNNEL_DEVICE, "-d", h, "-m", "comment", "--comment", CLEARTEXT_COMMENT]);
    }
    return async () => {
        const out = await runInNodeOk(p.lab.ep, ["iptables", "-w", "5", "-t", "mangle", "-L", "POSTROUTING", "-v", "-x", "-n"]);
        const packets = out.split("\n").filter((l) => l.includes(CLEARTEXT_COMMENT)).reduce((sum, l) => sum + Number(l.trim().split(/\s+/)[0]), 0);
        for (const h of hosts) await iptablesIn(p.lab.ep, ["-t", "mangle", "-D", "POSTROUTING", "!", "-o", TUNNEL_DEVICE, "-d", h, "-m", "comment", "--comment", CLEARTEXT_COMMENT]);
        return packets;
    };
}

async function recordChildren(s: StackSession, p: PartnerRun, rec: Recorder, prefix: string): Promise<void> {
    const children = p.model.remoteHosts.map((h) => swanctlChildName(p.model.name, h));
    const ok = await settle(s, p, 60_000).then(() => true, () => false);
    rec.measure(`${prefix}every CHILD_SA installed again (${children.join(", ")})`, ok ? "installed" : "not within 60 s", ok);
}

export const partnerOutageCheck: CheckDefinition<StackSession> = {
    id: "partner-outage",
    title: "Partner outage longer than our whole retry sequence, then back as a responder: we restore every child, nothing leaves in clear text",
    run: async (s, rec) => {
        for (const p of s.partners) {
            const name = p.model.name;
            const dpd = p.model.ike.dpdDelay;
            const sequence = retransmitSequenceSeconds();
            // The old default (keyingtries 1) gave up after: the DPD interval, the probe's
            // retransmissions, one initiation sequence. Stay away longer than all of that.
            const outage = Math.ceil(dpd + 2 * sequence + 10);
            const flow = outboundFlows(s.model, p.model, p.lab, client(s))[0];
            const tunnelIp = `${p.lab.spec.tunnelIp}/32`;
            const cut = [["INPUT", "-s"], ["OUTPUT", "-d"]];
            const cleartext = await countCleartext(p);
            for (const [chain, dir] of cut) await iptablesIn(p.lab.pgw, ["-I", chain, dir, tunnelIp, "-j", "DROP"]);
            const t0 = Date.now();
            let answeredDuring = 0;
            let sent = 0;
            while ((Date.now() - t0) / 1000 < outage) {
                sent++;
                if ((await sendFlow(flow, 2)).ok) answeredDuring++;
                await sleep(1000);
            }
            const state = (await swanctl(p.lab.ep, ["--list-sas", "--ike", swanctlConnectionName(name)])).stdout.split("\n")[0] ?? "";
            rec.info(`${name}: outage`, `${outage} s (DPD ${dpd} s + 2 x ${sequence.toFixed(1)} s retransmission sequence + 10 s); ${sent} requests sent meanwhile; our IKE_SA at its end: ${state.trim() || "none"}`);
            rec.equal(`${name}: requests answered while the partner was away`, answeredDuring, 0);
            for (const [chain, dir] of cut) await iptablesIn(p.lab.pgw, ["-D", chain, dir, tunnelIp, "-j", "DROP"]);
            const back = Date.now();
            const seconds = await secondsUntilAnswered(flow, back, 120);
            const goal = dpd + 5;
            rec.measure(`${name}: seconds from the partner's return to the first answered ${flow.label} (goal: at most DPD ${dpd} s + 5 s)`, seconds?.toFixed(1) ?? "never (120 s)", seconds !== undefined && seconds <= goal);
            rec.equal(`${name}: packets to the partner's hosts that left the endpoint outside the tunnel (whole outage and recovery)`, await cleartext(), 0);
            await recordChildren(s, p, rec, `${name}: `);
            await recordFlows(s, p, rec, `${name}: after the outage: `, true);
        }
    },
};

export const partnerRestartCheck: CheckDefinition<StackSession> = {
    id: "partner-restart",
    title: "The partner's charon restarts and forgets every SA: traffic resumes without us restarting anything",
    run: async (s, rec) => {
        for (const p of s.partners) {
            const name = p.model.name;
            const flow = outboundFlows(s.model, p.model, p.lab, client(s))[0];
            rec.measure(`${name}: before: ${flow.label}`, (await sendFlow(flow, 3)).observed, true);
            const t0 = Date.now();
            if (p.lab.pgwCharon) await stopCharon(p.lab.pgwCharon);
            p.lab.pgwCharon = await startCharon(p.lab.pgw);
            const load = await swanctl(p.lab.pgw, ["--load-all", "--noprompt"]);
            rec.equal(`${name}: the partner's config loaded again (swanctl --load-all exit code)`, load.code, 0);
            const limit = p.model.ike.dpdDelay + retransmitSequenceSeconds() + 30;
            const seconds = await secondsUntilAnswered(flow, t0, limit);
            rec.measure(
                `${name}: seconds from the partner's restart until ${flow.label} answered (goal: within DPD ${p.model.ike.dpdDelay} s + one retransmission sequence + 30 s)`,
                seconds?.toFixed(1) ?? `never (${limit.toFixed(0)} s)`, seconds !== undefined,
            );
            await recordChildren(s, p, rec, `${name}: `);
            await recordFlows(s, p, rec, `${name}: after the partner's restart: `, true);
        }
    },
};

export const ourRestartCheck: CheckDefinition<StackSession> = {
    id: "our-restart",
    title: "Our charon is killed and restarted as systemd does: children and NAT come back",
    run: async (s, rec) => {
        for (const p of s.partners) {
            const name = p.model.name;
            const flow = outboundFlows(s.model, p.model, p.lab, client(s))[0];
            const chains = natChainNames(name);
            const t0 = Date.now();
            if (p.lab.booted) {
                // A booted endpoint: systemd itself restarts charon-systemd (strongswan.service's
                // Restart=on-abnormal) and runs its ExecStartPost `swanctl --load-all`.
                process.kill(endpointCharonPid(p.lab), "SIGKILL");
                await sleep(200);
                await waitForVici(p.lab.ep, 60_000);
            } else {
                p.lab.epCharon?.process.child.kill("SIGKILL");
                await sleep(200);
                // strongswan.service: Restart=on-abnormal starts charon again, ExecStartPost runs swanctl --load-all.
                await restartEndpointCharon(p.lab);
            }
            const load = await swanctl(p.lab.ep, ["--load-all", "--noprompt"]);
            rec.equal(`${name}: swanctl --load-all after the restart (exit code)`, load.code, 0);
            const seconds = await secondsUntilAnswered(flow, t0, 60);
            rec.measure(`${name}: seconds from the kill until ${flow.label} answered`, seconds?.toFixed(1) ?? "never (60 s)", seconds !== undefined);
            const nat = await runInNodeOk(p.lab.ep, ["iptables-save", "-t", "nat"]);
            rec.equal(`${name}: NAT chains still in place`, [chains.pre, chains.post].filter((c) => nat.includes(`-j ${c}`)).length, 2);
            await recordChildren(s, p, rec, `${name}: `);
            await recordFlows(s, p, rec, `${name}: after our restart: `, true);
        }
    },
};

/**
 * Metrics: the endpoint's publisher (pushed by the apply, as on EC2) runs every period against
 * Debian 13's moto_server with credentials from the lab's IMDSv2, and the policy the program
 * renders loaded into moto. With tunnels up moto holds TunnelState 1 for every child and for the
 * partner; with the partner gone (its charon stopped: it deletes its SAs) every one turns 0
 * within two periods; back to 1 once the partner returns. A call outside the policy is refused
 * (negative control); no credential appears in any argument list, the publisher's log or a file
 * under /var/log. The lab overrides exactly one thing: the CloudWatch URL (PVPN_CLOUDWATCH_URL).
 */
import * as path from "path";
import { swanctlChildName, swanctlConnectionName } from "../../core/render";
import { METRICS_SCRIPT } from "../../core/render/paths";
import { renderAssumeRolePolicy, renderPublisherPolicy } from "../../core/render/monitoring";
import type { CheckDefinition, Recorder } from "../checkResult";
import { run, sleep } from "../exec";
import { IMDS_ADDRESS, startImds } from "../imds";
import { ensureMotoRoot, LAB_REGION, policyForMoto, readMetrics, setUpEndpointRole, startMoto, type AdminKey, type RoleCredentials } from "../moto";
import { addAddress, inNetns } from "../netns";
import { inNode, OVERLAID_DIRS } from "../node";
import { partnerChildName } from "../partnerSide";
import { CmdlineWatch, filesHolding } from "../secretScan";
import { settle, type PartnerRun, type StackSession } from "../stackSession";
import { startCharon, stopCharon, swanctl } from "../strongswan";

const READ_PERIOD = 60;

interface Context {
    readonly s: StackSession;
    readonly p: PartnerRun;
    readonly root: string;
    readonly admin: AdminKey;
    readonly creds: RoleCredentials;
    readonly url: string;
    readonly watch: CmdlineWatch;
    readonly log: string[];
    /** Publisher runs that exited non-zero, with their last lines. */
    readonly failures: string[];
}

/** One publisher run in the endpoint node, as the timer's service runs it (plus the lab's URL). */
async function publish(c: Context): Promise<{ code: number | null; started: Date }> {
    const started = new Date();
    const period = c.s.model.monitoring.periodSeconds;
    c.watch.start();
    try {
        const r = await run(inNode(c.p.lab.ep, ["env", `PVPN_CLOUDWATCH_URL=${c.url}`, METRICS_SCRIPT, String(period)]), { timeoutMs: 60_000 });
        const lines = `${r.stdout}${r.stderr}`.split("\n").filter((l) => l.trim());
        c.log.push(...lines);
        if (r.code !== 0) c.failures.push(`exit ${r.code}: ${lines.slice(-2).join(" | ")}`);
        return { code: r.code, started };
    } finally {
        c.watch.stop();
        c.watch.sweep();
    }
}

/** TunnelState per child and for the partner, as moto holds it for data published since `since`. */
async function tunnelStates(c: Context, since: Date): Promise<Record<string, number[]>> {
    const partner = c.p.model.name;
    const queries = [
        { label: `${partner} (partner)`, dimensions: { Partner: partner } },
        ...c.p.model.remoteHosts.map((h) => ({ label: `${partner} ${h}`, dimensions: { Partner: partner, RemoteHost: h } })),
    ];
    const points = await readMetrics(c.root, c.p.lab.ep.ns, c.admin, new Date(since.getTime() - 1000), READ_PERIOD, queries.map((q) => ({ metric: "TunnelState", dimensions: q.dimensions })));
    return Object.fromEntries(queries.map((q, i) => [q.label, points[i].flatMap((d) => [d.minimum, d.maximum])]));
}

const allEqual = (states: Record<string, number[]>, v: number) => Object.values(states).every((xs) => xs.length > 0 && xs.every((x) => x === v));
const show = (states: Record<string, number[]>) => Object.entries(states).map(([k, xs]) => `${k}=${xs.length ? [...new Set(xs)].join("/") : "none"}`).join(", ");

/** Publishes every period until every TunnelState reads `want`, at most `periods` runs; seconds taken. */
async function publishUntil(c: Context, rec: Recorder, want: number, periods: number, since: Date): Promise<{ seconds?: number; last: Record<string, number[]> }> {
    const period = c.s.model.monitoring.periodSeconds;
    let last: Record<string, number[]> = {};
    for (let i = 0; i < periods; i++) {
        if (i > 0) await sleep(period * 1000);
        const { code, started } = await publish(c);
        if (code !== 0) rec.detail(`publisher exit ${code} at ${started.toISOString()}`);
        last = await tunnelStates(c, started);
        if (allEqual(last, want)) return { seconds: (Date.now() - since.getTime()) / 1000, last };
    }
    return { last };
}

/** A signed call the role's policy does not allow (ListMetrics), with the role's own credentials. */
async function outsidePolicyCall(c: Context): Promise<string> {
    const config = `user = "${c.creds.AccessKeyId}:${c.creds.SecretAccessKey}"\nheader = "X-Amz-Security-Token: ${c.creds.SessionToken}"\n`;
    const r = await run(inNetns(c.p.lab.ep.ns, ["curl", "-sS", "-K", "-", "--aws-sigv4", `aws:amz:${LAB_REGION}:monitoring`,
        "--data", "Action=ListMetrics&Version=2010-08-01&Namespace=PartnerVpn", "-w", "\nHTTP %{http_code}", c.url]), { input: config, timeoutMs: 20_000 });
    const code = /<Code>([^<]+)<\/Code>/.exec(r.stdout)?.[1] ?? "none";
    return `${/HTTP (\d+)/.exec(r.stdout)?.[1] ?? "?"} ${code}`;
}

/** The partner's charon running with its config loaded (started again after the outage). */
async function restorePartner(p: PartnerRun): Promise<void> {
    const lp = p.lab;
    if (lp.pgwCharon && lp.pgwCharon.process.child.exitCode === null && lp.pgwCharon.process.child.signalCode === null) return;
    lp.pgwCharon = await startCharon(lp.pgw);
    const load = await swanctl(lp.pgw, ["--load-all", "--noprompt"]);
    if (load.code !== 0) throw new Error(`the partner's swanctl --load-all failed: ${load.stderr}`);
}

export const metricsCheck: CheckDefinition<StackSession> = {
    id: "metrics",
    title: "Metrics: the publisher against moto (rendered IAM policy, IMDSv2): TunnelState 1 with tunnels up, 0 within two periods of an outage, 1 after",
    run: async (s, rec) => {
        const built = await ensureMotoRoot();
        if ("problem" in built) throw new Error(`no moto chroot: ${built.problem}`);
        for (const p of s.partners) {
            const ns = p.lab.ep.ns;
            const moto = await startMoto(built.root, ns, 3);
            addAddress(ns, "lo", `${IMDS_ADDRESS}/32`);
            let imds: Awaited<ReturnType<typeof startImds>> | undefined;
            const log: string[] = [];
            const failures: string[] = [];
            try {
                rec.info("AWS API", `moto_server ${moto.version} (Debian 13 python3-moto) at ${moto.url} in ${ns}`);
                const policy = renderPublisherPolicy();
                const { admin, creds } = await setUpEndpointRole(built.root, ns, policyForMoto(policy), renderAssumeRolePolicy(), `partner-vpn-${p.model.name}-endpoint`);
                rec.detail(`policy loaded into moto: ${JSON.stringify(policyForMoto(policy))} (moto 5.1 names actions after the signing name "monitoring" and ignores Condition; the unit tests assert the rendered policy exactly)`);
                imds = await startImds(ns, creds, LAB_REGION);
                const needles = [creds.SecretAccessKey, creds.SessionToken, creds.AccessKeyId, admin.secret];
                const c: Context = { s, p, root: built.root, admin, creds, url: moto.url, watch: new CmdlineWatch(needles), log, failures };
                const period = s.model.monitoring.periodSeconds;
                rec.info("period (monitoring.periodSeconds)", `${period} s`);

                await settle(s, p);
                const up = await publishUntil(c, rec, 1, 2, new Date());
                rec.measure(`${p.model.name}: TunnelState with tunnels up (partner and every child)`, show(up.last), up.seconds !== undefined);
                rec.equal(`${p.model.name}: a call outside the policy (ListMetrics, the role's credentials)`, await outsidePolicyCall(c), "403 AccessDenied");

                const outage = new Date();
                if (p.lab.pgwCharon) await stopCharon(p.lab.pgwCharon);
                const down = await publishUntil(c, rec, 0, 3, outage);
                rec.measure(`${p.model.name}: partner gone (its charon stopped): every TunnelState 0 by the second run after it (two periods, ${2 * period} s, plus 15 s for the runs themselves)`,
                    down.seconds === undefined ? `not 0 after 3 periods: ${show(down.last)}` : `${down.seconds.toFixed(1)} s: ${show(down.last)}`,
                    down.seconds !== undefined && down.seconds <= 2 * period + 15);

                await restorePartner(p);
                // The partner initiates once back (our side may be between retries).
                for (const h of p.model.remoteHosts) await swanctl(p.lab.pgw, ["--initiate", "--child", partnerChildName(h), "--timeout", "15"], 25_000);
                await settle(s, p, 60_000);
                const back = await publishUntil(c, rec, 1, 2, new Date());
                rec.measure(`${p.model.name}: partner back: TunnelState 1 again`, show(back.last), back.seconds !== undefined);

                rec.equal(`${p.model.name}: publisher runs that exited non-zero`, failures.length ? failures.join(" || ") : "none", "none");
                rec.info(`${p.model.name}: publisher runs`, log.filter((l) => l.startsWith("partner-vpn-metrics: published")).length);
                rec.equal(`${p.model.name}: IMDS requests without a session token (IMDSv1)`, imds.refused(), 0);
                rec.measure(`${p.model.name}: argument lists read while publishing`, `${c.watch.processesSeen} in ${c.watch.sweeps} sweeps`, c.watch.sweeps > 0);
                rec.equal(`${p.model.name}: processes whose argument list held a credential`, c.watch.hits.map((h) => h.program).join(", ") || "none", "none");
                const inLog = log.filter((l) => needles.some((n) => l.includes(n)));
                rec.equal(`${p.model.name}: publisher log lines holding a credential (of ${log.length})`, inLog.length, 0);
                const varLog = path.join(p.lab.ep.dir, "overlay", OVERLAID_DIRS.find((d) => d === "/var/log")!.replace(/\//g, "_"), "upper");
                rec.equal(`${p.model.name}: files under the endpoint's /var/log holding a credential`, filesHolding(varLog, needles).join(", ") || "none", "none");
                rec.detail(`children: ${p.model.remoteHosts.map((h) => swanctlChildName(p.model.name, h)).join(", ")} of ${swanctlConnectionName(p.model.name)}`);
                rec.detail(`last publisher lines: ${log.slice(-2).join(" | ")}`);
            } finally {
                await restorePartner(p).catch((err: unknown) => rec.detail(`restoring the partner failed: ${String(err)}`));
                await imds?.stop();
                await moto.process.stop(3000);
                await run(inNetns(ns, ["ip", "addr", "del", `${IMDS_ADDRESS}/32`, "dev", "lo"]));
            }
        }
    },
};

/**
 * Zero downtime: while a client streams requests to an existing partner host, a change adds a
 * host, replayed as the engine runs it (new create, then the old delete). Measured: failed
 * requests to the existing host (goal 0) and seconds until the new host answers. Then the same
 * change the naive way (restart the IPsec daemon, flush the nat table and re-add the rules) in
 * the same run, measured the same way.
 */
import type { CheckDefinition, Recorder } from "../checkResult";
import { embeddedFiles, scriptGeneration } from "../applyScript";
import { commandNamed, programCommands } from "../engine";
import { snapshotDifferences, snapshotEndpoint, unnatedConnections, type EndpointSnapshot } from "../endpointState";
import { natChainNames } from "../../core/render/nat";
import { endpointPaths } from "../../core/render/paths";
import { labHostAddress, modelFor } from "../stackLab";
import { ensureConfig, generationOn, replayChange, runPhaseOk, settle, withSpareHosts, type PartnerRun, type StackSession } from "../stackSession";
import { restartEndpointCharon } from "../topology";
import { requestsAfterFirstAnswer } from "../traffic";
import { recordFlows } from "./connectivity";
import { describeStream, existingTarget, failedCount, failureTimes, secondsUntilAnswer, StreamedChange, StreamTarget, targetFor, underStreams } from "./streaming";

/** Lead-in before the change and how long the streams run after it (the new host must keep answering). */
const STREAM_WINDOW = { leadMs: 2000, tailMs: 8000 };
const classic = (s: StackSession) => s.model.mode === "classic-proxy";

/** Existing-host and new-host stream targets per partner, for the config with the spare hosts. */
function changeTargets(s: StackSession, added: Record<string, string>): Array<{ p: PartnerRun; existing: StreamTarget; fresh: StreamTarget }> {
    const addedModel = modelFor(added);
    return s.partners.map((p) => {
        const after = addedModel.partners.find((x) => x.name === p.plan.name);
        if (!after) throw new Error(`no partner ${p.plan.name} after the change`);
        return { p, existing: existingTarget(s, p), fresh: targetFor(s, after, p.plan.spareHost) };
    });
}

/** Failed requests to the existing host from the change on, and seconds until the new host answered. */
function recordStreams(s: StackSession, rec: Recorder, way: "ours" | "naive", targets: ReturnType<typeof changeTargets>, run: StreamedChange): void {
    targets.forEach(({ p, existing, fresh }, i) => {
        const toExisting = run.records[2 * i];
        const toNew = run.records[2 * i + 1];
        const failed = failedCount(toExisting, run.t0);
        const seconds = secondsUntilAnswer(toNew, run.t0);
        const label = `${p.plan.name}: ${way === "ours" ? "replayed replace" : "naive restart"}`;
        if (way === "ours") rec.measure(`${label}: failed requests to the existing host (${existing.label}) from the change on (goal 0)`, describeStream(toExisting, run.t0), failed === 0);
        else rec.info(`${label}: failed requests to the existing host (${existing.label}) from the change on`, describeStream(toExisting, run.t0));
        rec.measure(`${label}: seconds from the change's start until the new host (${fresh.label}) answered`, seconds ?? "never (within the stream)", seconds !== undefined);
        // Once the new host answered, it must keep answering: connections tried before its SNAT
        // rule existed must not stay pinned un-NATed in conntrack and catch later requests.
        const later = requestsAfterFirstAnswer(toNew, run.t0);
        const laterFailed = later.filter((r) => !r.ok).length;
        const text = `${laterFailed} failed of ${later.length}${laterFailed ? ` (${failureTimes(later, run.t0)})` : ""}`;
        if (way === "ours") rec.measure(`${label}: requests to the new host that failed after it first answered (goal 0)`, text, laterFailed === 0);
        else rec.info(`${label}: requests to the new host that failed after it first answered`, text);
        s.highlights[`${p.plan.name} ${way}: failed requests to the existing host`] = `${failed} of ${toExisting.filter((r) => r.start >= run.t0).length}`;
        s.highlights[`${p.plan.name} ${way}: seconds until the new host answered`] = seconds === undefined ? "never" : String(seconds);
    });
}

export const zeroDowntimeCheck: CheckDefinition<StackSession> = {
    id: "zero-downtime",
    title: "Zero downtime: add a host under a 20 req/s stream (new create, then old delete)",
    run: async (s, rec) => {
        await ensureConfig(s, { ...s.fixture.values }, "back to the fixture's config");
        const added = withSpareHosts(s);
        const targets = changeTargets(s, added);
        const before = new Map<string, EndpointSnapshot>();
        for (const { p } of targets) before.set(p.plan.name, await snapshotEndpoint(p.lab.ep, p.plan.name, classic(s)));
        const beforeDelete = new Map<string, EndpointSnapshot>();
        let steps: string[] = [];
        const run = await underStreams(targets.flatMap((t) => [t.existing, t.fresh]), STREAM_WINDOW, async () => {
            const replay = await replayChange(s, added, "add a host", {
                beforeOldDelete: async (step) => {
                    const p = s.partners.find((x) => step.name === `${x.plan.name}-apply`);
                    if (p) beforeDelete.set(p.plan.name, await snapshotEndpoint(p.lab.ep, p.plan.name, classic(s)));
                },
            });
            steps = replay.map((st) => `${st.name}: ${st.action}`);
        });
        rec.info("what the engine would run (replayed)", steps.join("; "));
        recordStreams(s, rec, "ours", targets, run);
        for (const { p } of targets) {
            const pinned = await unnatedConnections(p.lab.ep, [p.plan.spareHost], p.lab.spec.natIp);
            rec.measure(`${p.plan.name}: connections to the new host pinned in conntrack without SNAT after the change (tried before its rule existed; goal 0)`, pinned.length, pinned.length === 0);
            const after = await snapshotEndpoint(p.lab.ep, p.plan.name, classic(s));
            const old = before.get(p.plan.name)?.sas.filter((x) => !x.startsWith("IKE")) ?? [];
            const lost = old.filter((x) => !after.sas.includes(x));
            rec.measure(`${p.plan.name}: existing CHILD_SAs kept through the change (same SPIs)`, lost.length ? `re-established: ${lost.join(", ")}` : `all ${old.length} kept`, lost.length === 0 && old.length > 0);
            const mid = beforeDelete.get(p.plan.name);
            rec.equal(`${p.plan.name}: what the old delete (previous generation) removed`, mid ? snapshotDifferences(mid, after).join(", ") || "nothing" : "not run", "nothing");
            const said = s.pushes.filter((x) => x.command === `${p.plan.name}-apply delete`).at(-1)?.log.join(" | ") ?? "";
            rec.measure(`${p.plan.name}: the old delete said`, said, /nothing removed/.test(said));
            await settle(s, p);
            await recordFlows(s, p, rec, `${p.plan.name}: after the change: `, true);
        }
        // And back, under a stream to the existing host: removing a host must not disturb the others.
        const back = await underStreams(targets.map((t) => t.existing), { leadMs: 1500, tailMs: 4000 }, async () => {
            await replayChange(s, { ...s.fixture.values }, "remove the host again");
        });
        targets.forEach(({ p, existing }, i) =>
            rec.measure(`${p.plan.name}: removing the host again: failed requests to ${existing.label} (goal 0)`, describeStream(back.records[i], back.t0), failedCount(back.records[i], back.t0) === 0),
        );
    },
};

/** The naive redeploy over ssh: the new files copied in place, then reloads that interrupt. */
export function naiveScripts(s: StackSession, p: PartnerRun, stdin: string): { copy: string; reload: string } {
    const copy = embeddedFiles(stdin).map((f) =>
        [`mkdir -p "$(dirname '${f.path}')"`, `base64 -d >'${f.path}' <<'NAIVE_EOF'`, Buffer.from(f.content).toString("base64"), "NAIVE_EOF", `chmod ${f.mode.slice(1)} '${f.path}'`].join("\n"),
    );
    const chains = natChainNames(p.plan.name);
    const reload = [
        "swanctl --load-all --noprompt >/dev/null",
        "iptables -w -t nat -F",
        `iptables-restore -w --noflush <${endpointPaths(p.plan.name).natRules}`,
        `iptables -w -t nat -A PREROUTING -j ${chains.pre}`,
        `iptables -w -t nat -A POSTROUTING -j ${chains.post}`,
        ...(classic(s) ? ["nginx -s reload"] : []),
    ];
    return { copy: ["set -eu", "umask 077", ...copy].join("\n"), reload: ["set -eu", ...reload].join("\n") };
}

export const naiveChangeCheck: CheckDefinition<StackSession> = {
    id: "naive-change",
    title: "The same change the naive way: restart charon, flush the nat table and re-add the rules",
    run: async (s, rec) => {
        await ensureConfig(s, { ...s.fixture.values }, "back to the fixture's config");
        const added = withSpareHosts(s);
        const targets = changeTargets(s, added);
        const next = await programCommands(added, s.secrets);
        const run = await underStreams(targets.flatMap((t) => [t.existing, t.fresh]), STREAM_WINDOW, async () => {
            for (const { p } of targets) {
                const cmd = commandNamed(next, `${p.plan.name}-apply`);
                const scripts = naiveScripts(s, p, cmd.stdin ?? "");
                await runPhaseOk(s, "naive: copy the new files", { ...cmd, name: `${p.plan.name}-naive-copy`, create: cmd.create, stdin: scripts.copy }, "create");
                await restartEndpointCharon(p.lab); // = systemctl restart strongswan
                await runPhaseOk(s, "naive: reload and re-create NAT", { ...cmd, name: `${p.plan.name}-naive-reload`, create: cmd.create, stdin: scripts.reload }, "create");
            }
        });
        rec.info("steps", `new files copied over ssh; charon restarted (systemctl restart); swanctl --load-all; iptables -t nat -F; rules re-added${classic(s) ? "; nginx -s reload" : ""}`);
        recordStreams(s, rec, "naive", targets, run);
        for (const { p } of targets) {
            const pinned = await unnatedConnections(p.lab.ep, p.model.remoteHosts.map(labHostAddress).concat(p.plan.spareHost), p.lab.spec.natIp);
            rec.info(`${p.plan.name}: naive: connections to partner hosts pinned in conntrack without SNAT`, pinned.length);
        }
        // The engine never saw that change: `pulumi up` with the same config brings the endpoint back under it.
        await replayChange(s, added, "pulumi up after the naive change");
        for (const p of s.partners) {
            await settle(s, p);
            rec.equal(`${p.plan.name}: after pulumi up: applied generation`, await generationOn(p), scriptGeneration(p.apply.stdin ?? ""));
        }
    },
};

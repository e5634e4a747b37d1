/**
 * Recovery and removal: an apply killed half way and run again must converge (the real reboot is
 * checks/machine.ts); and the deletes: the one of a replaced generation removes nothing, the one
 * of the current generation removes the partner's conns, chains and files.
 */
import * as fs from "fs";
import { swanctlChildName, swanctlConnectionName } from "../../core/render";
import { natChainNames } from "../../core/render/nat";
import { endpointPaths } from "../../core/render/paths";
import { scriptGeneration } from "../applyScript";
import type { CheckDefinition, Recorder } from "../checkResult";
import { commandNamed, programCommands } from "../engine";
import { connsSummary, normalizeNat, snapshotDifferences, snapshotEndpoint } from "../endpointState";
import { sleep } from "../exec";
import { outboundFlows, sendFlow } from "../flows";
import { interruptedPush, InterruptPoint } from "../interrupt";
import { runInNode, runInNodeOk } from "../node";
import { listSas } from "../strongswan";
import { ensureConfig, generationOn, replayChange, runPhase, scriptLog, settle, withSpareHosts, type PartnerRun, type StackSession } from "../stackSession";
import { client, recordFlows } from "./connectivity";

const classic = (s: StackSession) => s.model.mode === "classic-proxy";

/** The endpoint runs exactly the partner's current config: generation, conns, no leftovers, traffic. */
async function recordConvergence(s: StackSession, p: PartnerRun, rec: Recorder): Promise<void> {
    const name = p.plan.name;
    rec.equal(`${name}: applied generation`, await generationOn(p), scriptGeneration(p.apply.stdin ?? ""));
    const conns = connsSummary(await runInNodeOk(p.lab.ep, ["swanctl", "--list-conns"]));
    const expected = [`${swanctlConnectionName(name)} ${p.model.remoteHosts.map((h) => swanctlChildName(name, h)).join(" ")}`];
    rec.equal(`${name}: loaded strongSwan config (conn and children)`, conns.filter((c) => c.startsWith(`${swanctlConnectionName(name)} `)), expected);
    const root = `/proc/${p.lab.ep.holder?.pid}/root`;
    const leftovers = [
        ...fs.readdirSync(`${root}/run`).filter((f) => f.startsWith("partner-vpn-stage.")).map((f) => `/run/${f}`),
        ...(fs.existsSync(`${root}${endpointPaths(name).stateDir}/previous`) ? [`${endpointPaths(name).stateDir}/previous`] : []),
    ];
    rec.equal(`${name}: leftovers of the killed push (stage folders, backup)`, leftovers.join(", ") || "none", "none");
    await settle(s, p);
    await recordFlows(s, p, rec, `${name}: `, true);
}

async function interrupted(s: StackSession, rec: Recorder, point: InterruptPoint, from: Record<string, string>, to: Record<string, string>, change: string): Promise<void> {
    await ensureConfig(s, from, "the starting config");
    const next = await programCommands(to, s.secrets);
    for (const p of s.partners) {
        const cmd = commandNamed(next, `${p.plan.name}-apply`);
        const before = await snapshotEndpoint(p.lab.ep, p.plan.name, classic(s));
        const cut = await interruptedPush(s, p, cmd, point);
        rec.info(`${p.plan.name}: ${change}: apply killed`, `${cut.killedAfterMs} ms after the push started, at "${point}" (bash -s and ${cut.killedPids.length - 1} child processes, SIGKILL)`);
        for (const line of cut.observed) rec.info(`${p.plan.name}: at the kill`, line);
        rec.measure(`${p.plan.name}: the killed push failed`, `exit ${cut.result.code ?? cut.result.signal}`, cut.result.code !== 0);
        if (point === "staged") {
            const after = await snapshotEndpoint(p.lab.ep, p.plan.name, classic(s));
            rec.equal(`${p.plan.name}: what the killed push changed (killed before switching)`, snapshotDifferences(before, after).join(", ") || "nothing", "nothing");
        }
    }
    // What the engine does next: the failed create again, then the old delete.
    await replayChange(s, to, `re-run after the interrupted push (${point})`);
    for (const p of s.partners) {
        const said = s.pushes.filter((x) => x.command === `${p.plan.name}-apply create`).at(-1)?.log.join(" | ") ?? "";
        rec.measure(`${p.plan.name}: the re-run said`, said, /applied generation/.test(said));
        await recordConvergence(s, p, rec);
    }
}

export const interruptedStagedCheck: CheckDefinition<StackSession> = {
    id: "interrupted-staged",
    title: "Interrupted push (killed once its files were staged), run again: converges",
    run: (s, rec) => interrupted(s, rec, "staged", withSpareHosts(s), { ...s.fixture.values }, "remove the spare host"),
};

export const interruptedSwitchedCheck: CheckDefinition<StackSession> = {
    id: "interrupted-switched",
    title: "Interrupted push (killed after installing its files, before any reload), run again: converges",
    run: (s, rec) => interrupted(s, rec, "switched", { ...s.fixture.values }, withSpareHosts(s), "add the spare host"),
};

export const removalCheck: CheckDefinition<StackSession> = {
    id: "removal",
    title: "Removal: the old delete removes nothing; the current delete removes conns, chains and files",
    run: async (s, rec) => {
        for (const p of s.partners) {
            const name = p.plan.name;
            const ep = p.lab.ep;
            if (scriptGeneration(p.firstApply.stdin ?? "") !== scriptGeneration(p.apply.stdin ?? "")) {
                const before = await snapshotEndpoint(ep, name, classic(s));
                const old = await runPhase(s, "delete of a replaced generation", p.firstApply, "delete");
                const after = await snapshotEndpoint(ep, name, classic(s));
                rec.measure(`${name}: delete of the first (replaced) generation said`, scriptLog(old).join(" | "), old.code === 0 && /nothing removed/.test(scriptLog(old).join(" ")));
                rec.equal(`${name}: what it removed`, snapshotDifferences(before, after).join(", ") || "nothing", "nothing");
            } else {
                rec.info(`${name}: delete of a replaced generation`, "not run: the current generation is the first one");
            }
            const r = await runPhase(s, "delete of the current generation", p.apply, "delete");
            rec.measure(`${name}: delete of the current generation said`, scriptLog(r).join(" | "), r.code === 0 && /removed$/.test(scriptLog(r).join(" ")));
            const conn = swanctlConnectionName(name);
            const conns = connsSummary(await runInNodeOk(ep, ["swanctl", "--list-conns"])).filter((c) => c.startsWith(`${conn} `) || c === conn);
            rec.equal(`${name}: conns left`, conns.join(", ") || "none", "none");
            await sleep(500);
            const sas = (await listSas(ep)).sas.filter((x) => x.name === conn);
            rec.equal(`${name}: IKE/CHILD SAs left`, sas.map((x) => `${x.name} ${x.state}`).join(", ") || "none", "none");
            const chains = natChainNames(name);
            const nat = normalizeNat(await runInNodeOk(ep, ["iptables-save", "-t", "nat"]));
            rec.equal(`${name}: nat chains and jumps left`, [chains.pre, chains.post].filter((c) => nat.includes(c)).join(", ") || "none", "none");
            const paths = endpointPaths(name);
            const files: string[] = [];
            for (const f of [paths.swanctlConf, paths.swanctlSecrets, paths.stateDir]) if ((await runInNode(ep, ["test", "-e", f])).code === 0) files.push(f);
            rec.equal(`${name}: files left (conf, PSK, state folder)`, files.join(", ") || "none", "none");
            if (classic(s)) {
                const listening = (await runInNodeOk(ep, ["ss", "-Hltn"])).split("\n").filter((l) => p.model.proxies.some((x) => l.includes(`${p.model.privateIp}:${x.listenPort}`)));
                rec.equal(`${name}: proxy ports still listening`, listening.length, 0);
            }
            const flow = outboundFlows(s.model, p.model, p.lab, client(s))[0];
            const gone = await sendFlow(flow, 2);
            rec.measure(`${name}: after removal: ${flow.label}`, gone.observed, !gone.ok);
        }
    },
};

/**
 * The lab part of the benchmark (root, Linux): one vpc-routing partner (tests/lab/fixtures/lab-vpc.yaml),
 * provisioned through the program's own remote commands over real SSH (lab/stackSession.ts).
 * - Rollout: while a client instance streams HTTP at 20 req/s to an existing partner host (and a
 *   second stream probes the host being added), a host is added (a) as the engine replays the
 *   program's change: new apply create, then the old delete, and (b) the naive way: files copied,
 *   the IPsec daemon restarted, the nat table flushed and re-created (the lab check's naive way).
 *   (a) and (b) alternate, `repeats` times each, on one lab; after each run the lab is put back
 *   (after (b), `pulumi up` with the changed config first, as the check does) by replayed changes.
 * - Push time: seconds from starting the apply over SSH until it returns, for an unchanged config
 *   and for a one-host change (add, then remove again).
 * Streams, pushes and waits are bounded by the lab modules; the lab is torn down at the end.
 */
import * as path from "path";
import { performance } from "perf_hooks";
import { naiveScripts } from "../lab/checks/changes";
import { existingTarget, failedCount, secondsUntilAnswer, STREAM_RATE, targetFor, underStreams, type StreamedChange } from "../lab/checks/streaming";
import { cleanupLab } from "../lab/cleanup";
import { commandNamed, programCommands, runRemote, type RemoteCommand } from "../lab/engine";
import { loadLabFixture, modelFor } from "../lab/stackLab";
import { endSession, ensureConfig, replayChange, runPhaseOk, scriptLog, settle, startSession, withSpareHosts, type PartnerRun, type StackSession } from "../lab/stackSession";
import { restartEndpointCharon } from "../lab/topology";
import { requestsAfterFirstAnswer, summarizeStream } from "../lab/traffic";
import { median } from "./stats";

export const LAB_FIXTURE = path.join(__dirname, "..", "tests", "lab", "fixtures", "lab-vpc.yaml");

export interface LabBenchOptions {
    readonly repeats: number;
    readonly pushRuns: number;
    /** How long each stream runs after the change returned (it starts `leadMs` before the change). */
    readonly streamSeconds: number;
    /** Healthy stream before the change starts. */
    readonly leadMs: number;
}

export type Way = "ours" | "naive";

export interface ChangeRun {
    readonly way: Way;
    readonly repeat: number;
    /** Requests to the existing host started from the change's start on, and how many failed. */
    readonly requests: number;
    readonly failed: number;
    /** Measured rate of the existing-host stream. */
    readonly rate: number;
    /** From the change's start (for (a) that includes evaluating the program) to the new host's first answer. */
    readonly secondsUntilNewHost: number | null;
    readonly newHostFailedAfterFirstAnswer: number;
    /** When those failures started, seconds from the change's start. */
    readonly newHostFailureTimes: readonly number[];
    /** Who the new host saw as the source of each answer (the NAT IP through the tunnel), with counts. */
    readonly newHostPeers: Readonly<Record<string, number>>;
    readonly changeSeconds: number;
}

export interface PushTimes {
    readonly samples: readonly number[];
    readonly median: number | null;
}

export interface LabBenchResult {
    readonly fixture: string;
    readonly partner: string;
    /** The partner's NAT IP: the source the partner's hosts must see. */
    readonly natIp: string;
    readonly rate: number;
    readonly streamSeconds: number;
    readonly repeats: number;
    readonly runs: ChangeRun[];
    /** sshOnly: the same ssh running `true`, i.e. the connection's share of every push. */
    readonly pushes: { unchanged: PushTimes; addHost: PushTimes; removeHost: PushTimes; sshOnly: PushTimes };
    readonly notes: readonly string[];
    readonly seconds: number;
    /** Set when the lab part stopped early; `runs` and `pushes` hold what was measured before. */
    readonly error?: string;
}

function analyse(way: Way, repeat: number, run: StreamedChange): ChangeRun {
    const [toExisting, toNew] = run.records;
    const seconds = secondsUntilAnswer(toNew, run.t0);
    const failedLater = requestsAfterFirstAnswer(toNew, run.t0).filter((r) => !r.ok);
    const peers: Record<string, number> = {};
    for (const r of toNew.filter((x) => x.ok)) peers[r.peer ?? "?"] = (peers[r.peer ?? "?"] ?? 0) + 1;
    return {
        way, repeat,
        requests: toExisting.filter((r) => r.start >= run.t0).length,
        failed: failedCount(toExisting, run.t0),
        rate: summarizeStream(toExisting).rate,
        secondsUntilNewHost: seconds ?? null,
        newHostFailedAfterFirstAnswer: failedLater.length,
        newHostFailureTimes: failedLater.map((r) => Math.round((r.start - run.t0) / 10) / 100),
        newHostPeers: peers,
        changeSeconds: (run.t1 - run.t0) / 1000,
    };
}

interface Context {
    readonly s: StackSession;
    readonly p: PartnerRun;
    readonly base: Record<string, string>;
    readonly added: Record<string, string>;
    readonly options: LabBenchOptions;
}

function streamTargets(c: Context) {
    const after = modelFor(c.added).partners.find((x) => x.name === c.p.plan.name);
    if (!after) throw new Error(`no partner ${c.p.plan.name} after the change`);
    return [existingTarget(c.s, c.p), targetFor(c.s, after, c.p.plan.spareHost)];
}

/** (a) The change as the engine runs it, then the host removed again the same way. */
async function oursOnce(c: Context, repeat: number): Promise<ChangeRun> {
    await ensureConfig(c.s, c.base, "bench: the fixture's config");
    const run = await underStreams(streamTargets(c), { leadMs: c.options.leadMs, tailMs: c.options.streamSeconds * 1000 }, async () => {
        await replayChange(c.s, c.added, "bench (a): add a host");
    });
    await replayChange(c.s, c.base, "bench: remove the host again");
    await settle(c.s, c.p);
    return analyse("ours", repeat, run);
}

/** (b) The naive way, then `pulumi up` with the changed config, then the host removed again. */
async function naiveOnce(c: Context, repeat: number): Promise<ChangeRun> {
    await ensureConfig(c.s, c.base, "bench: the fixture's config");
    const cmd = commandNamed(await programCommands(c.added, c.s.secrets), `${c.p.plan.name}-apply`);
    const scripts = naiveScripts(c.s, c.p, cmd.stdin ?? "");
    const run = await underStreams(streamTargets(c), { leadMs: c.options.leadMs, tailMs: c.options.streamSeconds * 1000 }, async () => {
        await runPhaseOk(c.s, "bench (b) naive: copy the new files", { ...cmd, name: `${c.p.plan.name}-naive-copy`, create: cmd.create, stdin: scripts.copy }, "create");
        await restartEndpointCharon(c.p.lab); // = systemctl restart strongswan
        await runPhaseOk(c.s, "bench (b) naive: reload, flush and re-create NAT", { ...cmd, name: `${c.p.plan.name}-naive-reload`, create: cmd.create, stdin: scripts.reload }, "create");
    });
    await replayChange(c.s, c.added, "bench: pulumi up after the naive change");
    await settle(c.s, c.p);
    await replayChange(c.s, c.base, "bench: remove the host again");
    await settle(c.s, c.p);
    return analyse("naive", repeat, run);
}

/** One apply create over SSH, timed from the ssh start until it returns; `expect` checks what it said. */
async function timedPush(c: Context, cmd: RemoteCommand, expect: RegExp): Promise<number> {
    const start = performance.now();
    const r = await runRemote(c.s.lab, cmd.connection, cmd.create, cmd.stdin);
    const seconds = (performance.now() - start) / 1000;
    const said = scriptLog(r).join(" | ");
    if (r.code !== 0 || !expect.test(said)) throw new Error(`push ${cmd.name} (exit ${r.code}) said "${said}", expected ${expect}:\n${r.stderr.slice(-1000)}`);
    return seconds;
}

async function pushTimes(c: Context, out: LabBenchResult["pushes"], log: (line: string) => void): Promise<void> {
    await ensureConfig(c.s, c.base, "bench: the fixture's config");
    const baseApply = commandNamed(c.s.program, `${c.p.plan.name}-apply`);
    const addedApply = commandNamed(await programCommands(c.added, c.s.secrets), `${c.p.plan.name}-apply`);
    const samples = { unchanged: [] as number[], addHost: [] as number[], removeHost: [] as number[], sshOnly: [] as number[] };
    for (let i = 0; i < c.options.pushRuns; i++) {
        samples.sshOnly.push(await timedPush(c, { ...baseApply, create: "true", stdin: "" }, /^$/));
        samples.unchanged.push(await timedPush(c, baseApply, /: unchanged \(generation/));
    }
    for (let i = 0; i < c.options.pushRuns; i++) {
        samples.addHost.push(await timedPush(c, addedApply, /: applying generation/));
        samples.removeHost.push(await timedPush(c, baseApply, /: applying generation/));
        await settle(c.s, c.p);
    }
    for (const key of ["unchanged", "addHost", "removeHost", "sshOnly"] as const) out[key] = { samples: samples[key], median: median(samples[key]) };
    log(`lab: push seconds: unchanged ${samples.unchanged.map((x) => x.toFixed(2)).join(", ")}; add a host ${samples.addHost.map((x) => x.toFixed(2)).join(", ")}; remove it ${samples.removeHost.map((x) => x.toFixed(2)).join(", ")}; ssh running \`true\` ${samples.sshOnly.map((x) => x.toFixed(2)).join(", ")}`);
}

function describeRun(r: ChangeRun): string {
    const answered = r.secondsUntilNewHost === null ? "never answered" : `answered after ${r.secondsUntilNewHost} s`;
    const later = r.newHostFailedAfterFirstAnswer ? `, then failed ${r.newHostFailedAfterFirstAnswer}x (at +${r.newHostFailureTimes.join(", +")} s)` : "";
    const peers = Object.entries(r.newHostPeers).map(([peer, n]) => `${peer} x${n}`).join(", ");
    return `lab: (${r.way === "ours" ? "a" : "b"}) ${r.way} #${r.repeat}: ${r.failed} of ${r.requests} requests failed at ${r.rate} req/s; new host ${answered}${later}; it saw ${peers || "nobody"}`;
}

export async function benchLab(options: LabBenchOptions, log: (line: string) => void): Promise<LabBenchResult> {
    const started = Date.now();
    const fixture = loadLabFixture(LAB_FIXTURE);
    if (fixture.partners.length !== 1 || fixture.model.mode !== "vpc-routing") throw new Error(`${LAB_FIXTURE}: expected one vpc-routing partner`);
    const empty: PushTimes = { samples: [], median: null };
    const runs: ChangeRun[] = [];
    const pushes = { unchanged: empty, addHost: empty, removeHost: empty, sshOnly: empty };
    const result = (error?: string, s?: StackSession): LabBenchResult => ({
        fixture: path.relative(path.join(__dirname, ".."), LAB_FIXTURE), partner: fixture.partners[0].name, natIp: fixture.spec.partners[0].natIp, rate: STREAM_RATE,
        streamSeconds: options.streamSeconds, repeats: options.repeats, runs, pushes, notes: s?.lab.notes ?? [],
        seconds: (Date.now() - started) / 1000, ...(error ? { error } : {}),
    });
    log(`lab: building the lab for ${path.basename(LAB_FIXTURE)} and provisioning it through the program's remote commands`);
    let s: StackSession | undefined;
    try {
        s = await startSession(fixture);
        const c: Context = { s, p: s.partners[0], base: { ...fixture.values }, added: withSpareHosts(s), options };
        for (let i = 1; i <= options.repeats; i++) {
            for (const once of [oursOnce, naiveOnce]) {
                const r = await once(c, i);
                runs.push(r);
                log(describeRun(r));
            }
        }
        await pushTimes(c, pushes, log);
        return result(undefined, s);
    } catch (err) {
        return result(err instanceof Error ? err.message : String(err), s);
    } finally {
        if (s) endSession(s);
        cleanupLab();
    }
}

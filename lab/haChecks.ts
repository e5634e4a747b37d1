/**
 * The measurements of an active/standby pair (lab/haSession.ts), shared by the lab checks
 * (tests/lab/failover.test.ts, which asserts on them) and the bench (bench/failover.ts, which
 * reports them). Each runs 20 req/s streams from the instance to every partner host around one
 * event and reads what moto held (the follower's samples, every 200 ms), the members' pair states
 * and the partner gateway's IKE SAs:
 * - failover: the active member's machine is killed;
 * - failover-back: the killed member comes back from its disk and must stay standby;
 * - split-brain: VRRP between the members is cut on the VPC's switch while both live, then returns;
 * - rolling-replace: README's OS replacement sequence, step by step.
 */
import { sleep } from "./exec";
import { crashMember, HA_LAB } from "./haLab";
import {
    awaitAnswer, awaitSettled, awaitStates, memberJournal, pairStates, partnerIkeSas, readHolding, recoverMember, replaceMember, sshMember, type PairSession,
} from "./haSession";
import { runInNode } from "./node";
import { eipAt, eipMoves, recoverySeconds } from "./pairTimeline";
import { startStream, summarizeStream, type RequestRecord, type RequestStream } from "./traffic";

export const PAIR_STREAM_RATE = 20;

/** One stream per partner host, bounded at `maxSeconds`. */
function streamHosts(s: PairSession, maxSeconds: number): RequestStream[] {
    return HA_LAB.hosts.map((host) => startStream(s.lab.inst, { host, port: 80, rate: PAIR_STREAM_RATE, maxCount: Math.ceil(PAIR_STREAM_RATE * maxSeconds) + PAIR_STREAM_RATE, maxSeconds, timeoutMs: 1000 }));
}

async function stopStreams(streams: readonly RequestStream[]): Promise<RequestRecord[][]> {
    return Promise.all(streams.map((st) => st.stop()));
}

export interface StreamsOutcome {
    readonly total: number;
    readonly failed: number;
    /** What the partner's servers saw as our address (the NAT EIP, and nothing else). */
    readonly peers: readonly string[];
}

function outcome(records: readonly RequestRecord[][], fromMs = 0, toMs = Number.MAX_SAFE_INTEGER): StreamsOutcome {
    const all = records.flat().filter((r) => r.start >= fromMs && r.start <= toMs);
    return { total: all.length, failed: all.filter((r) => !r.ok).length, peers: summarizeStream(all).peers };
}

export interface FailoverResult extends StreamsOutcome {
    readonly killed: number;
    readonly survivor: number;
    /** Per partner host: seconds from the kill until it answered through the survivor. */
    readonly recoveredSeconds: readonly (number | undefined)[];
    /** Seconds from the kill until moto held the EIP on the survivor's interface. */
    readonly eipMovedSeconds?: number;
    readonly survivorState: string;
}

/** Kills the active member's machine under the streams; the survivor must take over. */
export async function measureFailover(s: PairSession): Promise<FailoverResult> {
    const killed = await awaitSettled(s);
    const survivor = 1 - killed;
    const streams = streamHosts(s, 90);
    let killedAt = 0;
    try {
        await sleep(10_000);
        killedAt = Date.now();
        crashMember(s.lab, killed);
        const deadline = killedAt + 60_000;
        while (Date.now() < deadline && streams.some((st) => recoverySeconds(st.records, killedAt) === undefined || !st.records.some((r) => !r.ok && r.start >= killedAt))) await sleep(500);
        await sleep(10_000);
    } finally {
        await stopStreams(streams);
    }
    const records = await Promise.all(streams.map((st) => st.done));
    const moved = s.follower.changes.find((c) => c.at >= killedAt && c.eip === s.world.members[survivor].eni);
    s.report.push(`member ${"ab"[survivor]} journal after the failover:\n        ${(await memberJournal(s, survivor)).split("\n").join("\n        ")}`);
    const result: FailoverResult = {
        killed, survivor,
        recoveredSeconds: records.map((r) => recoverySeconds(r, killedAt)),
        eipMovedSeconds: moved ? (moved.at - killedAt) / 1000 : undefined,
        survivorState: (await pairStates(s)).states[survivor],
        ...outcome(records, killedAt),
    };
    s.report.push(`failover: ${JSON.stringify(result)}`);
    return result;
}

export interface FailoverBackResult extends StreamsOutcome {
    readonly member: number;
    readonly bootSeconds: number;
    /** Seconds from powering on until the member's pair state was BACKUP (undefined: never). */
    readonly backupSeconds?: number;
    readonly states: readonly string[];
    /** EIP moves in moto from the power-on to the end. */
    readonly moves: number;
    readonly holder?: number;
    readonly routesOnHolder: boolean;
    readonly partnerSasBefore: readonly string[];
    readonly partnerSasAfter: readonly string[];
}

/** The killed member comes back from its disk (EC2's recover); it must stay standby, nothing moves. */
export async function measureFailoverBack(s: PairSession, member: number): Promise<FailoverBackResult> {
    const partnerSasBefore = await partnerIkeSas(s);
    const streams = streamHosts(s, 240);
    let powerOn = 0;
    let bootSeconds = 0;
    let backupSeconds: number | undefined;
    try {
        await sleep(5000);
        powerOn = Date.now();
        bootSeconds = await recoverMember(s, member);
        const settled = await awaitStates(s, (st) => st[member] === "BACKUP", 120_000);
        if (settled.ok) backupSeconds = (Date.now() - powerOn) / 1000;
        // Two holder-check periods and more: anything that would move, moves within them.
        await sleep(15_000);
    } finally {
        await stopStreams(streams);
    }
    const records = await Promise.all(streams.map((st) => st.done));
    const holding = await readHolding(s);
    const result: FailoverBackResult = {
        member, bootSeconds, backupSeconds,
        states: (await pairStates(s)).states,
        moves: eipMoves(s.follower.changes, powerOn, Date.now()).length,
        ...holding,
        partnerSasBefore, partnerSasAfter: await partnerIkeSas(s),
        ...outcome(records),
    };
    s.report.push(`failover-back: ${JSON.stringify(result)}`);
    return result;
}

const VRRP_CUT = ["FORWARD", "-p", "IPv4", "--ip-proto", "112", "-j", "DROP"];

/** Drops VRRP between the members on the VPC's switch, as a removed security group rule would. */
async function cutVrrp(s: PairSession, cut: boolean): Promise<void> {
    const r = await runInNode(s.lab.swVpc, ["ebtables", cut ? "-A" : "-D", ...VRRP_CUT]);
    if (r.code !== 0) throw new Error(`ebtables ${cut ? "-A" : "-D"}: ${r.stderr}`);
}

/** Packets the cut dropped so far (its rule's counter). */
async function vrrpDropped(s: PairSession): Promise<number> {
    const r = await runInNode(s.lab.swVpc, ["ebtables", "-L", "FORWARD", "--Lc"]);
    const m = /--ip-proto (?:vrrp|112) -j DROP.*pcnt = (\d+)/.exec(r.stdout);
    return m ? Number(m[1]) : 0;
}

export interface PairSample {
    readonly at: number;
    readonly states: readonly string[];
    /** The EIP's interface in moto at that moment (the follower's last sample). */
    readonly eipEni?: string;
}

export interface SplitBrainResult extends StreamsOutcome {
    readonly cutSeconds: number;
    readonly vrrpDropped: number;
    readonly samples: readonly PairSample[];
    readonly movesDuringCut: readonly { at: number; eni: string }[];
    readonly movesAfterHeal: readonly { at: number; eni: string }[];
    /** Moto samples from the cut to the end in which the EIP was on no member. */
    readonly unassociatedSamples: number;
    /** Seconds (by the state samples) in which both members' state was MASTER. */
    readonly bothMasterSeconds: number;
    /** After the heal and settling: the states, and who holds the EIP and routes in moto. */
    readonly finalStates: readonly string[];
    readonly holder?: number;
    readonly routesOnHolder: boolean;
    readonly answersAfter: boolean;
}

/** VRRP between the members is cut for `cutSeconds` while both live, then returns. */
export async function measureSplitBrain(s: PairSession, cutSeconds: number, settleSeconds: number): Promise<SplitBrainResult> {
    await awaitSettled(s);
    const streams = streamHosts(s, cutSeconds + settleSeconds + 60);
    const samples: PairSample[] = [];
    const sampleUntil = async (until: number) => {
        while (Date.now() < until) {
            const at = Date.now();
            samples.push({ at, states: (await pairStates(s)).states, eipEni: eipAt(s.follower.changes, at) });
            await sleep(Math.max(0, 1000 - (Date.now() - at)));
        }
    };
    let cutAt = 0;
    let healAt = 0;
    let dropped = 0;
    try {
        await sleep(3000);
        cutAt = Date.now();
        await cutVrrp(s, true);
        await sampleUntil(cutAt + cutSeconds * 1000);
        dropped = await vrrpDropped(s);
        healAt = Date.now();
        await cutVrrp(s, false);
        await sampleUntil(healAt + settleSeconds * 1000);
    } finally {
        if (cutAt && !healAt) await cutVrrp(s, false).catch(() => undefined);
        await stopStreams(streams);
    }
    const records = await Promise.all(streams.map((st) => st.done));
    const end = Date.now();
    const holding = await readHolding(s);
    let bothMaster = 0;
    for (let i = 1; i < samples.length; i++) if (samples[i - 1].states.every((st) => st === "MASTER")) bothMaster += (samples[i].at - samples[i - 1].at) / 1000;
    const result: SplitBrainResult = {
        cutSeconds, vrrpDropped: dropped, samples,
        movesDuringCut: eipMoves(s.follower.changes, cutAt, healAt),
        movesAfterHeal: eipMoves(s.follower.changes, healAt, end),
        unassociatedSamples: s.follower.changes.filter((c) => c.at >= cutAt && !s.world.members.some((m) => m.eni === c.eip)).length,
        bothMasterSeconds: Math.round(bothMaster * 10) / 10,
        finalStates: (await pairStates(s)).states,
        ...holding,
        answersAfter: (await awaitAnswer(s, 30_000)) !== undefined,
        ...outcome(records),
    };
    const compact = samples.map((x) => `+${((x.at - cutAt) / 1000).toFixed(0)}s ${x.states.join("/")} eip:${x.eipEni ? "ab"[s.world.members.findIndex((m) => m.eni === x.eipEni)] ?? "?" : "-"}`).join(", ");
    s.report.push(`split-brain samples: ${compact}`);
    for (const i of [0, 1]) s.report.push(`member ${"ab"[i]} journal after the split brain:\n        ${(await memberJournal(s, i, 40)).split("\n").join("\n        ")}`);
    s.report.push(`split-brain: ${JSON.stringify({ ...result, samples: samples.length })}`);
    return result;
}

export interface RollingStep extends StreamsOutcome {
    readonly step: string;
    readonly seconds: number;
    readonly moves: number;
}

export interface RollingReplaceResult {
    readonly firstActive: number;
    readonly steps: readonly RollingStep[];
    /** EIP moves in moto over the whole sequence. */
    readonly moves: number;
    /** Seconds from `systemctl stop keepalived` until both partner hosts answered through the other member. */
    readonly handoverSeconds: readonly (number | undefined)[];
    readonly finalStates: readonly string[];
    readonly holder?: number;
    readonly routesOnHolder: boolean;
    readonly peers: readonly string[];
}

/**
 * README's rolling OS replacement: (1) replace the member that does not hold the EIP (new machine,
 * its bootstrap and apply), (2) `ssh <active> sudo systemctl stop keepalived`, (3) replace the old
 * active. Each step waits for the states it must reach.
 */
export async function measureRollingReplace(s: PairSession): Promise<RollingReplaceResult> {
    // Step 1 of the sequence: the active member is the one holding the tunnel EIP.
    await awaitSettled(s);
    const { holder: firstActive } = await readHolding(s);
    if (firstActive === undefined) throw new Error("the tunnel EIP is on no member");
    const other = 1 - firstActive;
    const streams = streamHosts(s, 900);
    const marks: { step: string; from: number; to: number }[] = [];
    const step = async (name: string, body: () => Promise<void>) => {
        const from = Date.now();
        await body();
        marks.push({ step: name, from, to: Date.now() });
    };
    const expectStates = async (what: string, test: (st: string[]) => boolean) => {
        const r = await awaitStates(s, test, 120_000);
        if (!r.ok) throw new Error(`rolling-replace: ${what} within 120 s; states ${r.states.join(" / ")}`);
    };
    let handoverAt = 0;
    s.during = "rolling-replace";
    try {
        await sleep(5000);
        await step(`replace member ${"ab"[other]} (standby)`, async () => {
            await replaceMember(s, other);
            await expectStates(`the new member ${"ab"[other]} BACKUP`, (st) => st[other] === "BACKUP" && st[firstActive] === "MASTER");
            await sleep(10_000);
        });
        await step(`stop keepalived on member ${"ab"[firstActive]} (hand-over)`, async () => {
            handoverAt = Date.now();
            const r = await sshMember(s, firstActive, "sudo systemctl stop keepalived");
            if (r.code !== 0) throw new Error(`systemctl stop keepalived: ${r.stderr}`);
            await expectStates(`member ${"ab"[other]} MASTER`, (st) => st[other] === "MASTER");
            if ((await awaitAnswer(s, 60_000)) === undefined) throw new Error("no answer through the new active member within 60 s of the hand-over");
            await sleep(10_000);
        });
        await step(`replace member ${"ab"[firstActive]} (now idle)`, async () => {
            await replaceMember(s, firstActive);
            await expectStates(`the new member ${"ab"[firstActive]} BACKUP`, (st) => st[firstActive] === "BACKUP" && st[other] === "MASTER");
            await sleep(15_000);
        });
    } finally {
        await stopStreams(streams);
    }
    const records = await Promise.all(streams.map((st) => st.done));
    const holding = await readHolding(s);
    const steps = marks.map((m, i) => {
        const to = i + 1 < marks.length ? marks[i + 1].from : Number.MAX_SAFE_INTEGER;
        return { step: m.step, seconds: (m.to - m.from) / 1000, moves: eipMoves(s.follower.changes, m.from, to).length, ...outcome(records, m.from, to) };
    });
    const result: RollingReplaceResult = {
        firstActive, steps,
        moves: eipMoves(s.follower.changes, marks[0]?.from ?? 0, Date.now()).length,
        handoverSeconds: records.map((r) => recoverySeconds(r, handoverAt)),
        finalStates: (await pairStates(s)).states,
        ...holding,
        peers: outcome(records).peers,
    };
    s.report.push(`rolling-replace: ${JSON.stringify(result)}`);
    return result;
}

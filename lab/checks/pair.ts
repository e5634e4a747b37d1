/**
 * The active/standby pair's lab checks, in the order they run on one pair (lab/haSession.ts): each
 * measurement (lab/haChecks.ts) recorded with its verdict, as the fixture checks do, so that
 * `npm run lab` reports them and tests/lab/failover.test.ts asserts every one.
 */
import type { CheckDefinition, Recorder } from "../checkResult";
import { measureFailover, measureFailoverBack, measureRollingReplace, measureSplitBrain, type StreamsOutcome } from "../haChecks";
import { HA_LAB } from "../haLab";
import { readMoto, type PairSession } from "../haSession";

export interface PairContext {
    readonly session: PairSession;
    /** The member the failover check killed (failover-back brings it back). */
    killed?: number;
}

/** Goal from the issue: from the kill to the first answer through the other member. */
export const FAILOVER_GOAL_SECONDS = 15;
const NAT_VIEW = [HA_LAB.natIp];
const fixed = (x: number | undefined) => (x === undefined ? "never" : `${x.toFixed(2)} s`);
const member = (i: number | undefined) => (i === undefined ? "none" : `member ${"ab"[i]}`);

function recordStreams(rec: Recorder, o: StreamsOutcome, label: string, failedOk?: (failed: number) => boolean): void {
    if (failedOk) rec.measure(`${label}: failed requests`, `${o.failed} of ${o.total}`, o.total > 0 && failedOk(o.failed));
    else rec.info(`${label}: failed requests`, `${o.failed} of ${o.total}`);
    rec.equal(`${label}: our address as the partner's servers saw it`, o.peers, NAT_VIEW);
}

export const failoverCheck: CheckDefinition<PairContext> = {
    id: "failover",
    title: "the active member's machine is killed under 20 req/s to each partner host; the other member takes the EIP and routes",
    timeoutMs: 300_000,
    run: async (ctx, rec) => {
        const s = ctx.session;
        const r = await measureFailover(s);
        ctx.killed = r.killed;
        rec.info("killed", member(r.killed));
        rec.measure("moto held the EIP on the other member after the kill", fixed(r.eipMovedSeconds), r.eipMovedSeconds !== undefined);
        r.recoveredSeconds.forEach((x, i) => rec.measure(`${HA_LAB.hosts[i]}: first answer through the other member after the kill (goal < ${FAILOVER_GOAL_SECONDS} s)`, fixed(x), x !== undefined && x < FAILOVER_GOAL_SECONDS));
        recordStreams(rec, r, "after the kill");
        const moto = await readMoto(s);
        const survivor = s.world.members[r.survivor].eni;
        rec.equal("moto: the EIP's interface", moto.eipEni, survivor);
        rec.equal("moto: every partner route's interface", Object.values(moto.routes), HA_LAB.hosts.map(() => survivor));
        rec.equal("the other member's state", r.survivorState, "MASTER");
        rec.detail("What bounds it: VRRP detection (3 adverts of 1 s plus keepalived's skew under 1 s), then three EC2 calls and one IKE exchange (INITIAL_CONTACT).");
    },
};

export const failoverBackCheck: CheckDefinition<PairContext> = {
    id: "failover-back",
    title: "the killed member boots again from its disk (EC2's recover) and stays standby: nothing moves, nothing fails",
    timeoutMs: 400_000,
    skip: (ctx) => (ctx.killed === undefined ? "the failover check killed no member" : undefined),
    run: async (ctx, rec) => {
        const killed = ctx.killed as number;
        const active = 1 - killed;
        const r = await measureFailoverBack(ctx.session, killed);
        rec.info("booted (sshd listening) after power-on", `${r.bootSeconds.toFixed(1)} s`);
        rec.measure("the returning member BACKUP after power-on", fixed(r.backupSeconds), r.backupSeconds !== undefined);
        rec.equal("states (a / b)", r.states, killed === 0 ? ["BACKUP", "MASTER"] : ["MASTER", "BACKUP"]);
        rec.equal("EIP moves in moto", r.moves, 0);
        rec.equal("moto: the EIP on", member(r.holder), member(active));
        rec.equal("moto: every partner route on the EIP's member", r.routesOnHolder, true);
        rec.equal("the partner's IKE SA (id, SPIs) unchanged", r.partnerSasAfter, r.partnerSasBefore);
        recordStreams(rec, r, "power-on to settled + 15 s", (failed) => failed === 0);
    },
};

/** How long the split-brain check cuts VRRP, and watches after it returns. */
export const SPLIT_SECONDS = 30;
export const SPLIT_SETTLE_SECONDS = 25;
/** The superseded member stands down at its next holder check (every 5 s) plus the EC2 calls. */
export const BOTH_MASTER_LIMIT_SECONDS = 15;

export const splitBrainCheck: CheckDefinition<PairContext> = {
    id: "split-brain",
    title: `VRRP between the members dropped on the VPC switch for ${SPLIT_SECONDS} s while both live, then restored`,
    timeoutMs: 300_000,
    run: async (ctx, rec) => {
        const r = await measureSplitBrain(ctx.session, SPLIT_SECONDS, SPLIT_SETTLE_SECONDS);
        rec.measure("VRRP packets the cut dropped (negative control: the cut took effect)", r.vrrpDropped, r.vrrpDropped > 0);
        rec.equal("moto samples with the EIP on no member or another interface", r.unassociatedSamples, 0);
        rec.measure("EIP moves during the cut (at most the standby's one claim)", r.movesDuringCut.length, r.movesDuringCut.length <= 1);
        rec.equal("EIP moves after VRRP returned", r.movesAfterHeal.length, 0);
        rec.measure(`seconds both members were MASTER (at most ${BOTH_MASTER_LIMIT_SECONDS})`, r.bothMasterSeconds, r.bothMasterSeconds <= BOTH_MASTER_LIMIT_SECONDS);
        rec.equal("MASTER members after the heal", r.finalStates.filter((st) => st === "MASTER").length, 1);
        rec.equal("moto: the EIP on the MASTER", member(r.holder), member(r.finalStates.indexOf("MASTER")));
        rec.equal("moto: every partner route on the EIP's member", r.routesOnHolder, true);
        rec.equal("a partner host answers after the heal", r.answersAfter, true);
        recordStreams(rec, r, "the cut and the heal");
    },
};

export const rollingReplaceCheck: CheckDefinition<PairContext> = {
    id: "rolling-replace",
    title: "README's OS replacement sequence: replace the standby, stop keepalived on the active, replace the old active",
    timeoutMs: 900_000,
    run: async (ctx, rec) => {
        const r = await measureRollingReplace(ctx.session);
        rec.info("the active member at the start (holds the EIP)", member(r.firstActive));
        rec.equal("steps", r.steps.length, 3);
        rec.equal("EIP moves in the whole sequence (one failover the partner sees)", r.moves, 1);
        for (const [i, st] of r.steps.entries()) {
            rec.info(`${st.step}: seconds`, st.seconds.toFixed(1));
            rec.equal(`${st.step}: EIP moves`, st.moves, i === 1 ? 1 : 0);
            // Replacing a member that does not hold the EIP must not fail a request; the hand-over is the one gap.
            recordStreams(rec, st, st.step, i === 1 ? undefined : (failed) => failed === 0);
        }
        r.handoverSeconds.forEach((x, i) => rec.measure(`${HA_LAB.hosts[i]}: answers again after stopping keepalived (goal < ${FAILOVER_GOAL_SECONDS} s)`, fixed(x), x !== undefined && x < FAILOVER_GOAL_SECONDS));
        rec.equal("states (first active / other)", [r.finalStates[r.firstActive], r.finalStates[1 - r.firstActive]], ["BACKUP", "MASTER"]);
        rec.equal("moto: the EIP on", member(r.holder), member(1 - r.firstActive));
        rec.equal("moto: every partner route on the EIP's member", r.routesOnHolder, true);
        rec.equal("our address as the partner's servers saw it, whole sequence", r.peers, NAT_VIEW);
        rec.detail("Lab deviation: the replacement keeps the member's interface id; AWS gives a new one, which the failover policy follows (it names both instances' primaryNetworkInterfaceId).");
    },
};

export const PAIR_CHECKS: readonly CheckDefinition<PairContext>[] = [failoverCheck, failoverBackCheck, splitBrainCheck, rollingReplaceCheck];

/**
 * The active/standby pair's lab checks (lab/checks/pair.ts), as `npm run lab` runs them: one pair
 * on two booted Debian 13 images (lab/haSession.ts), provisioned with the program's own remote
 * commands (bootstrap, apply of each member) over real SSH and sudo, keepalived from the image's
 * packages, the EC2 API in moto (the pair's IAM policy loaded) and the lab's internet gateway and
 * VPC routes following moto's state. The checks run in order on the pair: failover, failover-back,
 * split-brain, rolling-replace. Each test asserts every measurement its check took and prints them.
 */
import { expect } from "chai";
import { runCheck } from "../../lab/checkResult";
import { PAIR_CHECKS, type PairContext } from "../../lab/checks/pair";
import { startPairSession, stopPairSession } from "../../lab/haSession";
import { ensureMotoRoot } from "../../lab/moto";
import { requireLab, skipOrFail } from "../gates";

/** Both builds on a new machine (measured: about 7 min each under load), with room. */
const COLD_BUILDS_MS = 40 * 60_000;

describe("lab: an active/standby pair on booted Debian 13 images", function () {
    this.timeout(600_000);
    let ctx: PairContext | undefined;

    before(async function () {
        // Run on its own on a new machine (`npm run test:lab`, or this file), it builds the Debian 13
        // image and moto's trixie chroot first (debootstrap each, minutes on a shared 2-core machine).
        this.timeout(COLD_BUILDS_MS);
        requireLab(this);
        const motoRoot = await ensureMotoRoot();
        if ("problem" in motoRoot) skipOrFail(this, `moto_server is not available: ${motoRoot.problem}`, "LAB_REQUIRED");
        else ctx = { session: await startPairSession(motoRoot.root) };
    });

    after(async () => {
        if (ctx) console.log(`      ${ctx.session.report.join("\n      ")}`);
        await stopPairSession(ctx?.session);
    });

    for (const def of PAIR_CHECKS) {
        it(`${def.id}: ${def.title}`, async function () {
            if (def.timeoutMs) this.timeout(def.timeoutMs);
            const r = await runCheck(def, ctx as PairContext);
            const measured = r.measures.map((m) => `${m.info ? "info" : m.ok ? "ok" : "NOT OK"}: ${m.label}: ${m.value}`).join("\n");
            console.log(`      ${measured.split("\n").join("\n      ")}`);
            expect(r.status, r.reason ?? "").to.not.equal("skipped");
            expect(r.error, `${r.error}\n${measured}`).to.equal(undefined);
            expect(r.measures.filter((m) => !m.ok).map((m) => `${m.label}: ${m.value}`), measured).to.deep.equal([]);
            expect(r.measures.filter((m) => !m.info).length, "measurements with a verdict").to.be.greaterThan(0);
        });
    }
});

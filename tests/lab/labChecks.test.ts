/**
 * Every lab check (lab/checks) against each lab fixture, as `npm run lab` runs them: one lab per
 * fixture, provisioned through the program's own remote commands over SSH, shared by its checks
 * (they run in order; each establishes the config it needs). Each test asserts every measurement
 * the check took and prints the failing ones with their measured values.
 *
 * The endpoints boot Debian 13 (the fixtures' endpoint.os); Debian 12 runs the vpc-routing fixture
 * for the machine checks (bootstrap, tunnels, traffic, reboot). The first run builds each image
 * (debootstrap, minutes; lab/image.ts), later ones reuse it.
 *
 * Needs root and the lab's tools; skips with the reason otherwise, and fails instead when
 * LAB_REQUIRED=1.
 */
import { expect } from "chai";
import * as path from "path";
import { cleanupLab } from "../../lab/cleanup";
import { runCheck } from "../../lab/checkResult";
import { applicableChecks } from "../../lab/checks";
import { requireLab } from "../gates";
import { loadLabFixture } from "../../lab/stackLab";
import { endSession, startSession, type StackSession } from "../../lab/stackSession";

/** Building an image the first time (debootstrap on a shared 2-core machine) takes minutes. */
const IMAGE_BUILD_MS = 30 * 60_000;

const RUNS: readonly { fixture: string; os?: string; only?: readonly string[] }[] = [
    { fixture: "lab-vpc.yaml" },
    { fixture: "lab-classic.yaml" },
    { fixture: "lab-vpc.yaml", os: "debian-12", only: ["bootstrap", "tunnels", "traffic", "reboot"] },
    // Regression fixtures: a /29 with proxies to two hosts in it; two partners changed concurrently.
    { fixture: "lab-classic-network.yaml", only: ["tunnels", "traffic"] },
    { fixture: "lab-two-partners.yaml", only: ["tunnels", "traffic", "zero-downtime"] },
    // Our endpoint on Libreswan 5 (Debian 13's package): the machine checks (lab/checks/index.ts).
    { fixture: "lab-libreswan.yaml" },
];

for (const { fixture, os, only } of RUNS) {
    describe(`lab checks on ${fixture}${os ? ` (--os ${os})` : ""}, provisioned through the program's remote commands over real SSH`, function () {
        this.timeout(180_000);
        let session: StackSession | undefined;

        before(async function () {
            this.timeout(IMAGE_BUILD_MS);
            requireLab(this);
            session = await startSession(loadLabFixture(path.join(__dirname, "fixtures", fixture), { os }));
        });

        after(function () {
            if (session) endSession(session);
            cleanupLab();
        });

        // A vpc-routing endpoint has no proxy, so the nginx bad push does not apply to it: leave
        // the test out rather than report it as skipped (CI treats skips as missing tools).
        const fixtureModel = loadLabFixture(path.join(__dirname, "fixtures", fixture)).model;
        const mode = fixtureModel.mode;
        const applicable = applicableChecks({ model: fixtureModel }).filter((def) => !(def.id === "bad-push-nginx" && mode !== "classic-proxy") && (!only || only.includes(def.id)));
        for (const def of applicable) {
            it(`${def.id}: ${def.title}`, async function () {
                if (def.timeoutMs) this.timeout(def.timeoutMs);
                const r = await runCheck(def, session as StackSession);
                if (r.status === "skipped") {
                    console.log(`      skipped: ${r.reason}`);
                    this.skip();
                }
                const measured = r.measures.map((m) => `${m.info ? "info" : m.ok ? "ok" : "NOT OK"}: ${m.label}: ${m.value}`).join("\n");
                expect(r.error, `${r.error}\n${measured}`).to.equal(undefined);
                expect(r.measures.filter((m) => !m.ok).map((m) => `${m.label}: ${m.value}`), measured).to.deep.equal([]);
                expect(r.measures.filter((m) => !m.info).length, "measurements with a verdict").to.be.greaterThan(0);
            });
        }
    });
}

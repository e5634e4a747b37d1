/**
 * The one skip-or-fail gate for tests that need something a machine may lack (a tool, root, the
 * network lab): the test skips with a printed reason, unless the gate's variable is set to 1
 * (CI on a prepared machine), which turns the skip into a failure.
 * - REQUIRE_TOOLS=1: tools, root, Libreswan for the tool tests;
 * - LAB_REQUIRED=1: the network lab (tests/lab, the bench's lab part).
 */
import { labUnavailableReason } from "../lab/preflight";

export type Gate = "REQUIRE_TOOLS" | "LAB_REQUIRED";

/** True when the gate's variable is 1: a missing prerequisite is then a failure. */
export function gateRequired(gate: Gate): boolean {
    return process.env[gate] === "1";
}

/** Skips the current test or suite with a printed reason, or fails it when `gate`=1. */
export function skipOrFail(ctx: Mocha.Context, reason: string, gate: Gate = "REQUIRE_TOOLS"): never {
    if (gateRequired(gate)) throw new Error(`${gate}=1 but ${reason}`);
    console.log(`      [skip] ${reason}`);
    return ctx.skip();
}

/** The network lab must be able to run here (lab/preflight.ts); otherwise skip, or fail with LAB_REQUIRED=1. */
export function requireLab(ctx: Mocha.Context): void {
    const reason = labUnavailableReason();
    if (reason) skipOrFail(ctx, `the lab cannot run: ${reason}`, "LAB_REQUIRED");
}

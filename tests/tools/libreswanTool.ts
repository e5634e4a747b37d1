/**
 * Where the Libreswan tests find Libreswan. The package conflicts with strongSwan's, so it is
 * never installed: .ci/run unpacks it into /opt/libreswan; elsewhere the first test that needs it
 * unpacks it (apt-get download + dpkg -x, lab/libreswan.ts) into a cache folder. When neither
 * works the test skips with the reason, or fails when REQUIRE_TOOLS=1 (or, for the lab,
 * LAB_REQUIRED=1).
 */
import { ensureLibreswanRoot, libreswanVersion } from "../../lab/libreswan";
import { skipOrFail } from "../gates";

let cached: { root: string } | { problem: string } | undefined;

function located(): { root: string } | { problem: string } {
    if (!cached) {
        cached = ensureLibreswanRoot();
        if ("root" in cached) console.log(`      [libreswan] ${libreswanVersion(cached.root) ?? "unknown version"} unpacked at ${cached.root}`);
    }
    return cached;
}

/** The unpacked Libreswan's root folder; skips (or fails with REQUIRE_TOOLS=1) without one. */
export function requireLibreswan(ctx: Mocha.Context): string {
    const l = located();
    if ("problem" in l) skipOrFail(ctx, `Libreswan not available: ${l.problem}`);
    return l.root;
}

/** The same for the network lab (with its own prerequisites): skips, or fails with LAB_REQUIRED=1. */
export function requireLibreswanForLab(ctx: Mocha.Context, check: (root: string) => string | undefined): string {
    const l = located();
    const why = "problem" in l ? `Libreswan not available: ${l.problem}` : check(l.root);
    if (!why && "root" in l) return l.root;
    return skipOrFail(ctx, `the Libreswan lab cannot run: ${why}`, "LAB_REQUIRED");
}

/**
 * The one gate every tool test goes through: a missing tool (or root) skips the test with a
 * printed reason, unless REQUIRE_TOOLS=1, which turns the skip into a failure.
 */
import { expect } from "chai";
import { findTool, requireFile, requireTool, skipOrFail } from "./tools";

class Skipped extends Error {}

/** A stand-in for mocha's context: records the skip instead of ending the test. */
function fakeContext(): Mocha.Context {
    return {
        skip: () => {
            throw new Skipped("skipped");
        },
    } as unknown as Mocha.Context;
}

describe("tools: skip-or-fail gating", () => {
    let saved: string | undefined;
    let log: typeof console.log;
    const printed: string[] = [];

    beforeEach(() => {
        saved = process.env.REQUIRE_TOOLS;
        log = console.log;
        printed.length = 0;
        console.log = (...args: unknown[]) => void printed.push(args.join(" "));
    });

    afterEach(() => {
        console.log = log;
        if (saved === undefined) delete process.env.REQUIRE_TOOLS;
        else process.env.REQUIRE_TOOLS = saved;
    });

    it("skips with a printed reason when a tool is missing", () => {
        delete process.env.REQUIRE_TOOLS;
        expect(() => requireTool(fakeContext(), "sh", "pvt-no-such-tool")).to.throw(Skipped);
        expect(printed.join("\n")).to.include("[skip] tool not installed: pvt-no-such-tool");
    });

    it("fails instead when REQUIRE_TOOLS=1", () => {
        process.env.REQUIRE_TOOLS = "1";
        expect(() => requireTool(fakeContext(), "pvt-no-such-tool")).to.throw(Error, "REQUIRE_TOOLS=1 but tool not installed: pvt-no-such-tool");
        expect(() => requireFile(fakeContext(), "/nonexistent/pvt-module.so", "a module")).to.throw(Error, /REQUIRE_TOOLS=1 but a module not installed/);
        expect(() => skipOrFail(fakeContext(), "not running as root")).to.throw(Error, "REQUIRE_TOOLS=1 but not running as root");
    });

    it("passes when every tool is there", () => {
        process.env.REQUIRE_TOOLS = "1";
        expect(() => requireTool(fakeContext(), "sh")).not.to.throw();
    });

    it("finds tools in the sbin folders and by absolute path", () => {
        expect(findTool("sh")).to.match(/\/sh$/);
        expect(findTool("/bin/sh")).to.equal("/bin/sh");
        expect(findTool("pvt-no-such-tool")).to.equal(undefined);
    });
});

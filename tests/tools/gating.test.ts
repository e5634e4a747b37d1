/**
 * The one gate every tool and lab test goes through (tests/gates.ts): a missing tool (or root, or
 * lab) skips the test with a printed reason, unless REQUIRE_TOOLS=1 (tools) or LAB_REQUIRED=1
 * (the lab), which turns the skip into a failure.
 */
import { expect } from "chai";
import { skipOrFail } from "../gates";
import { findTool, requireFile, requireTool } from "./tools";

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
    let savedLab: string | undefined;
    let log: typeof console.log;
    const printed: string[] = [];

    beforeEach(() => {
        saved = process.env.REQUIRE_TOOLS;
        savedLab = process.env.LAB_REQUIRED;
        log = console.log;
        printed.length = 0;
        console.log = (...args: unknown[]) => void printed.push(args.join(" "));
    });

    afterEach(() => {
        console.log = log;
        if (saved === undefined) delete process.env.REQUIRE_TOOLS;
        else process.env.REQUIRE_TOOLS = saved;
        if (savedLab === undefined) delete process.env.LAB_REQUIRED;
        else process.env.LAB_REQUIRED = savedLab;
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

    it("gates the lab on LAB_REQUIRED alone: skips without it, fails with it", () => {
        process.env.REQUIRE_TOOLS = "1";
        delete process.env.LAB_REQUIRED;
        expect(() => skipOrFail(fakeContext(), "the lab cannot run: no root", "LAB_REQUIRED")).to.throw(Skipped);
        expect(printed.join("\n")).to.include("[skip] the lab cannot run: no root");
        delete process.env.REQUIRE_TOOLS;
        process.env.LAB_REQUIRED = "1";
        expect(() => skipOrFail(fakeContext(), "the lab cannot run: no root", "LAB_REQUIRED")).to.throw(Error, "LAB_REQUIRED=1 but the lab cannot run: no root");
        expect(() => skipOrFail(fakeContext(), "tool not installed: x")).to.throw(Skipped);
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

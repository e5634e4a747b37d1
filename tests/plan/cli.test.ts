/**
 * The CLI as a user runs it (child processes): --json against what the program registers, the
 * files it writes, an invalid config (exit 2, every error, nothing written), usage errors.
 */
import { expect } from "chai";
import { existsSync, readFileSync, writeFileSync } from "fs";
import * as path from "path";
import { validateStackConfig, formatIssue } from "../../core/validate";
import { PlaceholderSecrets } from "../../plan/placeholderSecrets";
import { evaluateProgram } from "../../program/mocks";
import { loadConfig } from "../../plan/stackSource";
import { projectConfig } from "../../program/stackFile";
import { DEV_STACKS, editStack, filesUnder, partnersOf, removeDir, runChild, stackText, tempDir } from "./helpers";

interface JsonPlan {
    stack: string;
    mode: string;
    outDir: string;
    summary: { partners: number; resources: number; resourcesByType: Record<string, number>; endpoints: number; publicIpv4Addresses: number };
    partners: {
        name: string;
        resources: { type: string; name: string; parent: string; inputs: Record<string, unknown>; options: { protect: boolean } }[];
        files: { path: string; mode: string; content: string }[];
        scripts: { name: string; content: string }[];
    }[];
}

const countByType = (list: readonly { type: string }[]) => list.reduce<Record<string, number>>((m, r) => ({ ...m, [r.type]: (m[r.type] ?? 0) + 1 }), {});

for (const stack of DEV_STACKS) {
    describe(`plan CLI --json: ${stack}`, () => {
        let out: string;
        let plan: JsonPlan;
        before(function () {
            this.timeout(120_000);
            out = tempDir("json");
            const run = runChild(["--stack", stack, "--json", "--out", out]);
            expect(run.code, run.stderr).to.equal(0);
            plan = JSON.parse(run.stdout) as JsonPlan;
        });
        after(() => removeDir(out));

        it("lists the resources evaluateProgram records: same types, names and counts per type", async () => {
            const { values } = loadConfig(stackText(stack), stack);
            const names = (projectConfig(values).partners as { name: string }[]).map((p) => p.name);
            const ev = await evaluateProgram({ ...values, ...new PlaceholderSecrets().configValues(names) }, { stack });
            const listed = plan.partners.flatMap((p) => p.resources);
            expect(listed.map((r) => `${r.type}::${r.name}`).sort()).to.deep.equal(ev.resources.map((r) => `${r.type}::${r.name}`).sort());
            expect(countByType(listed)).to.deep.equal(countByType(ev.resources));
            expect(plan.summary.resourcesByType).to.deep.equal(countByType(ev.resources));
            expect(plan.summary.resources).to.equal(ev.resources.length);
            expect(plan.summary.publicIpv4Addresses).to.equal(countByType(ev.resources)["aws:ec2/eip:Eip"]);
            // Parents as the program registered them: every child under its partner's component.
            for (const p of plan.partners) {
                const component = p.resources.find((r) => r.type === "partner-vpn:index:PartnerVpn");
                for (const r of p.resources.filter((x) => x !== component)) expect(r.parent).to.include(`PartnerVpn::${p.name}`);
            }
            const eips = listed.filter((r) => r.type === "aws:ec2/eip:Eip");
            expect(eips.every((r) => r.options.protect)).to.equal(true);
        });

        it("writes every endpoint file with its content and mode, plus the apply and bootstrap scripts", () => {
            const written = filesUnder(out);
            for (const p of plan.partners) {
                for (const f of p.files) {
                    const file = path.join(out, p.name, "files", ...f.path.split("/").filter(Boolean));
                    expect(readFileSync(file, "utf8"), f.path).to.equal(f.content);
                }
                for (const s of p.scripts) expect(readFileSync(path.join(out, p.name, "commands", s.name), "utf8")).to.equal(s.content);
                expect(p.files.find((f) => f.path.endsWith(".secrets.conf"))?.mode).to.equal("0600");
            }
            expect(written.filter((f) => !f.file.endsWith(".partner-vpn-plan.json"))).to.have.length(plan.partners.reduce((n, p) => n + p.files.length + p.scripts.length, 0));
            expect(plan.outDir).to.equal(out);
        });
    });
}

describe("plan CLI: invalid config", () => {
    let dir: string;
    before(() => {
        dir = tempDir("invalid");
    });
    after(() => removeDir(dir));

    it("exits 2, lists every validation error with its field path, and writes nothing", function () {
        this.timeout(120_000);
        const text = editStack(stackText("dev"), (c) => {
            const p = partnersOf(c)[0];
            p.privateIp = "10.9.9.9";
            p.gatewayIp = "not-an-ip";
            p.ike = { version: 3, ikeProposals: ["aes256-sha1-modp1024"] };
            (c["partner-vpn:network"] as Record<string, unknown>).vpcId = "vpc-xyz";
        });
        const file = path.join(dir, "Pulumi.broken.yaml");
        writeFileSync(file, text);
        const expected = validateStackConfig(projectConfig(loadConfig(text, "x").values));
        expect(expected.ok).to.equal(false);
        const errors = expected.ok ? [] : expected.errors;
        expect(errors.length).to.be.at.least(4);

        const out = path.join(dir, "out");
        const run = runChild(["--config", file, "--out", out]);
        expect(run.code).to.equal(2);
        expect(run.stdout).to.equal("");
        for (const e of errors) expect(run.stderr).to.include(formatIssue(e));
        for (const p of ["partners[0].privateIp", "partners[0].gatewayIp", "partners[0].ike.version", "network.vpcId"]) {
            expect(run.stderr).to.include(`${p}: `);
        }
        expect(run.stderr).to.include(`has ${errors.length} problem(s); nothing was written`);
        expect(existsSync(out)).to.equal(false);
        expect(existsSync(path.join(dir, "plan-out"))).to.equal(false);
    });

    it("exits 2 on a file that is not a stack file, and 64 on unknown options", function () {
        this.timeout(120_000);
        const file = path.join(dir, "Pulumi.nonsense.yaml");
        writeFileSync(file, "just: [a, list\n");
        const run = runChild(["--config", file, "--out", path.join(dir, "out2")]);
        expect(run.code).to.equal(2);
        expect(existsSync(path.join(dir, "out2"))).to.equal(false);
        const usage = runChild(["--stak", "dev"]);
        expect(usage.code).to.equal(64);
        expect(usage.stderr).to.include("Usage: npm run plan");
    });
});

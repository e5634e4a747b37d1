/**
 * Smoke tests of `npm run bench`: with one partner and tiny counts (--quick) it runs every part,
 * prints its table and writes valid JSON with the expected keys. No timing is asserted: the
 * numbers depend on the machine and its load (the bench prints both). The lab part needs root and
 * the lab's tools; it skips with the reason otherwise, and fails instead when LAB_REQUIRED=1.
 */
import { expect } from "chai";
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { requireLab } from "../gates";
import { parseArgs } from "../../scripts/bench";

const ROOT = path.join(__dirname, "..", "..");
/**
 * mocha sorts its files, so these run before every lab test: on a new machine the lab parts build
 * the Debian 13 image and moto's trixie chroot first (debootstrap each, about 7 min under load).
 */
const COLD_BUILDS_MS = 40 * 60_000;

function runBench(args: string[], timeoutMs = 110_000): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
        execFile("npm", ["run", "-s", "bench", "--", ...args], { cwd: ROOT, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
            const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
            resolve({ code, stdout, stderr });
        });
    });
}

describe("npm run bench (smoke)", function () {
    this.timeout(120_000);
    let dir: string;

    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "pvpn-bench-test-"));
    });

    after(() => {
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("parses --quick into one partner and tiny counts, and lets explicit options override it", () => {
        const options = (argv: string[]) => {
            const o = parseArgs(argv);
            if (o === "help") throw new Error(`${argv.join(" ")} parsed as --help`);
            return o;
        };
        const quick = options(["--quick"]);
        expect([quick.partners, quick.runs, quick.labRepeats, quick.pushRuns, quick.failoverRuns]).to.deep.equal([[1], 1, 1, 1, 1]);
        expect(options([]).failoverRuns).to.equal(3);
        expect(options(["--no-failover"])).to.include({ failover: false, lab: true });
        expect(() => parseArgs(["--failover-runs", "21"])).to.throw(/--failover-runs/);
        expect(options(["--quick", "--partners", "1,10", "--runs=2"]).partners).to.deep.equal([1, 10]);
        expect(options(["--quick", "--partners", "1,10", "--runs=2"]).runs).to.equal(2);
        expect(options([]).partners).to.deep.equal([1, 10, 50, 100]);
        expect(options(["--no-lab"])).to.include({ lab: false, eval: true });
        expect(() => parseArgs(["--runs", "0"])).to.throw(/--runs/);
        expect(() => parseArgs(["--modes", "jit"])).to.throw(/unknown mode/);
        expect(() => parseArgs(["--no-such-flag"])).to.throw(/Unknown option '--no-such-flag'/);
        expect(parseArgs(["-h"])).to.equal("help");
    });

    it("evaluation part: --quick --no-lab evaluates 1 partner every way, prints the table and writes JSON", async () => {
        const out = path.join(dir, "eval.json");
        const r = await runBench(["--quick", "--no-lab", "--no-failover", "--out", out]);
        expect(r.code, `${r.stdout}\n${r.stderr}`).to.equal(0);
        expect(r.stdout).to.match(/^machine: \d+ cores, .+, load average .+, kernel .+, node v\d+/m);
        expect(r.stdout).to.match(/^\| part +\| measure +\| value +\| goal +\| met +\|$/m);
        const json = JSON.parse(fs.readFileSync(out, "utf8"));
        expect(json).to.include.keys("generatedAt", "options", "machine", "evaluation", "lab", "table");
        expect(json.machine).to.include.keys("cores", "cpuModel", "kernel", "node", "load");
        expect(json.lab).to.deep.equal({ skipped: "--no-lab" });
        expect(json.failover).to.deep.equal({ skipped: "--no-failover" });
        expect(json.evaluation.modes.map((m: { mode: string }) => m.mode)).to.deep.equal(["ts-node", "compiled-runner-sourcemaps", "compiled"]);
        for (const m of json.evaluation.modes) {
            expect(m.rows).to.have.length(1);
            // 9 for the endpoint (component, 2 EIPs, association, SG, instance, route, 2 commands)
            // + 6 for monitoring (role, its policy, instance profile, 2 TunnelState alarms, status check).
            expect(m.rows[0]).to.include({ partners: 1, runs: 1, resources: 15 });
            expect(m.rows[0].medianSeconds).to.be.a("number").greaterThan(0);
        }
        expect(json.table.filter((row: { part: string }) => row.part === "1 evaluation")).to.have.length(3);
    });

    it("lab part: --quick --no-eval measures one rollout each way and the push times", async function () {
        requireLab(this);
        this.timeout(COLD_BUILDS_MS + 120_000);
        const out = path.join(dir, "lab.json");
        const r = await runBench(["--quick", "--no-eval", "--no-failover", "--out", out], COLD_BUILDS_MS + 110_000);
        expect(r.code, `${r.stdout}\n${r.stderr}`).to.equal(0);
        const json = JSON.parse(fs.readFileSync(out, "utf8"));
        expect(json.evaluation).to.include({ skipped: "--no-eval" });
        expect(json.lab).to.include.keys("fixture", "partner", "rate", "runs", "pushes", "notes", "seconds");
        expect(json.lab.error).to.equal(undefined);
        expect(json.lab.rate).to.be.at.least(20);
        expect(json.lab.runs.map((x: { way: string }) => x.way)).to.deep.equal(["ours", "naive"]);
        for (const run of json.lab.runs) expect(run.requests).to.be.greaterThan(0);
        for (const key of ["unchanged", "addHost", "removeHost", "sshOnly"]) expect(json.lab.pushes[key].samples, key).to.have.length(1);
    });

    it("failover part: --quick --no-eval --no-lab fails over an active/standby pair once and brings the member back", async function () {
        requireLab(this);
        this.timeout(COLD_BUILDS_MS + 1_200_000);
        const out = path.join(dir, "failover.json");
        const r = await runBench(["--quick", "--no-eval", "--no-lab", "--out", out], COLD_BUILDS_MS + 1_150_000);
        expect(r.code, `${r.stdout}\n${r.stderr}`).to.equal(0);
        const json = JSON.parse(fs.readFileSync(out, "utf8"));
        expect(json.failover.error, json.failover.error).to.equal(undefined);
        expect(json.failover.runs).to.have.length(1);
        const [run] = json.failover.runs;
        expect(run.failover.recoveredSeconds).to.have.length(2);
        for (const x of run.failover.recoveredSeconds) expect(x, "each partner host answered again").to.be.a("number");
        expect(run.failover.total).to.be.greaterThan(0);
        expect(run.back.total).to.be.greaterThan(0);
        expect(json.table.filter((row: { part: string }) => row.part === "4 failover")).to.have.length(4);
        expect(r.stdout).to.include("kill the active member's machine");
    });
});

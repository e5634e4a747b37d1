/**
 * Where the plan writes: plan-out/<stack>/<partner>/ by default; stale output of an earlier plan
 * is replaced, and a folder the plan did not write is never touched.
 */
import { expect } from "chai";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "fs";
import * as path from "path";
import { acmePartner, editStack, partnersOf, removeDir, runInProcess, stackText, tempDir } from "./helpers";

describe("plan output folder", () => {
    let repo: string;
    beforeEach(() => {
        repo = tempDir("out");
    });
    afterEach(() => removeDir(repo));

    it("defaults to plan-out/<stack>/<partner>/ under the repository, endpoint paths under files/", async () => {
        writeFileSync(path.join(repo, "Pulumi.dev-classic.yaml"), stackText("dev-classic"));
        const run = await runInProcess(["--stack", "dev-classic", "--repo", repo], { cwd: repo });
        expect(run.code, run.stderr).to.equal(0);
        const partner = path.join(repo, "plan-out", "dev-classic", "bigcorp");
        expect(readFileSync(path.join(partner, "files", "etc", "nginx", "nginx.conf"), "utf8")).to.include("proxy_pass http://110.220.10.7:80;");
        expect(existsSync(path.join(partner, "commands", "bootstrap.sh"))).to.equal(true);
        expect(run.stdout).to.include("files: plan-out/dev-classic/bigcorp/files/ (10 endpoint files)");
    });

    it("replaces what an earlier plan wrote, so a removed partner leaves nothing behind", async () => {
        const file = path.join(repo, "Pulumi.dev.yaml");
        writeFileSync(file, editStack(stackText("dev"), (c) => {
            partnersOf(c).push(acmePartner("vpc-routing"));
        }));
        const out = path.join(repo, "out");
        expect((await runInProcess(["--repo", repo, "--out", out], { cwd: repo })).code).to.equal(0);
        expect(existsSync(path.join(out, "acme", "files", "etc", "partner-vpn", "acme", "nat.rules"))).to.equal(true);
        writeFileSync(file, stackText("dev"));
        expect((await runInProcess(["--repo", repo, "--out", out], { cwd: repo })).code).to.equal(0);
        expect(existsSync(path.join(out, "acme"))).to.equal(false);
        expect(existsSync(path.join(out, "bigcorp", "commands", "apply.sh"))).to.equal(true);
    });

    it("refuses a non-empty folder it did not write, and leaves it alone", async () => {
        writeFileSync(path.join(repo, "Pulumi.dev.yaml"), stackText("dev"));
        const out = path.join(repo, "mine");
        mkdirSync(path.join(out, "bigcorp"), { recursive: true });
        writeFileSync(path.join(out, "bigcorp", "notes.txt"), "keep me");
        const run = await runInProcess(["--repo", repo, "--out", out], { cwd: repo });
        expect(run.code).to.equal(1);
        expect(run.stderr).to.include("is not empty and was not written by the plan");
        expect(readFileSync(path.join(out, "bigcorp", "notes.txt"), "utf8")).to.equal("keep me");
        expect(existsSync(path.join(out, "bigcorp", "files"))).to.equal(false);
    });
});

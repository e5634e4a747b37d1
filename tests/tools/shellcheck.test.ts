/**
 * shellcheck on every shell script of the repository and on the scripts the renderer assembles
 * from them (the apply script of every stack variant, the boot and remove helpers, the bootstrap
 * script), written to a scratch folder first. A deliberately bad script proves shellcheck ran.
 */
import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import { renderBootHelper, renderBootstrapScript, renderRemoveHelper } from "../../core/render";
import { describeRun, REPO_ROOT, removeScratch, renderPartner, requireTool, run, scratchDir, stackVariants } from "./tools";

const SKIP_DIRS = new Set(["node_modules", ".git", "bin", "plan-out", "bench-out", "lab-out"]);

/** A shell script without the .sh suffix (e.g. .ci/run): its first line is a sh or bash shebang. */
function hasShellShebang(file: string): boolean {
    const fd = fs.openSync(file, "r");
    try {
        const buf = Buffer.alloc(64);
        const n = fs.readSync(fd, buf, 0, 64, 0);
        return /^#!\s*(\/usr)?\/bin\/(env\s+)?(ba)?sh\b/.test(buf.subarray(0, n).toString("latin1"));
    } finally {
        fs.closeSync(fd);
    }
}

/** Every shell script in the repository (*.sh, or a sh/bash shebang) outside installed and generated trees. */
function repoShellScripts(dir = REPO_ROOT): string[] {
    const out: string[] = [];
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) {
            if (!SKIP_DIRS.has(entry.name)) out.push(...repoShellScripts(full));
        } else if (entry.isFile() && (entry.name.endsWith(".sh") || (!/\.(ts|js|mjs|json|md|ya?ml)$/.test(entry.name) && hasShellShebang(full)))) {
            out.push(full);
        }
    }
    return out.sort();
}

function shellcheck(file: string): ReturnType<typeof run> {
    return run(["shellcheck", "--shell=bash", "--severity=style", "--format=gcc", file]);
}

describe("tools: shellcheck on the endpoint scripts, as written and as rendered", function () {
    this.timeout(120_000);
    let dir = "";

    before(function () {
        requireTool(this, "shellcheck");
        dir = scratchDir("shellcheck");
    });

    after(() => {
        if (dir) removeScratch(dir);
    });

    it("finds the endpoint scripts among the repository's shell scripts", () => {
        const names = repoShellScripts().map((f) => path.relative(REPO_ROOT, f));
        for (const s of ["apply.sh", "boot.sh", "bootstrap.sh", "lib.sh", "remove.sh"]) expect(names).to.include(`scripts/endpoint/${s}`);
        console.log(`      shell scripts found: ${names.join(", ")}`);
    });

    for (const file of repoShellScripts()) {
        const rel = path.relative(REPO_ROOT, file);
        it(`${rel} is clean`, () => {
            const r = shellcheck(file);
            expect(r.code, describeRun(["shellcheck", rel], r)).to.equal(0);
        });
    }

    const rendered: { name: string; content: () => string }[] = [
        { name: "partner-vpn-boot", content: renderBootHelper },
        { name: "partner-vpn-remove", content: renderRemoveHelper },
        { name: "bootstrap", content: renderBootstrapScript },
        ...stackVariants().map((v) => ({ name: `apply-${v.name}`, content: () => renderPartner(v.model).apply })),
        { name: "apply-dev-hostile-psk", content: () => renderPartner(stackVariants()[0].model, undefined, "a'b\"c\n$(reboot)`x`").apply },
    ];
    for (const r of rendered) {
        it(`the rendered ${r.name} script is clean`, () => {
            const file = path.join(dir, `${r.name}.sh`);
            fs.writeFileSync(file, r.content(), { mode: 0o600 });
            const result = shellcheck(file);
            expect(result.code, describeRun(["shellcheck", file], result)).to.equal(0);
        });
    }

    it("the rendered helper and apply scripts parse with bash -n", () => {
        for (const r of rendered) {
            const file = path.join(dir, `${r.name}.sh`);
            fs.writeFileSync(file, r.content(), { mode: 0o600 });
            const result = run(["bash", "-n", file]);
            expect(result.code, describeRun(["bash", "-n", file], result)).to.equal(0);
        }
    });

    it("negative control: flags an unquoted expansion and a useless cat (shellcheck really ran)", () => {
        const file = path.join(dir, "bad.sh");
        fs.writeFileSync(file, '#!/usr/bin/env bash\ndir=$1\nrm -rf $dir/*\ncat "$2" | grep x\n');
        const r = shellcheck(file);
        expect(r.code).not.to.equal(0);
        expect(r.stdout).to.include("SC2086");
        expect(r.stdout).to.include("SC2002");
    });
});

/**
 * The placeholder secrets: valid for the validator, really used by the evaluated program, and in
 * no form (plain, base64 at any alignment, PEM lines) in the plan's stdout, JSON or written files.
 */
import { expect } from "chai";
import { randomBytes } from "crypto";
import { pskProblem, sshKeyProblem } from "../../core/secrets";
import {
    assertNoSecret, base64Forms, containsSecret, PlaceholderSecrets, placeholderPsk, SecretLeakError,
} from "../../plan/placeholderSecrets";
import { evaluateProgram, revealSecrets } from "../../program/mocks";
import { loadConfig } from "../../plan/stackSource";
import { writeFileSync } from "fs";
import * as path from "path";
import { DEV_STACKS, editStack, filesUnder, removeDir, runInProcess, stackText, tempDir } from "./helpers";

describe("plan secrets: placeholders", () => {
    it("makes PSKs the validator accepts, different each time", () => {
        const psks = Array.from({ length: 50 }, () => placeholderPsk());
        for (const psk of psks) expect(pskProblem(psk), psk.length.toString()).to.equal(undefined);
        expect(new Set(psks).size).to.equal(psks.length);
    });

    it("makes an SSH key the validator accepts without ssh-keygen", () => {
        const secrets = new PlaceholderSecrets();
        expect(secrets.sshPrivateKey).to.match(/^-----BEGIN RSA PRIVATE KEY-----\n/);
        expect(sshKeyProblem(secrets.sshPrivateKey)).to.equal(undefined);
    });

    it("recognises a secret inside any base64 encoding, at every offset, wrapped or not", () => {
        const secret = placeholderPsk();
        const forms = base64Forms(secret);
        for (let offset = 0; offset < 6; offset++) {
            const around = Buffer.concat([randomBytes(offset), Buffer.from(secret), randomBytes(7)]).toString("base64");
            expect(containsSecret(around, forms), `offset ${offset}`).to.equal(true);
            expect(containsSecret(around.replace(/(.{76})/g, "$1\n"), forms), `offset ${offset}, wrapped`).to.equal(true);
        }
        expect(containsSecret(Buffer.from("something else entirely, of some length").toString("base64"), forms)).to.equal(false);
    });

    it("refuses to output text holding a secret, without naming it", () => {
        const secrets = new PlaceholderSecrets();
        const psk = secrets.pskFor("bigcorp");
        expect(() => assertNoSecret(`x ${psk} y`, secrets.forms(), "the test")).to.throw(SecretLeakError).with.property("message").that.does.not.include(psk);
        const pemLine = secrets.sshPrivateKey.split("\n")[5];
        expect(() => assertNoSecret(pemLine, secrets.forms(), "the test")).to.throw(SecretLeakError);
    });
});

for (const stack of DEV_STACKS) {
    describe(`plan secrets: nothing leaks (${stack})`, () => {
        const secrets = new PlaceholderSecrets();
        let out: string;
        before(() => {
            out = tempDir("secrets");
        });
        after(() => removeDir(out));

        it("hands the placeholders to the program, which really uses them", async () => {
            // Without this, a leak check on the output could pass because the secrets never existed.
            const { values } = loadConfig(stackText(stack), stack);
            const ev = await evaluateProgram({ ...values, ...secrets.configValues(["bigcorp"]) }, { stack });
            const apply = ev.resources.find((r) => r.type === "command:remote:Command" && r.name.endsWith("-apply"));
            const stdin = String(revealSecrets(apply?.inputs.stdin));
            // The script carries the secrets file base64-encoded; that file holds the key base64-encoded.
            const inFile = Buffer.from(secrets.pskFor("bigcorp")).toString("base64");
            expect(containsSecret(stdin, base64Forms(inFile))).to.equal(true);
            expect(JSON.stringify(revealSecrets(apply?.inputs.connection))).to.include(JSON.stringify(secrets.sshPrivateKey));
        });

        it("prints and writes no form of the PSK or the SSH key (text, --json, files)", async () => {
            const text = await runInProcess(["--stack", stack, "--out", out], { secrets });
            expect(text.code, text.stderr).to.equal(0);
            const json = await runInProcess(["--stack", stack, "--out", out, "--json"], { secrets });
            expect(json.code, json.stderr).to.equal(0);
            const handoff = await runInProcess(["--stack", stack, "--handoff", "bigcorp"], { secrets });
            expect(handoff.code, handoff.stderr).to.equal(0);
            const files = filesUnder(out);
            expect(files.map((f) => f.file).some((f) => f.endsWith("commands/apply.sh"))).to.equal(true);
            const forms = secrets.forms();
            expect(forms.length).to.be.greaterThan(8);
            for (const [where, content] of [["stdout", text.stdout], ["json", json.stdout], ["handoff", handoff.stdout], ["stderr", text.stderr + json.stderr], ...files.map((f) => [f.file, f.text])]) {
                expect(containsSecret(content, forms), where).to.equal(false);
            }
            const parsed = JSON.parse(json.stdout) as { partners: { resources: { name: string; inputs: Record<string, unknown> }[] }[] };
            const apply = parsed.partners[0].resources.find((r) => r.name.endsWith("-apply"));
            expect(apply?.inputs.stdin).to.equal("[secret]");
            expect((apply?.inputs.connection as Record<string, unknown>).privateKey).to.equal("[secret]");
        });
    });
}

describe("plan secrets: secrets in the stack file", () => {
    it("uses placeholders for encrypted secrets, and never shows a secret stored in plain text", async () => {
        const dir = tempDir("stackfile");
        try {
            const plain = "PlainTextKeyThatMustNeverShow-7f3a9c";
            writeFileSync(path.join(dir, "Pulumi.dev.yaml"), editStack(stackText("dev"), (c) => {
                c["partner-vpn:psks"] = { bigcorp: { secure: "v1:AAAABBBBCCCCDDDD" } };
                c["partner-vpn:sshPrivateKey"] = plain;
            }));
            const run = await runInProcess(["--repo", dir, "--json"], { cwd: dir });
            expect(run.code, run.stderr).to.equal(0);
            const plan = JSON.parse(run.stdout) as { notes: string[]; warnings: string[] };
            expect(plan.notes).to.deep.equal([`partner-vpn:psks is encrypted in Pulumi.dev.yaml; the plan uses a random placeholder instead`]);
            expect(plan.warnings.join("\n")).to.include("partner-vpn:sshPrivateKey is stored in plain text in Pulumi.dev.yaml");
            for (const f of [{ file: "stdout", text: run.stdout }, ...filesUnder(dir).filter((x) => !x.file.endsWith(".yaml"))]) {
                expect(f.text, f.file).not.to.include(plain);
                expect(f.text, f.file).not.to.include("AAAABBBBCCCCDDDD");
            }
        } finally {
            removeDir(dir);
        }
    });
});

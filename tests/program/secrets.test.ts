/**
 * Secret hygiene: the PSK and the SSH key reach resources only inside secret values, never in a
 * plain input, a command string, a trigger or a stack output.
 */
import { expect } from "chai";
import { isSecretValue, redactSecrets, revealSecrets } from "../../program/mocks";
import { projectConfig } from "../../program/stackFile";
import { embeddedFiles, evaluate, one, stackConfig, stackFiles, T, testPsk, testSshKey } from "./harness";

function needles(partners: string[]): string[] {
    const key = testSshKey();
    const keyBody = key.split("\n")[1];
    return partners.flatMap((p) => [testPsk(p), Buffer.from(testPsk(p)).toString("base64")]).concat([keyBody, key]);
}

const bootstrap0 = (ev: Awaited<ReturnType<typeof evaluate>>, partner: string) => one(ev, T.command, `${partner}-bootstrap`);

describe("secret hygiene under mocks", () => {
    for (const file of stackFiles()) {
        it(`${file}: no PSK or SSH key outside secret values in any input or output`, async () => {
            const config = stackConfig(file);
            const partners = (projectConfig(config).partners as { name: string }[]).map((p) => p.name);
            const ev = await evaluate(config);
            const secretsSeen: string[] = [];
            for (const r of ev.resources) {
                const visible = JSON.stringify(redactSecrets(r.inputs));
                for (const n of needles(partners)) expect(visible, `${r.type} ${r.name}`).to.not.include(n);
                secretsSeen.push(JSON.stringify(revealSecrets(r.inputs)));
            }
            const outputs = JSON.stringify(ev.outputs);
            for (const n of needles(partners)) expect(outputs).to.not.include(n);
            // Positive control: the secrets did reach the resources (inside secret values).
            const all = secretsSeen.join("\n");
            expect(all).to.include(testSshKey().split("\n")[1]);
            const script = revealSecrets(one(ev, T.command, `${partners[0]}-apply`).inputs.stdin) as string;
            expect(embeddedFiles(script).join("\n")).to.include(`secret = 0s${Buffer.from(testPsk(partners[0])).toString("base64")}`);
        });

        it(`${file}: the apply's stdin and the SSH connection are secret; command strings hold no secret`, async () => {
            const config = stackConfig(file);
            const partner = (projectConfig(config).partners as { name: string }[])[0].name;
            const ev = await evaluate(config);
            for (const name of [`${partner}-apply`, `${partner}-bootstrap`]) {
                const cmd = one(ev, T.command, name);
                expect(isSecretValue(cmd.inputs.connection), `${name} connection`).to.equal(true);
                for (const field of ["create", "delete"]) {
                    if (cmd.inputs[field] === undefined) continue;
                    expect(typeof cmd.inputs[field], `${name}.${field} is a plain string`).to.equal("string");
                    for (const n of needles([partner])) expect(cmd.inputs[field] as string).to.not.include(n);
                }
                expect(cmd.inputs.environment, "secrets never travel in environment").to.equal(undefined);
            }
            const apply = one(ev, T.command, `${partner}-apply`);
            expect(isSecretValue(apply.inputs.stdin)).to.equal(true);
            // The hash over the PSK file is derived from the key: the triggers holding it are a
            // secret (the engine keeps the whole list secret), never plain state.
            expect(isSecretValue(apply.inputs.triggers), "the apply's triggers").to.equal(true);
            const triggers = revealSecrets(apply.inputs.triggers) as string[];
            expect(triggers).to.have.length(3);
            expect(triggers[2]).to.match(/^[0-9a-f]{32}$/);
            expect(isSecretValue(bootstrap0(ev, partner).inputs.triggers), "the bootstrap's triggers hold no secret").to.equal(false);
            expect(apply.options.additionalSecretOutputs).to.include.members(["stdout", "stderr"]);
            expect(apply.inputs.logging).to.equal("stderr");
            const bootstrap = one(ev, T.command, `${partner}-bootstrap`);
            expect(isSecretValue(bootstrap.inputs.stdin), "bootstrap holds no secret, so it stays readable").to.equal(false);
        });
    }
});

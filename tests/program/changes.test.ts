/**
 * What keeps previews small and rollouts safe: adding a partner leaves every existing partner's
 * resource inputs byte-identical, and changing one partner's hosts changes only that partner's
 * apply trigger (plus its routes).
 */
import { expect } from "chai";
import type { Evaluation } from "../../program/mocks";
import { redactSecrets, revealSecrets } from "../../program/mocks";
import { editConfig, evaluate, one, stackConfig, T } from "./harness";

type Partner = Record<string, unknown> & { name: string; remoteHosts: string[] };

function inputsOf(ev: Evaluation, prefix: string): Map<string, string> {
    return new Map(ev.resources.filter((r) => r.name === prefix || r.name.startsWith(`${prefix}-`))
        .map((r) => [`${r.type}::${r.name}`, JSON.stringify(redactSecrets(r.inputs)) + JSON.stringify(r.options)]));
}

const secondPartner: Partner = {
    name: "telco", privateIp: "172.16.0.6", gatewayIp: "110.221.1.1", remoteHosts: ["110.221.2.0/24"],
    ike: { version: 1, ikeProposals: ["aes256-sha256-modp2048"], espProposals: ["aes256-sha256"] },
};

describe("changes stay local to one partner", () => {
    for (const file of ["Pulumi.dev.yaml", "Pulumi.dev-classic.yaml"]) {
        it(`${file}: adding a partner leaves bigcorp's resources byte-identical`, async () => {
            const before = await evaluate(stackConfig(file));
            const after = await evaluate(editConfig(stackConfig(file), (cfg) => {
                (cfg.partners as Partner[]).push(secondPartner);
            }));
            expect([...inputsOf(after, "bigcorp")]).to.deep.equal([...inputsOf(before, "bigcorp")]);
            expect(inputsOf(after, "telco").size).to.be.greaterThan(5);
        });
    }

    it("changing bigcorp's hosts changes only bigcorp's apply trigger, routes and the new host's alarm", async () => {
        const base = (cfg: Record<string, unknown>) => (cfg.partners as Partner[]).push(secondPartner);
        const before = await evaluate(editConfig(stackConfig("Pulumi.dev.yaml"), base));
        const after = await evaluate(editConfig(stackConfig("Pulumi.dev.yaml"), (cfg) => {
            base(cfg);
            (cfg.partners as Partner[])[0].remoteHosts.push("110.220.10.200");
        }));
        const b = new Map([...inputsOf(before, "bigcorp"), ...inputsOf(before, "telco")]);
        const a = new Map([...inputsOf(after, "bigcorp"), ...inputsOf(after, "telco")]);
        const changed = [...a.keys()].filter((k) => b.get(k) !== a.get(k));
        expect(changed).to.have.members([
            "command:remote:Command::bigcorp-apply",
            "aws:ec2/route:Route::bigcorp-route-rtb-0a1b2c3d4e5f60718-110-220-10-200-32",
            "aws:cloudwatch/metricAlarm:MetricAlarm::bigcorp-tunnel-down-110-220-10-200-32",
        ]);
        const applyBefore = one(before, T.command, "bigcorp-apply").inputs;
        const applyAfter = one(after, T.command, "bigcorp-apply").inputs;
        const triggers = (x: Record<string, unknown>) => revealSecrets(x.triggers) as string[];
        expect(triggers(applyAfter)[0], "instance id").to.equal(triggers(applyBefore)[0]);
        expect(triggers(applyAfter)[1], "config hash").to.not.equal(triggers(applyBefore)[1]);
        expect(triggers(applyAfter)[2], "secrets hash").to.equal(triggers(applyBefore)[2]);
        expect(applyAfter.delete, "the delete names the new generation").to.not.equal(applyBefore.delete);
    });

    it("rotating a PSK changes only the secrets hash of that partner's apply trigger", async () => {
        const config = stackConfig("Pulumi.dev.yaml");
        const before = await evaluate(config);
        const rotated = { ...config, "partner-vpn:psks": JSON.stringify({ bigcorp: "RotatedKeyForTests4Kx9Lm2Pq" }) };
        const after = await evaluate(rotated);
        const t = (ev: Evaluation) => revealSecrets(one(ev, T.command, "bigcorp-apply").inputs.triggers) as string[];
        expect(t(after)[1]).to.equal(t(before)[1]);
        expect(t(after)[2]).to.not.equal(t(before)[2]);
    });
});

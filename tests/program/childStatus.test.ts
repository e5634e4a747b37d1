/**
 * The `childStatus` stack output: per partner, per CHILD_SA, what the last apply printed (up, or
 * waiting for the partner), read from the apply command's stdout. The mocks stand in for the
 * command provider and hand the program what an endpoint printed; the status lines' format is
 * the apply script's own (tests/tools/endpoint.test.ts and the lab's tunnels check parse what a
 * real apply printed). stdout is secret in state: only recognised status words of configured
 * children may reach the output, which is plain.
 */
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { CHILD_NOT_REPORTED, CHILD_UP, CHILD_WAITING } from "../../core/childStatus";
import { swanctlChildName } from "../../core/render";
import { evaluateProgram, type ProgramResult } from "../../program/mocks";
import { buildPartnerVpnStack } from "../../program/stack";
import { projectConfig } from "../../program/stackFile";
import { editConfig, stackConfig, testPsk } from "./harness";

function childrenOf(config: Record<string, string>, partner: string): string[] {
    const p = (projectConfig(config).partners as { name: string; remoteHosts: string[] }[]).find((x) => x.name === partner);
    if (!p) throw new Error(`no partner ${partner}`);
    return p.remoteHosts.map((h) => swanctlChildName(partner, h));
}

async function evaluateWithStdout(config: Record<string, string>, stdout: Record<string, string>): Promise<{ outputs: Record<string, unknown>; program: ProgramResult }> {
    let program: ProgramResult | undefined;
    const ev = await evaluateProgram(config, {
        commandStdout: (name) => stdout[name],
        program: () => (program = buildPartnerVpnStack()),
    });
    if (!program) throw new Error("the program did not run");
    return { outputs: ev.outputs, program };
}

describe("childStatus stack output (per child, from the apply's stdout)", () => {
    it("Pulumi.dev.yaml: every configured child with the status the apply printed; other lines never reach the output, which is not secret", async () => {
        const config = stackConfig("Pulumi.dev.yaml");
        const [first, second] = childrenOf(config, "bigcorp");
        const psk = testPsk("bigcorp");
        const stdout = [
            `partner-vpn: bigcorp child ${first}: up ${psk}`, // not a status line the script prints: ignored
            "partner-vpn: bigcorp: applied generation 0123456789abcdef",
            `partner-vpn: bigcorp child ${first}: up`,
            `partner-vpn: bigcorp child ${second}: waiting for the partner (not established after 20 s; the endpoint keeps trying and holds traffic until it is)`,
            "partner-vpn: bigcorp child bigcorp-198-51-100-99-32: up", // a child the config does not name
            `partner-vpn: other child ${second}: up`, // another partner's line
            psk,
        ].join("\n");
        const { outputs, program } = await evaluateWithStdout(config, { "bigcorp-apply": stdout });
        expect(outputs.childStatus).to.deep.equal({ bigcorp: { [first]: CHILD_UP, [second]: CHILD_WAITING } });
        expect(JSON.stringify(outputs)).not.to.include(psk);
        const status = (program.outputs as { childStatus: Record<string, pulumi.Output<unknown>> }).childStatus.bigcorp;
        expect(await pulumi.isSecret(status), "childStatus is a plain output").to.equal(false);
        expect(await pulumi.isSecret(program.components[0].endpointFiles), "positive control: the apply's files are secret").to.equal(true);
    });

    it("the output follows the apply's stdout: all up, then a child waiting", async () => {
        const config = stackConfig("Pulumi.dev.yaml");
        const children = childrenOf(config, "bigcorp");
        const line = (c: string, s: string) => `partner-vpn: bigcorp child ${c}: ${s}`;
        const up = await evaluateWithStdout(config, { "bigcorp-apply": children.map((c) => line(c, "up")).join("\n") });
        expect(up.outputs.childStatus).to.deep.equal({ bigcorp: Object.fromEntries(children.map((c) => [c, CHILD_UP])) });
        const waiting = await evaluateWithStdout(config, { "bigcorp-apply": children.map((c, i) => line(c, i === 0 ? "waiting for the partner (not established after 20 s; ...)" : "up")).join("\n") });
        expect(Object.values((waiting.outputs.childStatus as Record<string, Record<string, string>>).bigcorp)).to.deep.equal(children.map((_, i) => (i === 0 ? CHILD_WAITING : CHILD_UP)));
    });

    it("one entry per partner; a child the apply printed nothing for is 'not reported' (no apply output yet, or a Libreswan endpoint)", async () => {
        const config = editConfig(stackConfig("Pulumi.dev.yaml"), (cfg) => {
            const partners = cfg.partners as Record<string, unknown>[];
            partners.push({ ...partners[0], name: "telco", privateIp: "172.16.0.6", gatewayIp: "110.221.1.1", remoteHosts: ["110.221.2.0/24"], natEip: undefined, tunnelEip: undefined, inbound: [], ipsecDaemon: "libreswan" });
        });
        const children = childrenOf(config, "bigcorp");
        const { outputs } = await evaluateWithStdout(config, { "bigcorp-apply": `partner-vpn: bigcorp child ${children[0]}: up\n` });
        expect(outputs.childStatus).to.deep.equal({
            bigcorp: Object.fromEntries(children.map((c, i) => [c, i === 0 ? CHILD_UP : CHILD_NOT_REPORTED])),
            telco: { [swanctlChildName("telco", "110.221.2.0/24")]: CHILD_NOT_REPORTED },
        });
    });
});

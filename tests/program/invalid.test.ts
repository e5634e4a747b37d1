/**
 * Bad input stops the program before anything is created, with every problem listed by field path.
 */
import { expect } from "chai";
import { evaluateProgram } from "../../program/mocks";
import { editConfig, stackConfig } from "./harness";

async function failure(config: Record<string, string>): Promise<{ message: string; registered: number }> {
    let registered = -1;
    try {
        const ev = await evaluateProgram(config);
        registered = ev.resources.length;
    } catch (e) {
        return { message: (e as Error).message, registered: 0 };
    }
    return { message: "", registered };
}

describe("invalid config under mocks", () => {
    it("lists every problem with its field path and registers no resource", async () => {
        const bad = editConfig(stackConfig("Pulumi.dev.yaml"), (cfg) => {
            const p = (cfg.partners as Record<string, unknown>[])[0];
            p.remoteHosts = ["300.1.1.1", "172.16.0.0/24"];
            p.gatewayIp = "10.1.2.3";
            (cfg.network as Record<string, unknown>).routeTableIds = ["rtb-nothex"];
        });
        const result = await failure(bad);
        expect(result.message).to.include("nothing was created");
        expect(result.message).to.include('partners[0].remoteHosts[0]: "300.1.1.1" is not an IPv4 address');
        expect(result.message).to.match(/partners\[0\]\.remoteHosts\[1\]: "172\.16\.0\.0\/24" overlaps our internal CIDR/);
        expect(result.message).to.match(/partners\[0\]\.gatewayIp: "10\.1\.2\.3" is a private address/);
        expect(result.message).to.match(/network\.routeTableIds\[0\]: "rtb-nothex" is not a route table id/);
        expect(result.registered, "no resource may exist").to.equal(0);
    });

    it("a missing PSK stops the program and names the command that sets it", async () => {
        const config = stackConfig("Pulumi.dev.yaml");
        const result = await failure({ ...config, "partner-vpn:psks": JSON.stringify({}) });
        expect(result.message).to.include("psks.bigcorp: is missing; run: pulumi config set --secret --path 'psks.bigcorp'");
    });

    it("a PSK pasted into the partner list is refused without echoing it", async () => {
        const leaked = "PastedIntoPlainConfig9Xq2";
        const bad = editConfig(stackConfig("Pulumi.dev.yaml"), (cfg) => { (cfg.partners as Record<string, unknown>[])[0].psk = leaked; });
        const result = await failure(bad);
        expect(result.message).to.include("partners[0].psk: a pre-shared key does not belong in the plain partner list");
        expect(result.message).to.not.include(leaked);
    });
});

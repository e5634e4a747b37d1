/**
 * The remote commands need a way in: a config whose security group would open SSH to nobody is
 * refused up front, instead of failing each push after the instance exists.
 */
import { expect } from "chai";
import { formatIssue, validateStackConfig } from "../../core/validate";
import { devConfig } from "../fixtures/configs";

describe("validateStackConfig: SSH access for the remote commands", () => {
    const cases: [name: string, endpoint: Record<string, unknown> | undefined, expected: string | undefined][] = [
        ["no endpoint section at all", undefined, "endpoint: the remote commands need SSH access"],
        ["a bastion without its security group", { bastion: { host: "bastion.example.com" } }, "endpoint.bastion.securityGroupId: is required when endpoint.adminCidrs is empty"],
        ["adminCidrs explicitly empty and no bastion", { adminCidrs: [] }, "endpoint: the remote commands need SSH access"],
        ["a bastion with its security group", { bastion: { host: "bastion.example.com", securityGroupId: "sg-0b1c2d3e4f5a60718" } }, undefined],
        ["admin CIDRs only", { adminCidrs: ["81.2.69.160/28"] }, undefined],
        ["a bastion whose address is listed in adminCidrs", { bastion: { host: "81.2.69.161" }, adminCidrs: ["81.2.69.161/32"] }, undefined],
    ];
    for (const [name, endpoint, expected] of cases) {
        it(name, () => {
            const cfg = devConfig();
            if (endpoint === undefined) delete cfg.endpoint;
            else cfg.endpoint = endpoint;
            const result = validateStackConfig(cfg);
            const messages = result.ok ? [] : result.errors.map(formatIssue);
            if (expected === undefined) expect(messages).to.deep.equal([]);
            else expect(messages.some((m) => m.startsWith(expected)), messages.join("\n")).to.equal(true);
        });
    }
});

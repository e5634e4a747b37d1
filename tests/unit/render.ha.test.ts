/**
 * The artifacts of an active/standby pair (core/render/ha.ts): keepalived.conf per member, the
 * failover settings, the two members' files compared, and the failover IAM policy.
 */
import { expect } from "chai";
import type { StackModel } from "../../core/model";
import { bootstrapCommand, renderEndpointFiles, renderFailoverPolicy, renderHaSettings, renderKeepalivedConf, swanctlChildName } from "../../core/render";
import { BASE_PRIORITY, HOLDER_INTERVAL_SECONDS, HOLDER_WEIGHT } from "../../core/render/ha";
import { FAILOVER_SCRIPT, KEEPALIVED_CONF, endpointPaths } from "../../core/render/paths";
import { validateStackConfig } from "../../core/validate";
import { devConfig } from "../fixtures/configs";

const ADDRESSES = { natIp: "54.17.45.23", tunnelIp: "54.17.32.74" };
const PSK = "a-test-psk-of-thirty-characters";
const ALLOCATION = "eipalloc-0123456789abcdef0";
const TABLES = ["rtb-0a1b2c3d4e5f60718", "rtb-1a1b2c3d4e5f60718"];

function haModel(standbyInInternal = false): StackModel {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const c: any = devConfig();
    c.network.routeTableIds = TABLES;
    if (standbyInInternal) c.network.internalCidrs = ["172.16.0.0/16"];
    c.partners[0].ha = { privateIp: "172.16.1.5", subnetId: "subnet-1a1b2c3d4e5f60718", subnetCidr: "172.16.1.0/24" };
    const r = validateStackConfig(c);
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    return r.model;
}

const fileOf = (files: { path: string; content: string }[], path: string) => {
    const f = files.find((x) => x.path === path);
    if (!f) throw new Error(`no ${path}`);
    return f.content;
};

describe("HA render: keepalived.conf", () => {
    const p = haModel().partners[0];

    it("each member sends unicast VRRP to the other only, both start BACKUP and may preempt, the primary preferred", () => {
        const primary = renderKeepalivedConf(p, "primary");
        const standby = renderKeepalivedConf(p, "standby");
        expect(primary).to.match(/unicast_src_ip 172\.16\.0\.5\n\s+unicast_peer \{\n\s+172\.16\.1\.5\n\s+\}/);
        expect(standby).to.match(/unicast_src_ip 172\.16\.1\.5\n\s+unicast_peer \{\n\s+172\.16\.0\.5\n\s+\}/);
        for (const conf of [primary, standby]) {
            expect(conf).to.match(/^ {4}state BACKUP$/m);
            // Preemption only ever goes towards the EIP's holder (the holder script's weight).
            expect(conf).to.not.include("nopreempt");
            expect(conf).to.not.match(/virtual_ipaddress|mcast|state MASTER/);
            expect(conf).to.include(`notify_master "${FAILOVER_SCRIPT} master bigcorp"`);
            expect(conf).to.include(`notify_backup "${FAILOVER_SCRIPT} backup bigcorp"`);
            expect(conf).to.include(`notify_fault "${FAILOVER_SCRIPT} fault bigcorp"`);
            expect(conf).to.include(`script "${FAILOVER_SCRIPT} health bigcorp"`);
            expect(conf).to.include("interface $PVPN_INTERFACE");
            expect(conf).to.match(/^include \/etc\/keepalived\/partner-vpn-interface\.conf$/m);
        }
        expect(Number(/priority (\d+)/.exec(primary)?.[1])).to.be.greaterThan(Number(/priority (\d+)/.exec(standby)?.[1]));
    });

    it("tracks the holder check on both members: weighted, failed until it first succeeds, every 5 s", () => {
        for (const member of ["primary", "standby"] as const) {
            const conf = renderKeepalivedConf(p, member);
            const block = /vrrp_script pvpn_holder \{\n([^}]*)\}/.exec(conf)?.[1] ?? "";
            expect(block.split("\n").map((l) => l.trim()).filter(Boolean), member).to.deep.equal([
                `script "${FAILOVER_SCRIPT} holder bigcorp"`,
                `interval ${HOLDER_INTERVAL_SECONDS}`,
                `timeout ${HOLDER_INTERVAL_SECONDS * 3}`,
                `weight ${HOLDER_WEIGHT}`,
                "init_fail",
                "rise 1",
                "fall 1",
            ]);
            expect(conf, member).to.match(/track_script \{\n\s+pvpn_health\n\s+pvpn_holder\n\s+\}/);
            // The health script stays unweighted: its failure is FAULT, not a lower priority.
            expect(/vrrp_script pvpn_health \{\n([^}]*)\}/.exec(conf)?.[1], member).to.not.include("weight");
            expect(conf, member).to.not.include("reassert");
        }
    });

    it("the holder outranks the other member whichever member it is, within VRRP's 1..254", () => {
        const priority = (member: "primary" | "standby") => Number(/^ {4}priority (\d+)$/m.exec(renderKeepalivedConf(p, member))?.[1]);
        expect(priority("primary")).to.equal(BASE_PRIORITY.primary);
        expect(priority("standby")).to.equal(BASE_PRIORITY.standby);
        const cases = [{ holder: "primary", other: "standby" }, { holder: "standby", other: "primary" }] as const;
        for (const { holder, other } of cases) {
            const holding = priority(holder) + HOLDER_WEIGHT;
            expect(holding, `${holder} holding vs ${other} not holding`).to.be.greaterThan(priority(other));
            expect(holding, `${holder} holding`).to.be.at.most(254);
            expect(priority(other), other).to.be.at.least(1);
        }
        // Without a holder (a fresh pair), the primary is preferred.
        expect(priority("primary")).to.be.greaterThan(priority("standby"));
    });

    it("refuses a partner without a standby", () => {
        expect(() => renderKeepalivedConf({ ...p, ha: undefined }, "primary")).to.throw(/standby/);
    });
});

describe("HA render: the failover settings and both members' files", () => {
    const model = haModel();
    const p = model.partners[0];

    it("lists the tunnel EIP, every (route table, partner host) route and every child by its swanctl name", () => {
        const lines = renderHaSettings(p, ALLOCATION, TABLES).split("\n").filter((l) => l && !l.startsWith("#"));
        expect(lines).to.deep.equal([
            `allocation ${ALLOCATION}`,
            ...TABLES.flatMap((t) => p.remoteHosts.map((h) => `route ${t} ${h}`)),
            ...p.remoteHosts.map((h) => `child ${swanctlChildName("bigcorp", h)}`),
        ]);
        expect(() => renderHaSettings(p, "eipalloc-$(reboot)", TABLES)).to.throw(/allocation id/);
        expect(() => renderHaSettings(p, ALLOCATION, ["rtb-1; reboot"])).to.throw(/route table id/);
    });

    it("both members get the same files, identity, PSK, children and NAT; each its own local address and VRRP roles", () => {
        const pair = (member: "primary" | "standby") => renderEndpointFiles(model, p, ADDRESSES, PSK, { member, tunnelAllocationId: ALLOCATION, routeTableIds: TABLES });
        const a = pair("primary");
        const b = pair("standby");
        expect(a.map((f) => f.path)).to.deep.equal(b.map((f) => f.path));
        const paths = endpointPaths("bigcorp");
        expect(fileOf(a, paths.swanctlSecrets)).to.equal(fileOf(b, paths.swanctlSecrets));
        expect(fileOf(a, `${paths.stateDir}/ha.conf`)).to.equal(fileOf(b, `${paths.stateDir}/ha.conf`));
        expect(fileOf(a, paths.swanctlConf).replace("local_addrs = 172.16.0.5", "local_addrs = 172.16.1.5")).to.equal(fileOf(b, paths.swanctlConf));
        expect(fileOf(b, paths.swanctlConf)).to.include(`id = ${ADDRESSES.tunnelIp}`);
        expect(fileOf(a, KEEPALIVED_CONF)).to.not.equal(fileOf(b, KEEPALIVED_CONF));
        const differing = a.filter((f, i) => f.content !== b[i].content).map((f) => f.path);
        // The standby's address is outside internalCidrs here, so its NAT rules also SNAT its own traffic.
        expect(differing).to.deep.equal([paths.swanctlConf, paths.natRules, KEEPALIVED_CONF]);
        const wide = haModel(true);
        const widePair = (member: "primary" | "standby") => renderEndpointFiles(wide, wide.partners[0], ADDRESSES, PSK, { member, tunnelAllocationId: ALLOCATION, routeTableIds: TABLES });
        expect(fileOf(widePair("primary"), paths.natRules)).to.equal(fileOf(widePair("standby"), paths.natRules));
    });

    it("a pair member's children trap only (the active member initiates); a single endpoint's trap and start", () => {
        const files = renderEndpointFiles(model, p, ADDRESSES, PSK, { member: "standby", tunnelAllocationId: ALLOCATION, routeTableIds: TABLES });
        const conf = fileOf(files, endpointPaths("bigcorp").swanctlConf);
        expect(conf.match(/start_action = trap\n/g)).to.have.length(p.remoteHosts.length);
        expect(conf).to.not.include("trap|start");
        const single = renderEndpointFiles(model, { ...p, ha: undefined }, ADDRESSES, PSK);
        expect(fileOf(single, endpointPaths("bigcorp").swanctlConf)).to.include("start_action = trap|start");
        expect(single.map((f) => f.path)).to.not.include(KEEPALIVED_CONF);
    });

    it("a partner with a standby cannot be rendered without saying which member", () => {
        expect(() => renderEndpointFiles(model, p, ADDRESSES, PSK)).to.throw(/which member/);
    });

    it("the bootstrap of a pair member installs keepalived; a single endpoint's does not", () => {
        expect(bootstrapCommand(model, model.mode, p).split(" ")).to.include("ha");
        expect(bootstrapCommand(model, model.mode, { ...p, ha: undefined }).split(" ")).to.not.include("ha");
    });
});

describe("HA render: the failover IAM policy", () => {
    const input = { region: "eu-west-1", tunnelAllocationId: ALLOCATION, networkInterfaceIds: ["eni-0a1b2c3d4e5f60718", "eni-1a1b2c3d4e5f60718"], routeTableIds: TABLES };

    it("allows exactly AssociateAddress on the EIP and the pair's interfaces, ReplaceRoute on the tables, DescribeAddresses", () => {
        const policy = renderFailoverPolicy(input);
        expect(policy.Statement.map((s) => [s.Effect, s.Action, s.Resource])).to.deep.equal([
            ["Allow", "ec2:AssociateAddress", [`arn:aws:ec2:eu-west-1:*:elastic-ip/${ALLOCATION}`, "arn:aws:ec2:eu-west-1:*:network-interface/eni-0a1b2c3d4e5f60718", "arn:aws:ec2:eu-west-1:*:network-interface/eni-1a1b2c3d4e5f60718"]],
            ["Allow", "ec2:ReplaceRoute", TABLES.map((t) => `arn:aws:ec2:eu-west-1:*:route-table/${t}`)],
            ["Allow", "ec2:DescribeAddresses", "*"],
        ]);
        expect(JSON.stringify(policy)).to.not.match(/"ec2:\*"|"\*:|Deny|Disassociate|CreateRoute|DeleteRoute/);
    });

    it("has no route statement without route tables, and refuses malformed ids", () => {
        expect(renderFailoverPolicy({ ...input, routeTableIds: [] }).Statement.map((s) => s.Action)).to.deep.equal(["ec2:AssociateAddress", "ec2:DescribeAddresses"]);
        expect(() => renderFailoverPolicy({ ...input, networkInterfaceIds: ["eni-*"] })).to.throw(/network interface/);
        expect(() => renderFailoverPolicy({ ...input, tunnelAllocationId: "*" })).to.throw(/allocation/);
    });
});

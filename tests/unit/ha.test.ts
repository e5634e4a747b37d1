/**
 * Active/standby pairs in config (core/ha.ts): the model a valid pair yields (from the partner's
 * own subnet or the stack default), and every mistake named by its field path with what was
 * expected, without follow-on errors elsewhere.
 */
import { expect } from "chai";
import { memberView } from "../../core/ha";
import { validateStackConfig } from "../../core/validate";
import { devClassicConfig, devConfig } from "../fixtures/configs";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Cfg = any;

const STANDBY_SUBNET = { subnetId: "subnet-1a1b2c3d4e5f60718", subnetCidr: "172.16.1.0/24" };

function haConfig(mutate: (c: Cfg) => void = () => undefined): Cfg {
    const c: Cfg = devConfig();
    c.partners[0].ha = { privateIp: "172.16.1.5", ...STANDBY_SUBNET };
    mutate(c);
    return c;
}

function errorsOf(c: Cfg): [string, string][] {
    const r = validateStackConfig(c);
    expect(r.ok, "validation should fail").to.equal(false);
    return r.ok ? [] : r.errors.map((e) => [e.path, e.message]);
}

describe("HA config: partners[].ha and endpoint.ha", () => {
    it("a valid pair yields the standby in the model; without ha there is none", () => {
        const r = validateStackConfig(haConfig());
        expect(r.ok, JSON.stringify(r)).to.equal(true);
        if (!r.ok) return;
        expect(r.model.partners[0].ha).to.deep.equal({ privateIp: "172.16.1.5", ...STANDBY_SUBNET });
        const single = validateStackConfig(devConfig());
        expect(single.ok && single.model.partners[0].ha).to.equal(undefined);
    });

    it("the standby subnet defaults to endpoint.ha; a partner's own subnet wins", () => {
        const r = validateStackConfig(haConfig((c) => { c.endpoint.ha = STANDBY_SUBNET; c.partners[0].ha = { privateIp: "172.16.1.9" }; }));
        expect(r.ok && r.model.partners[0].ha).to.deep.equal({ privateIp: "172.16.1.9", ...STANDBY_SUBNET });
        const own = validateStackConfig(haConfig((c) => {
            c.endpoint.ha = STANDBY_SUBNET;
            c.partners[0].ha = { privateIp: "172.16.2.9", subnetId: "subnet-2a1b2c3d4e5f60718", subnetCidr: "172.16.2.0/24" };
        }));
        expect(own.ok && own.model.partners[0].ha?.subnetId).to.equal("subnet-2a1b2c3d4e5f60718");
    });

    it("memberView gives the standby its own address and everything else unchanged", () => {
        const r = validateStackConfig(haConfig());
        if (!r.ok) throw new Error("fixture invalid");
        const p = r.model.partners[0];
        const standby = memberView(p, "standby");
        expect(standby.privateIp).to.equal("172.16.1.5");
        expect({ ...standby, privateIp: p.privateIp }).to.deep.equal(p);
        expect(memberView(p, "primary")).to.equal(p);
        expect(() => memberView({ ...p, ha: undefined }, "standby")).to.throw(/no standby/);
    });

    const ROWS: readonly { desc: string; cfg: () => Cfg; expect: [string, string][] }[] = [
        { desc: "no standby address", cfg: () => haConfig((c) => { delete c.partners[0].ha.privateIp; }), expect: [["partners[0].ha.privateIp", "is required"]] },
        { desc: "no subnet anywhere", cfg: () => haConfig((c) => { c.partners[0].ha = { privateIp: "172.16.1.5" }; }), expect: [["partners[0].ha.subnetId", "is required when endpoint.ha is not set"]] },
        { desc: "a subnet id without its CIDR", cfg: () => haConfig((c) => { delete c.partners[0].ha.subnetCidr; }), expect: [["partners[0].ha.subnetCidr", "is required with subnetId"]] },
        { desc: "a malformed subnet id", cfg: () => haConfig((c) => { c.partners[0].ha.subnetId = "subnet-xyz"; }), expect: [["partners[0].ha.subnetId", "is not the standby's subnet id"]] },
        { desc: "the standby in the active's subnet", cfg: () => haConfig((c) => { c.partners[0].ha = { privateIp: "172.16.0.9", subnetId: c.network.subnetId, subnetCidr: "172.16.0.0/24" }; }), expect: [["partners[0].ha.subnetId", "expected the standby in another subnet"], ["partners[0].ha.subnetCidr", "overlaps network.subnetCidr"]] },
        { desc: "a standby subnet overlapping the active's", cfg: () => haConfig((c) => { c.partners[0].ha.subnetCidr = "172.16.0.0/23"; }), expect: [["partners[0].ha.subnetCidr", "overlaps network.subnetCidr 172.16.0.0/24"]] },
        { desc: "the standby address outside its subnet", cfg: () => haConfig((c) => { c.partners[0].ha.privateIp = "172.16.2.5"; }), expect: [["partners[0].ha.privateIp", "is outside the standby subnet 172.16.1.0/24"]] },
        { desc: "the standby on an address AWS reserves", cfg: () => haConfig((c) => { c.partners[0].ha.privateIp = "172.16.1.1"; }), expect: [["partners[0].ha.privateIp", "AWS reserves"]] },
        { desc: "an unknown key", cfg: () => haConfig((c) => { c.partners[0].ha.standbyIp = "172.16.1.6"; }), expect: [["partners[0].ha.standbyIp", "unknown key"]] },
        { desc: "classic-proxy mode", cfg: () => { const c: Cfg = devClassicConfig(); c.partners[0].ha = { privateIp: "172.16.1.5", ...STANDBY_SUBNET }; return c; }, expect: [["partners[0].ha", "needs mode vpc-routing"]] },
        { desc: "a Libreswan partner", cfg: () => haConfig((c) => { c.partners[0].ipsecDaemon = "libreswan"; }), expect: [["partners[0].ha", "needs ipsecDaemon strongswan"]] },
        { desc: "no bastion", cfg: () => haConfig((c) => { delete c.endpoint.bastion; c.endpoint.adminCidrs = ["192.168.10.0/24"]; }), expect: [["partners[0].ha", "needs endpoint.bastion"]] },
        { desc: "endpoint.ha without its CIDR", cfg: () => haConfig((c) => { c.endpoint.ha = { subnetId: STANDBY_SUBNET.subnetId }; }), expect: [["endpoint.ha.subnetCidr", "is required with subnetId"]] },
        {
            desc: "a standby on another partner's endpoint address",
            cfg: () => haConfig((c) => { c.partners.push({ name: "acme", privateIp: "172.16.0.6", gatewayIp: "120.1.2.3", remoteHosts: ["120.1.3.0/24"], ha: { privateIp: "172.16.1.5", ...STANDBY_SUBNET } }); c.partners[0].ha.privateIp = "172.16.1.6"; c.partners[1].ha.privateIp = "172.16.1.6"; }),
            expect: [["partners[1].ha.privateIp", "is already the standby of partners[0] (bigcorp)"]],
        },
    ];

    for (const row of ROWS) {
        it(`refuses ${row.desc}, naming the field`, () => {
            const errors = errorsOf(row.cfg());
            for (const [path, fragment] of row.expect) {
                expect(errors.some(([p, m]) => p === path && m.includes(fragment)), `${path}: ${fragment}\n got ${JSON.stringify(errors)}`).to.equal(true);
            }
            const paths = new Set(row.expect.map(([p]) => p));
            expect(errors.filter(([p]) => !paths.has(p)), "no follow-on errors").to.deep.equal([]);
        });
    }
});

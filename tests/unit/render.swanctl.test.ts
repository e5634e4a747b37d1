/**
 * renderSwanctl and renderSwanctlSecrets: the strongSwan connection for one partner and its PSK.
 * Models come from the dev stack through the real validator (tests/tools/tools.ts).
 */
import { expect } from "chai";
import type { PartnerModel } from "../../core/model";
import { renderSwanctl, renderSwanctlSecrets, swanctlChildName, swanctlConnectionName } from "../../core/render";
import { RenderError } from "../../core/render/safe";
import {
    ADDRESSES, blockText, once, DEV, editFirstPartner, ikev1Raw, modelOf, parseSwanctl, repoStackConfig, TEST_PSK, withIke, withPartner,
    type SwanctlSection,
} from "../tools/tools";

const devPartner = once(() => modelOf(repoStackConfig(DEV)).partners[0]);

function conn(partner: PartnerModel = devPartner()): SwanctlSection {
    const parsed = parseSwanctl(renderSwanctl(partner, ADDRESSES));
    expect(parsed.order).to.deep.equal(["connections"]);
    expect(parsed.sections.connections.order).to.deep.equal([`pvpn-${partner.name}`]);
    return parsed.sections.connections.sections[`pvpn-${partner.name}`];
}

function children(partner: PartnerModel = devPartner()): SwanctlSection {
    return conn(partner).sections.children;
}

describe("renderSwanctl", () => {
    it("names the connection pvpn-<partner> and each child <partner>-<host slug>", () => {
        expect(swanctlConnectionName("bigcorp")).to.equal("pvpn-bigcorp");
        expect(swanctlChildName("bigcorp", "110.220.10.7")).to.equal("bigcorp-110-220-10-7-32");
        expect(swanctlChildName("bigcorp", "110.220.10.7/32")).to.equal("bigcorp-110-220-10-7-32");
        expect(swanctlChildName("bigcorp", "110.220.10.128/28")).to.equal("bigcorp-110-220-10-128-28");
    });

    it("renders one CHILD_SA per remote host, named from the host, in the hosts' order", () => {
        expect(children().order).to.deep.equal(["bigcorp-110-220-10-7-32", "bigcorp-110-220-10-135-32"]);
        for (const [name, host] of [["bigcorp-110-220-10-7-32", "110.220.10.7/32"], ["bigcorp-110-220-10-135-32", "110.220.10.135/32"]]) {
            const child = children().sections[name];
            expect(child.values.remote_ts, name).to.equal(host);
            expect(child.values.local_ts, name).to.equal(`${ADDRESSES.natIp}/32`);
        }
    });

    it("renders a partner network as one child with its CIDR", () => {
        const p = modelOf(editFirstPartner(repoStackConfig(DEV), (q) => {
            q.remoteHosts = ["110.220.10.7", "110.220.10.128/28"];
            q.inbound = [];
        })).partners[0];
        expect(children(p).sections["bigcorp-110-220-10-128-28"].values.remote_ts).to.equal("110.220.10.128/28");
    });

    const hostChanges: { title: string; hosts: string[] }[] = [
        { title: "appended", hosts: ["110.220.10.7/32", "110.220.10.135/32", "110.220.10.200/32"] },
        { title: "prepended", hosts: ["110.220.10.200/32", "110.220.10.7/32", "110.220.10.135/32"] },
        { title: "inserted in the middle", hosts: ["110.220.10.7/32", "110.220.10.200/32", "110.220.10.135/32"] },
    ];
    for (const change of hostChanges) {
        it(`leaves the other children's text identical when a host is ${change.title}`, () => {
            const before = renderSwanctl(devPartner(), ADDRESSES);
            const after = renderSwanctl(withPartner(devPartner(), { remoteHosts: change.hosts }), ADDRESSES);
            for (const name of ["bigcorp-110-220-10-7-32", "bigcorp-110-220-10-135-32"]) {
                expect(blockText(after, name), name).to.equal(blockText(before, name));
            }
            expect(children(withPartner(devPartner(), { remoteHosts: change.hosts })).order).to.have.length(3);
            // The connection's own settings (everything outside children) are unchanged too.
            const head = (t: string) => t.slice(0, t.indexOf("children {"));
            expect(head(after)).to.equal(head(before));
        });
    }

    it("leaves the remaining children identical when a host is removed", () => {
        const after = renderSwanctl(withPartner(devPartner(), { remoteHosts: ["110.220.10.135/32"] }), ADDRESSES);
        expect(blockText(after, "bigcorp-110-220-10-135-32")).to.equal(blockText(renderSwanctl(devPartner(), ADDRESSES), "bigcorp-110-220-10-135-32"));
        expect(after).not.to.include("bigcorp-110-220-10-7-32");
    });

    for (const version of [1, 2] as const) {
        it(`renders IKEv${version}`, () => {
            expect(conn(withIke(devPartner(), { version })).values.version).to.equal(String(version));
        });
    }

    it("renders the IKEv1 dev variant (legacy proposals) from the validator's model", () => {
        const p = modelOf(ikev1Raw()).partners[0];
        const c = conn(p);
        expect(c.values.version).to.equal("1");
        expect(c.values.proposals).to.equal("aes256-sha1-modp1024");
        expect(c.sections.children.sections["bigcorp-110-220-10-7-32"].values.esp_proposals).to.equal("aes256-sha1");
    });

    it("joins several proposals with commas, IKE on the connection and ESP on every child", () => {
        const p = withIke(devPartner(), {
            ikeProposals: ["aes256gcm16-prfsha384-ecp384", "aes256-sha256-modp2048"],
            espProposals: ["aes256gcm16-ecp384", "aes256-sha256-modp2048", "aes128-sha256"],
        });
        expect(conn(p).values.proposals).to.equal("aes256gcm16-prfsha384-ecp384,aes256-sha256-modp2048");
        for (const name of children(p).order) {
            expect(children(p).sections[name].values.esp_proposals).to.equal("aes256gcm16-ecp384,aes256-sha256-modp2048,aes128-sha256");
        }
    });

    const lifetimes = [
        { ike: 28800, child: 3600, ikeRekey: 25920, ikeOver: 2880, childRekey: 3240, childRand: 360 },
        { ike: 86400, child: 28800, ikeRekey: 77760, ikeOver: 8640, childRekey: 25920, childRand: 2880 },
        { ike: 3600, child: 3600, ikeRekey: 3240, ikeOver: 360, childRekey: 3240, childRand: 360 },
        // Not a multiple of 10: rekey rounds down, the hard lifetime stays exactly the agreed one.
        { ike: 1001, child: 301, ikeRekey: 900, ikeOver: 101, childRekey: 270, childRand: 31 },
        { ike: 300, child: 300, ikeRekey: 270, ikeOver: 30, childRekey: 270, childRand: 30 },
    ];
    for (const l of lifetimes) {
        it(`rekeys at 90% and expires at the agreed lifetime (IKE ${l.ike}s, child ${l.child}s)`, () => {
            const p = withIke(devPartner(), { ikeLifetime: l.ike, childLifetime: l.child });
            const c = conn(p);
            expect(c.values.rekey_time).to.equal(`${l.ikeRekey}s`);
            expect(c.values.over_time).to.equal(`${l.ikeOver}s`);
            // strongSwan's IKE hard lifetime is rekey_time + over_time.
            expect(l.ikeRekey + l.ikeOver).to.equal(l.ike);
            for (const name of c.sections.children.order) {
                const child = c.sections.children.sections[name].values;
                expect(child.rekey_time).to.equal(`${l.childRekey}s`);
                expect(child.rand_time).to.equal(`${l.childRand}s`);
                expect(child.life_time).to.equal(`${l.child}s`);
            }
        });
    }

    it("omits dpd_delay and clears children when DPD is 0", () => {
        const c = conn(withIke(devPartner(), { dpdDelay: 0 }));
        expect(c.values).not.to.have.property("dpd_delay");
        expect(renderSwanctl(withIke(devPartner(), { dpdDelay: 0 }), ADDRESSES)).not.to.include("dpd_delay");
        for (const name of c.sections.children.order) expect(c.sections.children.sections[name].values.dpd_action).to.equal("clear");
    });

    it("sets dpd_delay and restarts children when DPD is on", () => {
        const c = conn(withIke(devPartner(), { dpdDelay: 30 }));
        expect(c.values.dpd_delay).to.equal("30s");
        for (const name of c.sections.children.order) expect(c.sections.children.sections[name].values.dpd_action).to.equal("restart");
    });

    it("binds to the private IP, identifies as the tunnel EIP, and forces UDP encapsulation", () => {
        const c = conn();
        expect(c.values.local_addrs).to.equal("172.16.0.5");
        expect(c.values.remote_addrs).to.equal("110.220.9.72");
        expect(c.values.encap).to.equal("yes");
        expect(c.sections.local.values).to.deep.equal({ auth: "psk", id: ADDRESSES.tunnelIp });
        expect(c.sections.remote.values).to.deep.equal({ auth: "psk", id: "110.220.9.72" });
    });

    it("uses the partner's remoteId when it differs from the gateway address", () => {
        const p = modelOf(editFirstPartner(repoStackConfig(DEV), (q) => (q.remoteId = "vpn.bigcorp.example"))).partners[0];
        expect(conn(p).sections.remote.values.id).to.equal("vpn.bigcorp.example");
        expect(conn(p).values.remote_addrs).to.equal("110.220.9.72");
    });

    it("puts the NAT address, never the private or tunnel address, in every local_ts", () => {
        const text = renderSwanctl(devPartner(), { natIp: "192.0.2.99", tunnelIp: "198.51.100.77" });
        const lines = text.split("\n").filter((l) => l.includes("local_ts"));
        expect(lines).to.have.length(2);
        for (const l of lines) expect(l.trim()).to.equal("local_ts = 192.0.2.99/32");
    });

    it("traps and starts children on load and restarts them when the peer closes them", () => {
        for (const name of children().order) {
            expect(children().sections[name].values).to.include({ start_action: "trap|start", close_action: "start" });
        }
    });

    for (const version of [1, 2] as const) {
        it(`retries forever and keeps one IKE_SA per peer (IKEv${version})`, () => {
            const c = conn(withIke(devPartner(), { version }));
            expect(c.values.keyingtries).to.equal("0");
            expect(c.values.unique).to.equal("replace");
        });
    }

    it("declares an IKEv1 peer dead after three DPD intervals, and leaves IKEv2 to the retransmission timers", () => {
        expect(conn(withIke(devPartner(), { version: 1, dpdDelay: 30 })).values.dpd_timeout).to.equal("90s");
        expect(conn(withIke(devPartner(), { version: 1, dpdDelay: 10 })).values.dpd_timeout).to.equal("30s");
        expect(conn(withIke(devPartner(), { version: 1, dpdDelay: 0 })).values).not.to.have.property("dpd_timeout");
        expect(conn(withIke(devPartner(), { version: 2, dpdDelay: 30 })).values).not.to.have.property("dpd_timeout");
    });

    it("is deterministic", () => {
        expect(renderSwanctl(devPartner(), ADDRESSES)).to.equal(renderSwanctl(devPartner(), ADDRESSES));
    });

    it("never mentions the PSK", () => {
        const text = renderSwanctl(devPartner(), ADDRESSES);
        expect(text).not.to.match(/secret|= 0s/);
        expect(text).not.to.include(TEST_PSK);
    });
});

describe("renderSwanctlSecrets", () => {
    function secretSection(psk: string): SwanctlSection {
        const parsed = parseSwanctl(renderSwanctlSecrets(devPartner(), ADDRESSES, psk));
        expect(parsed.order).to.deep.equal(["secrets"]);
        expect(parsed.sections.secrets.order).to.deep.equal(["ike-pvpn-bigcorp"]);
        return parsed.sections.secrets.sections["ike-pvpn-bigcorp"];
    }

    const psks = [
        { title: "a plain key", psk: TEST_PSK },
        { title: "a key with quotes, braces, a newline and a hash", psk: 'ab"c}\n secret = x # {d\'' },
        { title: "a key with a carriage return and non-ASCII", psk: "k\r\né€ = }" },
        { title: "a key that is itself base64", psk: "0sQUJDRA==" },
    ];
    for (const c of psks) {
        it(`holds ${c.title} only base64-encoded (0s...), never raw`, () => {
            const text = renderSwanctlSecrets(devPartner(), ADDRESSES, c.psk);
            const s = secretSection(c.psk);
            expect(s.values.secret).to.match(/^0s[A-Za-z0-9+/]+=*$/);
            expect(Buffer.from(s.values.secret.slice(2), "base64").toString("utf8")).to.equal(c.psk);
            expect(text).not.to.include(c.psk);
            // No line of a multi-line key survives either.
            for (const piece of c.psk.split(/[\r\n]/).filter((x) => x.trim().length > 3)) expect(text).not.to.include(piece);
        });
    }

    it("binds the key to our tunnel identity and the partner's identity", () => {
        expect(secretSection(TEST_PSK).values["id-local"]).to.equal(ADDRESSES.tunnelIp);
        expect(secretSection(TEST_PSK).values["id-remote"]).to.equal("110.220.9.72");
    });

    it("follows a custom remoteId", () => {
        const p = withPartner(devPartner(), { remoteId: "vpn.bigcorp.example" });
        expect(parseSwanctl(renderSwanctlSecrets(p, ADDRESSES, TEST_PSK)).sections.secrets.sections["ike-pvpn-bigcorp"].values["id-remote"]).to.equal("vpn.bigcorp.example");
    });

    it("refuses an empty key without echoing anything secret", () => {
        expect(() => renderSwanctlSecrets(devPartner(), ADDRESSES, "")).to.throw(RenderError, /PSK/);
        expect(() => renderSwanctlSecrets(devPartner(), ADDRESSES, undefined as unknown as string)).to.throw(RenderError);
    });
});

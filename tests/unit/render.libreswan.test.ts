/**
 * The Libreswan backend's renderers: proposals translated into Libreswan's syntax, one conn per
 * partner host, the PSK in ipsec.secrets, hostile values refused, and strongSwan's output left
 * exactly as it was when a partner (or the stack) uses Libreswan. Models come from the dev stacks
 * through the real validator. Libreswan's own parsers check the same output in
 * tests/tools/libreswan.test.ts.
 */
import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import { libreswanProposal, libreswanProposalList } from "../../core/libreswanProposals";
import type { PartnerModel, StackModel } from "../../core/model";
import {
    bootstrapCommand, endpointPaths, libreswanConnName, renderBootHelper, renderEndpointFiles, renderLibreswanConf, renderLibreswanSecrets,
    renderRemoveHelper,
} from "../../core/render";
import { RenderError } from "../../core/render/safe";
import { validateStackConfig } from "../../core/validate";
import { PROPOSAL_CASES, REFUSED_PROPOSALS } from "../fixtures/libreswanProposals";
import {
    ADDRESSES, DEV, DEV_CLASSIC, editFirstPartner, modelOf, once, repoStackConfig, REPO_ROOT, renderPartner, stackVariants, TEST_PSK, withIke, withPartner,
    type RawStack,
} from "../tools/tools";

/** A stack file with the endpoint default switched to Libreswan (the "per-stack choice"). */
function libreswanStack(raw: RawStack): RawStack {
    const copy = JSON.parse(JSON.stringify(raw)) as RawStack;
    copy.endpoint = { ...(copy.endpoint as object), ipsecDaemon: "libreswan" };
    return copy;
}

const dev = once(() => modelOf(libreswanStack(repoStackConfig(DEV))));
const p0 = (): PartnerModel => dev().partners[0];

/** conn name -> its settings (key -> value), in file order, from the rendered text. */
function parseConns(text: string): Map<string, Map<string, string>> {
    const conns = new Map<string, Map<string, string>>();
    let current: Map<string, string> | undefined;
    for (const line of text.split("\n")) {
        if (line.startsWith("#") || line.trim() === "") continue;
        const conn = /^conn (\S+)$/.exec(line);
        if (conn) {
            expect(conns.has(conn[1]), `conn ${conn[1]} twice`).to.equal(false);
            current = new Map();
            conns.set(conn[1], current);
            continue;
        }
        const kv = /^\t([a-z0-9-]+)=(\S+)$/.exec(line);
        expect(kv, `unexpected line ${JSON.stringify(line)}`).to.not.equal(null);
        expect(current, "a setting outside a conn").to.not.equal(undefined);
        const [, key, value] = kv as RegExpExecArray;
        expect(current?.has(key), `${key} twice`).to.equal(false);
        current?.set(key, value);
    }
    return conns;
}

/** The shape check libreswan.sh runs on a staged secrets file (read from the script, not copied). */
function secretsShape(): RegExp {
    const script = fs.readFileSync(path.join(REPO_ROOT, "scripts", "endpoint", "libreswan.sh"), "utf8");
    const m = /grep -Evc '([^']+)'/.exec(script);
    if (!m) throw new Error("libreswan.sh no longer checks the secrets file with grep -Evc");
    return new RegExp(m[1]);
}

describe("Libreswan proposals (strongSwan syntax -> ike= / esp=)", () => {
    for (const c of PROPOSAL_CASES) {
        it(`${c.kind} IKEv${c.version}: ${c.strongswan} -> ${c.libreswan}`, () => {
            const t = libreswanProposal(c.kind, c.strongswan, c.version);
            expect(t).to.deep.equal({ ok: true, text: c.libreswan, pfs: c.pfs });
        });
    }

    for (const c of REFUSED_PROPOSALS) {
        it(`refuses ${c.kind} IKEv${c.version} ${c.strongswan} (${c.reason.source})`, () => {
            const t = libreswanProposal(c.kind, c.strongswan, c.version);
            expect(t.ok).to.equal(false);
            if (!t.ok) expect(t.problem).to.match(c.reason);
        });
    }

    it("passes strongSwan's own syntax errors through (the proposal is checked once, by parseProposal)", () => {
        const t = libreswanProposal("ike", "aes256;sha2_256;modp2048", 2);
        expect(t.ok).to.equal(false);
        if (!t.ok) expect(t.problem).to.include("not one strongSwan proposal");
    });

    it("joins a list with commas and requires one PFS choice for all ESP proposals", () => {
        expect(libreswanProposalList("ike", ["aes256-sha256-modp2048", "aes128-sha1-modp2048"], 2)).to.deep.equal({ ok: true, text: "aes256-sha2_256;modp2048,aes128-sha1;modp2048", pfs: true });
        expect(libreswanProposalList("esp", ["aes256gcm16", "aes256-sha256"], 2)).to.deep.equal({ ok: true, text: "aes_gcm256,aes256-sha2_256", pfs: false });
        const mixed = libreswanProposalList("esp", ["aes256-sha256-modp2048", "aes256-sha256"], 2);
        expect(mixed.ok).to.equal(false);
        if (!mixed.ok) expect(mixed.problems[0].problem).to.include("PFS setting is per connection");
        for (const version of [1, 2] as const) {
            const twoGroups = libreswanProposalList("esp", ["aes256-sha256-modp2048", "aes128-sha256-modp3072"], version);
            expect(twoGroups.ok, `IKEv${version}`).to.equal(false);
            if (!twoGroups.ok) expect(twoGroups.problems[0].problem).to.include("must name the same (first) DH group");
        }
        // Only the first group must agree (measured with algparse: modp2048+dh19,modp2048 is accepted).
        expect(libreswanProposalList("esp", ["aes256-sha256-modp2048-ecp256", "aes128-sha256-modp2048"], 2)).to.deep.equal({ ok: true, text: "aes256-sha2_256;modp2048+dh19,aes128-sha2_256;modp2048", pfs: true });
        expect(libreswanProposalList("esp", [], 2).ok).to.equal(false);
    });
});

describe("validation for Libreswan partners", () => {
    function partnerErrors(raw: RawStack): { path: string; message: string }[] {
        const r = validateStackConfig(raw);
        return r.ok ? [] : r.errors.map((e) => ({ path: e.path, message: e.message }));
    }

    it("accepts strongswan and libreswan at endpoint.ipsecDaemon and partners[].ipsecDaemon", () => {
        for (const where of ["endpoint", "partner"] as const) {
            for (const daemon of ["strongswan", "libreswan"] as const) {
                const raw = editFirstPartner(repoStackConfig(DEV), (p) => {
                    if (where === "partner") p.ipsecDaemon = daemon;
                });
                if (where === "endpoint") raw.endpoint = { ...(raw.endpoint as object), ipsecDaemon: daemon };
                const r = validateStackConfig(raw);
                expect(r.ok, `${where} ${daemon}`).to.equal(true);
                if (r.ok) expect(r.model.partners[0].ipsecDaemon).to.equal(daemon);
            }
        }
    });

    it("reports what Libreswan cannot negotiate at the proposal's own path, and only for Libreswan partners", () => {
        const weak = (p: Record<string, unknown>) => {
            p.ike = { version: 1, ikeProposals: ["aes256-sha1-modp1024"], espProposals: ["aes256-sha1-modp1024"], allowWeakAlgorithms: true };
        };
        expect(validateStackConfig(editFirstPartner(repoStackConfig(DEV), weak)).ok, "strongSwan takes modp1024 (as weak)").to.equal(true);
        const errors = partnerErrors(libreswanStack(editFirstPartner(repoStackConfig(DEV), weak)));
        expect(errors.map((e) => e.path)).to.deep.equal(["partners[0].ike.ikeProposals[0]", "partners[0].ike.espProposals[0]"]);
        expect(errors[0].message).to.match(/^"aes256-sha1-modp1024" uses modp1024 \(DH group 2\), which Libreswan as Debian and Ubuntu ship it does not implement; .* \(ipsecDaemon is libreswan\)$/);
        // A partner may keep strongSwan on a Libreswan stack.
        const override = libreswanStack(editFirstPartner(repoStackConfig(DEV), (p) => {
            weak(p);
            p.ipsecDaemon = "strongswan";
        }));
        expect(validateStackConfig(override).ok).to.equal(true);
    });

    it("reports mixed PFS at the list, and IKEv1 PFS groups Quick Mode cannot carry", () => {
        const mixed = partnerErrors(libreswanStack(editFirstPartner(repoStackConfig(DEV), (p) => {
            p.ike = { version: 2, espProposals: ["aes256-sha256-modp2048", "aes256gcm16"] };
        })));
        expect(mixed).to.have.length(1);
        expect(mixed[0].path).to.equal("partners[0].ike.espProposals");
        const ecp = partnerErrors(libreswanStack(editFirstPartner(repoStackConfig(DEV), (p) => {
            p.ike = { version: 1, espProposals: ["aes256-sha256-ecp256"] };
        })));
        expect(ecp.map((e) => e.path)).to.deep.equal(["partners[0].ike.espProposals[0]"]);
    });

    it("refuses an identity Libreswan would not read literally", () => {
        const errors = partnerErrors(libreswanStack(editFirstPartner(repoStackConfig(DEV), (p) => {
            p.remoteId = "fqdn:vpn.bigcorp.example.com";
        })));
        expect(errors.map((e) => e.path)).to.deep.equal(["partners[0].remoteId"]);
        expect(validateStackConfig(editFirstPartner(repoStackConfig(DEV), (p) => {
            p.remoteId = "fqdn:vpn.bigcorp.example.com";
        })).ok, "strongSwan takes it").to.equal(true);
    });
});

describe("renderLibreswanConf", () => {
    it("names each conn pvpn-<partner>-<host slug>", () => {
        expect(libreswanConnName("bigcorp", "110.220.10.7")).to.equal("pvpn-bigcorp-110-220-10-7-32");
        expect(libreswanConnName("bigcorp", "110.220.10.128/28")).to.equal("pvpn-bigcorp-110-220-10-128-28");
    });

    it("renders one complete conn per partner host, in the hosts' order", () => {
        const conns = parseConns(renderLibreswanConf(p0(), ADDRESSES));
        expect([...conns.keys()]).to.deep.equal(["pvpn-bigcorp-110-220-10-7-32", "pvpn-bigcorp-110-220-10-135-32"]);
        for (const [name, host] of [["pvpn-bigcorp-110-220-10-7-32", "110.220.10.7/32"], ["pvpn-bigcorp-110-220-10-135-32", "110.220.10.135/32"]]) {
            expect(Object.fromEntries(conns.get(name) ?? []), name).to.deep.equal({
                keyexchange: "ikev2",
                authby: "secret",
                left: "172.16.0.5",
                leftid: ADDRESSES.tunnelIp,
                leftsubnet: `${ADDRESSES.natIp}/32`,
                right: "110.220.9.72",
                rightid: "110.220.9.72",
                rightsubnet: host,
                ike: "aes256-sha2_256;modp2048",
                esp: "aes256-sha2_256;modp2048",
                pfs: "yes",
                ikelifetime: "28800s",
                salifetime: "3600s",
                rekeymargin: "360s",
                rekeyfuzz: "100%",
                encapsulation: "yes",
                dpddelay: "30s",
                negotiationshunt: "hold",
                failureshunt: "drop",
                "replay-window": "1024",
                auto: "start",
            });
        }
    });

    it("writes Libreswan 4's keywords for Debian 12 and Ubuntu 24.04, Libreswan 5's for Debian 13 (the default)", () => {
        expect(p0().os).to.equal("debian-13");
        const conn = (os: string, version = 2) =>
            parseConns(renderLibreswanConf(withIke({ ...p0(), os } as PartnerModel, { version }), ADDRESSES)).get("pvpn-bigcorp-110-220-10-7-32") ?? new Map<string, string>();
        for (const os of ["debian-12", "ubuntu-24.04"]) {
            expect(conn(os).get("ikev2"), os).to.equal("yes");
            expect(conn(os, 1).get("ikev2"), os).to.equal("no");
            expect(conn(os).get("dpdaction"), os).to.equal("restart");
            expect(conn(os).get("keyingtries"), os).to.equal("%forever");
            expect(conn(os).has("keyexchange"), os).to.equal(false);
        }
        // 5.2: "ikev2=yes has been replaced by keyexchange=ikev2", "obsolete keyword ignored:
        // dpdaction", "keyingtries=0 ignored": each a warning the apply refuses.
        expect(conn("debian-13").get("keyexchange")).to.equal("ikev2");
        expect(conn("debian-13", 1).get("keyexchange")).to.equal("ikev1");
        for (const key of ["ikev2", "dpdaction", "keyingtries"]) expect(conn("debian-13").has(key), key).to.equal(false);
    });

    it("uses no keyword Libreswan 4 rejects or calls obsolete, and no shared sections", () => {
        const text = renderLibreswanConf({ ...p0(), os: "debian-12" } as PartnerModel, ADDRESSES);
        for (const word of ["forceencaps", "keyexchange", "keylife", "pfsgroup", "aggrmode", "also=", "%default", "%defaultroute", "rightsubnets", "leftnexthop"]) {
            expect(text, word).not.to.include(word);
        }
        expect(text).not.to.match(/^\tlifetime=/m);
    });

    it("IKEv1: keyexchange=ikev1 and a dpdtimeout (IKEv2 ignores it, with a warning, so it only appears for IKEv1)", () => {
        const v1 = parseConns(renderLibreswanConf(withIke(p0(), { version: 1, ikeProposals: ["aes256-sha1-modp1536"], espProposals: ["aes256-sha1"] }), ADDRESSES));
        const c = v1.get("pvpn-bigcorp-110-220-10-7-32");
        expect(c?.get("keyexchange")).to.equal("ikev1");
        expect(c?.get("dpdtimeout")).to.equal("90s");
        expect(c?.get("pfs")).to.equal("no");
        expect(c?.get("ike")).to.equal("aes256-sha1;modp1536");
        expect(parseConns(renderLibreswanConf(p0(), ADDRESSES)).get("pvpn-bigcorp-110-220-10-7-32")?.has("dpdtimeout")).to.equal(false);
        expect(parseConns(renderLibreswanConf(withIke(p0(), { version: 1, dpdDelay: 60 }), ADDRESSES)).get("pvpn-bigcorp-110-220-10-7-32")?.get("dpdtimeout")).to.equal("180s");
    });

    it("leaves DPD out when it is off, and rekeys each SA between 80% and 90% of its lifetime", () => {
        const off = parseConns(renderLibreswanConf(withIke(p0(), { dpdDelay: 0, childLifetime: 1000, ikeLifetime: 5000 }), ADDRESSES)).get("pvpn-bigcorp-110-220-10-7-32");
        for (const key of ["dpddelay", "dpdtimeout", "dpdaction"]) expect(off?.has(key), key).to.equal(false);
        expect(off?.get("salifetime")).to.equal("1000s");
        expect(off?.get("ikelifetime")).to.equal("5000s");
        expect(off?.get("rekeymargin")).to.equal("100s");
    });

    it("writes an FQDN identity as @fqdn (a bare name would be resolved through DNS) and keeps user@fqdn", () => {
        for (const [id, written] of [["vpn.bigcorp.example.com", "@vpn.bigcorp.example.com"], ["@vpn.bigcorp.example.com", "@vpn.bigcorp.example.com"], ["ops@bigcorp.example.com", "ops@bigcorp.example.com"], ["110.220.9.73", "110.220.9.73"]]) {
            const p = withPartner(p0(), { remoteId: id });
            expect(parseConns(renderLibreswanConf(p, ADDRESSES)).get("pvpn-bigcorp-110-220-10-7-32")?.get("rightid"), id).to.equal(written);
            expect(renderLibreswanSecrets(p, ADDRESSES, TEST_PSK).split("\n")[1], id).to.match(new RegExp(`^${ADDRESSES.tunnelIp.replace(/\./g, "\\.")} ${written.replace(/\./g, "\\.")} : PSK 0s`));
        }
    });

    const hostChanges: { title: string; hosts: string[] }[] = [
        { title: "appended", hosts: ["110.220.10.7/32", "110.220.10.135/32", "110.220.10.200/32"] },
        { title: "inserted first", hosts: ["110.220.10.200/32", "110.220.10.7/32", "110.220.10.135/32"] },
        { title: "removed", hosts: ["110.220.10.135/32"] },
    ];
    for (const change of hostChanges) {
        it(`leaves the other conns' text identical when a host is ${change.title} (only that conn is reloaded)`, () => {
            const before = parseConns(renderLibreswanConf(p0(), ADDRESSES));
            const after = parseConns(renderLibreswanConf(withPartner(p0(), { remoteHosts: change.hosts }), ADDRESSES));
            for (const [name, settings] of after) {
                if (before.has(name)) expect(settings, name).to.deep.equal(before.get(name));
            }
        });
    }

    it("changes every conn when a shared setting changes (each conn is complete, so the apply replaces them all)", () => {
        const before = parseConns(renderLibreswanConf(p0(), ADDRESSES));
        const after = parseConns(renderLibreswanConf(withIke(p0(), { childLifetime: 1800 }), ADDRESSES));
        for (const name of before.keys()) expect(after.get(name), name).to.not.deep.equal(before.get(name));
    });
});

describe("renderLibreswanSecrets", () => {
    const hostile = [TEST_PSK, 'q"uote : PSK "x"\n%any %any : PSK "owned"', "# not a comment\ninclude /etc/shadow", "  spaces  and\ttabs ", "ünïcödé-кириллица-🔑", "0sAAAA", "x".repeat(200)];

    it("keys the PSK on the two identities, base64-encoded on one line, in a secret 0600 file", () => {
        const files = renderEndpointFiles(dev(), p0(), ADDRESSES, TEST_PSK);
        const secrets = files.find((f) => f.path === endpointPaths("bigcorp").libreswanSecrets);
        expect(secrets).to.include({ mode: "0600", secret: true });
        expect(secrets?.content).to.equal(`# partner-vpn: bigcorp pre-shared key. Mode 0600, owner root.\n198.51.100.1 110.220.9.72 : PSK 0s${Buffer.from(TEST_PSK).toString("base64")}\n`);
    });

    for (const psk of hostile) {
        it(`keeps the key inert and exact: ${JSON.stringify(psk).slice(0, 40)}`, () => {
            const text = renderLibreswanSecrets(p0(), ADDRESSES, psk);
            const lines = text.split("\n");
            expect(lines).to.have.length(3);
            expect(lines[2]).to.equal("");
            const m = /^198\.51\.100\.1 110\.220\.9\.72 : PSK 0s([A-Za-z0-9+/]+={0,2})$/.exec(lines[1]);
            expect(m, lines[1]).to.not.equal(null);
            expect(Buffer.from((m as RegExpExecArray)[1], "base64").toString("utf8")).to.equal(psk);
            if (psk.length > 4) expect(text).not.to.include(psk);
            // The apply script's own shape check accepts every line of it.
            for (const line of lines.slice(0, 2)) expect(line, "libreswan.sh shape check").to.match(secretsShape());
        });
    }

    it("refuses an empty key", () => {
        expect(() => renderLibreswanSecrets(p0(), ADDRESSES, "")).to.throw(RenderError);
    });
});

describe("Libreswan renderers with hostile input (validation bypassed)", () => {
    const cases: { title: string; partner: () => PartnerModel; addresses?: typeof ADDRESSES }[] = [
        { title: "a partner name with a newline and a directive", partner: () => withPartner(p0(), { name: "bigcorp\n\tleftupdown=/bin/sh" }) },
        { title: "a partner name with a space", partner: () => withPartner(p0(), { name: "big corp" }) },
        { title: "a private IP with a second setting", partner: () => withPartner(p0(), { privateIp: "172.16.0.5\n\tauto=ignore" }) },
        { title: "a gateway that is not an address", partner: () => withPartner(p0(), { gatewayIp: "%any" }) },
        { title: "a remote id with a space and a colon", partner: () => withPartner(p0(), { remoteId: "110.220.9.72 : PSK" }) },
        { title: "a remote id with a quote", partner: () => withPartner(p0(), { remoteId: 'a"b' }) },
        { title: "a remote id with a newline", partner: () => withPartner(p0(), { remoteId: "a\nconn evil" }) },
        { title: "a remote id with two @", partner: () => withPartner(p0(), { remoteId: "a@b@c" }) },
        { title: "a remote host with a second subnet", partner: () => withPartner(p0(), { remoteHosts: ["110.220.10.7/32,0.0.0.0/0"] }) },
        { title: "a remote host listed twice", partner: () => withPartner(p0(), { remoteHosts: ["110.220.10.7", "110.220.10.7/32"] }) },
        { title: "no remote host", partner: () => withPartner(p0(), { remoteHosts: [] }) },
        { title: "a proposal with an injected setting", partner: () => withIke(p0(), { ikeProposals: ["aes256-sha256-modp2048\n\tleftupdown=/bin/sh"] }) },
        { title: "a proposal in Libreswan's own syntax (not translated twice)", partner: () => withIke(p0(), { espProposals: ["aes256-sha2_256;modp2048"] }) },
        { title: "an empty proposal list (Libreswan would take its defaults)", partner: () => withIke(p0(), { espProposals: [] }) },
        { title: "a modp1024 proposal", partner: () => withIke(p0(), { ikeProposals: ["aes256-sha1-modp1024"], allowWeakAlgorithms: true }) },
        { title: "a lifetime with a unit injected", partner: () => withIke(p0(), { childLifetime: "3600s\n\tauto=ignore" }) },
        { title: "a lifetime out of range", partner: () => withIke(p0(), { ikeLifetime: 10 }) },
        { title: "an IKE version 3", partner: () => withIke(p0(), { version: 3 }) },
        { title: "a DPD delay with text", partner: () => withIke(p0(), { dpdDelay: "30; auto=ignore" }) },
        { title: "a NAT address that is a subnet", partner: () => p0(), addresses: { ...ADDRESSES, natIp: "0.0.0.0/0" } },
        { title: "a tunnel address with a newline", partner: () => p0(), addresses: { ...ADDRESSES, tunnelIp: "198.51.100.1\n%any" } },
    ];
    for (const c of cases) {
        it(`refuses ${c.title}`, () => {
            const addresses = c.addresses ?? ADDRESSES;
            expect(() => {
                renderLibreswanConf(c.partner(), addresses);
                renderLibreswanSecrets(c.partner(), addresses, TEST_PSK);
            }).to.throw(RenderError);
        });
    }
});

describe("renderEndpointFiles with Libreswan partners", () => {
    it("puts the conns and the PSK under /etc/ipsec.d (which Debian's ipsec.conf and ipsec.secrets include) and no swanctl file", () => {
        const files = renderEndpointFiles(dev(), p0(), ADDRESSES, TEST_PSK);
        expect(files.map((f) => `${f.path} ${f.mode} ${f.secret}`)).to.deep.equal([
            "/etc/ipsec.d/partner-vpn-bigcorp.conf 0644 false",
            "/etc/ipsec.d/partner-vpn-bigcorp.secrets 0600 true",
            "/etc/partner-vpn/bigcorp/nat.rules 0644 false",
            "/usr/local/sbin/partner-vpn-boot 0755 false",
            "/usr/local/sbin/partner-vpn-remove 0755 false",
        ]);
    });

    it("gives the endpoint Libreswan's boot and remove helpers and an apply script with libreswan.sh and its roles", () => {
        const r = renderPartner(dev());
        expect(r.file("partner-vpn-boot").content).to.equal(renderBootHelper("libreswan"));
        expect(r.file("partner-vpn-boot").content).to.match(/\npvpn_libreswan_boot\n$/);
        expect(r.file("partner-vpn-remove").content).to.match(/\npvpn_libreswan_remove "\$@"\n$/);
        expect(r.apply).to.include("\npvpn_libreswan_sync() {");
        expect(r.apply).to.include("\nPVPN_IPSEC=Libreswan\n");
        expect(r.apply).to.match(/\n {8}libreswan f0 '\/etc\/ipsec\.d\/partner-vpn-bigcorp\.conf' 0644 \\\n {8}libreswan-secrets f1 '\/etc\/ipsec\.d\/partner-vpn-bigcorp\.secrets' 0600 \\\n/);
        // libreswan.sh comes after lib.sh (it uses pvpn_log, pvpn_lock) and before apply.sh.
        expect(r.apply.indexOf("\npvpn_log() {")).to.be.lessThan(r.apply.indexOf("\npvpn_libreswan_sync() {"));
        expect(r.apply.indexOf("\npvpn_libreswan_sync() {")).to.be.lessThan(r.apply.indexOf("\npvpn_apply() {"));
    });

    it("bootstraps a Libreswan endpoint with the daemon and the IKE version; strongSwan endpoints with their proposals' charon algorithms", () => {
        const model = dev();
        expect(bootstrapCommand(model, model.mode, p0())).to.equal("sudo -n bash -s -- 'vpc-routing' 'debian-13' 'libreswan' 'ikev2'");
        expect(bootstrapCommand(model, model.mode, withIke(p0(), { version: 1 }))).to.equal("sudo -n bash -s -- 'vpc-routing' 'debian-13' 'libreswan' 'ikev1'");
        const swan = modelOf(repoStackConfig(DEV));
        expect(bootstrapCommand(swan, swan.mode, swan.partners[0])).to.equal(
            "sudo -n bash -s -- 'vpc-routing' 'debian-13' 'proposal=ike:aes256-sha256-modp2048:AES_CBC,HMAC_SHA2_256_128,MODP_2048,PRF_HMAC_SHA2_256' 'proposal=esp:aes256-sha256-modp2048:MODP_2048'",
        );
        expect(bootstrapCommand(swan)).to.equal("sudo -n bash -s -- 'vpc-routing' 'debian-13'");
    });
});

describe("strongSwan partners are unchanged by the Libreswan backend", () => {
    /** A second partner on the same stack, using Libreswan, next to the strongSwan one. */
    function withLibreswanNeighbour(raw: RawStack): StackModel {
        const copy = JSON.parse(JSON.stringify(raw)) as RawStack;
        const partners = copy.partners as Record<string, unknown>[];
        partners.push({
            name: "acme", privateIp: "172.16.0.6", gatewayIp: "120.1.2.3", remoteHosts: ["120.1.3.0/24"], ipsecDaemon: "libreswan",
            ...(copy.mode === "classic-proxy" ? { proxies: [{ listenPort: 9090, remoteHost: "120.1.3.4" }] } : {}),
        });
        return modelOf(copy);
    }

    for (const file of [DEV, DEV_CLASSIC]) {
        it(`${file}: the strongSwan partner's files, helpers and apply script are byte-identical with a Libreswan partner next to it`, () => {
            const alone = modelOf(repoStackConfig(file));
            const mixed = withLibreswanNeighbour(repoStackConfig(file));
            expect(mixed.partners.map((p) => p.ipsecDaemon)).to.deep.equal(["strongswan", "libreswan"]);
            const a = renderPartner(alone, alone.partners[0]);
            const b = renderPartner(mixed, mixed.partners[0]);
            expect(b.files).to.deep.equal(a.files);
            expect(b.apply).to.equal(a.apply);
            expect(b.generation).to.equal(a.generation);
        });
    }

    it("strongSwan endpoints keep swanctl files and the helpers made of lib.sh with boot.sh / remove.sh only", () => {
        for (const v of stackVariants()) {
            const r = renderPartner(v.model);
            expect(r.files.map((f) => f.path).filter((p) => p.includes("ipsec.d")), v.name).to.deep.equal([]);
            expect(r.file("partner-vpn-boot").content, v.name).to.equal(renderBootHelper());
            expect(r.file("partner-vpn-remove").content, v.name).to.equal(renderRemoveHelper());
            for (const text of [r.apply, renderBootHelper(), renderRemoveHelper()]) {
                expect(text, v.name).not.to.include("pvpn_libreswan_sync() {");
                expect(text, v.name).not.to.include("\nPVPN_IPSEC=Libreswan\n");
            }
        }
    });
});

describe("libreswan.sh stays in step with the scripts it mirrors", () => {
    const read = (name: string) => fs.readFileSync(path.join(REPO_ROOT, "scripts", "endpoint", name), "utf8");

    /** The lines of `text` from the first line matching `start` to the first following line equal to `end`. */
    function block(text: string, start: RegExp, end: string): string {
        const lines = text.split("\n");
        const from = lines.findIndex((l) => start.test(l));
        expect(from, start.source).to.be.greaterThan(-1);
        const to = lines.findIndex((l, i) => i > from && l === end);
        return lines.slice(from, to + 1).join("\n");
    }

    it("removes the proxy exactly as remove.sh does", () => {
        const nginx = /^ {4}if grep -qs "\^# partner-vpn: \$partner proxy"/;
        expect(block(read("libreswan.sh"), nginx, "    fi")).to.equal(block(read("remove.sh"), nginx, "    fi"));
    });

    it("restores NAT at boot exactly as boot.sh does", () => {
        const loop = /^ {4}for dir in "\$PVPN_STATE_ROOT"\/\*\/; do$/;
        expect(block(read("libreswan.sh"), loop, "    done")).to.equal(block(read("boot.sh"), loop, "    done"));
    });
});

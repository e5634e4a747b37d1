/**
 * renderNatRules: the iptables-restore --noflush payload of one partner's own NAT chains. The
 * expected rules are written out literally, in iptables-save's canonical form (the real-tool test
 * in tests/tools/iptables.test.ts checks that iptables-save gives them back unchanged).
 */
import { expect } from "chai";
import { natChainNames, renderNatRules } from "../../core/render";
import { mssFor } from "../../core/render/mss";
import {
    ADDRESSES, classicTcpRaw, DEV, DEV_CLASSIC, editFirstPartner, inboundPortsRaw, modelOf, repoStackConfig, withIke, type RawStack,
} from "../tools/tools";

const snat = (src: string, dst: string) => `-A PVPN-bigcorp-POST -s ${src} -d ${dst} -m comment --comment "pvpn bigcorp snat" -j SNAT --to-source 192.0.2.23`;

interface NatCase {
    readonly title: string;
    readonly raw: () => RawStack;
    readonly post: string[];
    readonly pre: string[];
}

const cases: NatCase[] = [
    {
        title: "dev (vpc-routing, two hosts, two every-port mappings)",
        raw: () => repoStackConfig(DEV),
        post: [snat("172.16.0.0/24", "110.220.10.7/32"), snat("172.16.0.0/24", "110.220.10.135/32")],
        pre: [
            '-A PVPN-bigcorp-PRE -s 110.220.10.7/32 -d 192.0.2.23/32 -m comment --comment "pvpn bigcorp dnat" -j DNAT --to-destination 172.16.0.10',
            '-A PVPN-bigcorp-PRE -s 110.220.10.135/32 -d 192.0.2.23/32 -m comment --comment "pvpn bigcorp dnat" -j DNAT --to-destination 172.16.0.11',
        ],
    },
    {
        title: "dev-classic (no inbound)",
        raw: () => repoStackConfig(DEV_CLASSIC),
        post: [snat("172.16.0.0/24", "110.220.10.7/32"), snat("172.16.0.0/24", "110.220.10.135/32")],
        pre: [],
    },
    {
        title: "two internal CIDRs x two partner hosts (one SNAT rule per pair)",
        raw: () => {
            const raw = repoStackConfig(DEV);
            (raw.network as Record<string, unknown>).internalCidrs = ["172.16.0.0/24", "10.20.0.0/16"];
            return editFirstPartner(raw, (p) => (p.inbound = []));
        },
        post: [
            snat("172.16.0.0/24", "110.220.10.7/32"),
            snat("10.20.0.0/16", "110.220.10.7/32"),
            snat("172.16.0.0/24", "110.220.10.135/32"),
            snat("10.20.0.0/16", "110.220.10.135/32"),
        ],
        pre: [],
    },
    {
        title: "an endpoint outside the internal CIDRs (its own traffic is NATed too)",
        raw: () => {
            const raw = repoStackConfig(DEV);
            (raw.network as Record<string, unknown>).internalCidrs = ["10.20.0.0/16"];
            return editFirstPartner(raw, (p) => (p.inbound = [{ target: "10.20.0.10" }]));
        },
        post: [
            snat("10.20.0.0/16", "110.220.10.7/32"),
            snat("172.16.0.5/32", "110.220.10.7/32"),
            snat("10.20.0.0/16", "110.220.10.135/32"),
            snat("172.16.0.5/32", "110.220.10.135/32"),
        ],
        pre: [
            '-A PVPN-bigcorp-PRE -s 110.220.10.7/32 -d 192.0.2.23/32 -m comment --comment "pvpn bigcorp dnat" -j DNAT --to-destination 10.20.0.10',
            '-A PVPN-bigcorp-PRE -s 110.220.10.135/32 -d 192.0.2.23/32 -m comment --comment "pvpn bigcorp dnat" -j DNAT --to-destination 10.20.0.10',
        ],
    },
    {
        title: "port mappings of both protocols, a partner network, a remapped port (vpc-routing)",
        raw: inboundPortsRaw,
        post: [snat("172.16.0.0/24", "110.220.10.7/32"), snat("172.16.0.0/24", "110.220.10.9/32"), snat("172.16.0.0/24", "110.220.10.128/28")],
        pre: [
            '-A PVPN-bigcorp-PRE -s 110.220.10.7/32 -d 192.0.2.23/32 -p tcp -m tcp --dport 8443 -m comment --comment "pvpn bigcorp dnat" -j DNAT --to-destination 172.16.0.10:443',
            '-A PVPN-bigcorp-PRE -s 110.220.10.128/28 -d 192.0.2.23/32 -p udp -m udp --dport 5060 -m comment --comment "pvpn bigcorp dnat" -j DNAT --to-destination 172.16.0.11:5060',
            '-A PVPN-bigcorp-PRE -s 110.220.10.9/32 -d 192.0.2.23/32 -m comment --comment "pvpn bigcorp dnat" -j DNAT --to-destination 172.16.0.12',
        ],
    },
    {
        title: "classic-proxy with a mapping (return traffic SNATed to the endpoint, on the target port)",
        raw: classicTcpRaw,
        post: [
            snat("172.16.0.0/24", "110.220.10.7/32"),
            snat("172.16.0.0/24", "110.220.10.135/32"),
            '-A PVPN-bigcorp-POST -s 110.220.10.7/32 -d 172.16.0.10/32 -p tcp -m tcp --dport 443 -m comment --comment "pvpn bigcorp return" -j SNAT --to-source 172.16.0.5',
        ],
        pre: [
            '-A PVPN-bigcorp-PRE -s 110.220.10.7/32 -d 192.0.2.23/32 -p tcp -m tcp --dport 8443 -m comment --comment "pvpn bigcorp dnat" -j DNAT --to-destination 172.16.0.10:443',
        ],
    },
    {
        title: "classic-proxy with an every-port mapping from two hosts",
        raw: () => editFirstPartner(repoStackConfig(DEV_CLASSIC), (p) => (p.inbound = [{ target: "172.16.0.10" }])),
        post: [
            snat("172.16.0.0/24", "110.220.10.7/32"),
            snat("172.16.0.0/24", "110.220.10.135/32"),
            '-A PVPN-bigcorp-POST -s 110.220.10.7/32 -d 172.16.0.10/32 -m comment --comment "pvpn bigcorp return" -j SNAT --to-source 172.16.0.5',
            '-A PVPN-bigcorp-POST -s 110.220.10.135/32 -d 172.16.0.10/32 -m comment --comment "pvpn bigcorp return" -j SNAT --to-source 172.16.0.5',
        ],
        pre: [
            '-A PVPN-bigcorp-PRE -s 110.220.10.7/32 -d 192.0.2.23/32 -m comment --comment "pvpn bigcorp dnat" -j DNAT --to-destination 172.16.0.10',
            '-A PVPN-bigcorp-PRE -s 110.220.10.135/32 -d 192.0.2.23/32 -m comment --comment "pvpn bigcorp dnat" -j DNAT --to-destination 172.16.0.10',
        ],
    },
];

describe("renderNatRules", () => {
    it("names the partner's chains PVPN-<name>-PRE/POST", () => {
        expect(natChainNames("bigcorp")).to.deep.equal({ pre: "PVPN-bigcorp-PRE", post: "PVPN-bigcorp-POST", mss: "PVPN-bigcorp-MSS" });
        // The longest partner name still fits iptables' 28-character chain names.
        expect(natChainNames("a23456789012345678").post).to.have.length.at.most(28);
    });

    for (const c of cases) {
        describe(c.title, () => {
            let text = "";
            let lines: string[] = [];
            before(() => {
                const model = modelOf(c.raw());
                text = renderNatRules(model, model.partners[0], ADDRESSES);
                lines = text.split("\n");
            });

            it("renders exactly the expected rules, in order", () => {
                expect(lines.filter((l) => l.startsWith("-A PVPN-bigcorp-POST "))).to.deep.equal(c.post);
                expect(lines.filter((l) => l.startsWith("-A PVPN-bigcorp-PRE "))).to.deep.equal(c.pre);
            });

            it("touches only the partner's own chains in the nat table, in one transaction", () => {
                const significant = lines.slice(0, lines.indexOf("COMMIT") + 1).filter((l) => l !== "" && !l.startsWith("#"));
                expect(significant[0]).to.equal("*nat");
                expect(significant[significant.length - 1]).to.equal("COMMIT");
                expect(significant.filter((l) => l.startsWith("*"))).to.deep.equal(["*nat"]);
                const body = significant.slice(1, -1);
                expect(body.slice(0, 4)).to.deep.equal([":PVPN-bigcorp-PRE - [0:0]", ":PVPN-bigcorp-POST - [0:0]", "-F PVPN-bigcorp-PRE", "-F PVPN-bigcorp-POST"]);
                for (const l of body) expect(l, l).to.match(/^(:|-F |-A )PVPN-bigcorp-(PRE|POST)( |$)/);
                expect(text).not.to.match(/PREROUTING|POSTROUTING|OUTPUT|INPUT|-X|-D |-I |MASQUERADE/);
            });

            it("SNATs only to the NAT address or (return traffic) the endpoint's private IP", () => {
                for (const l of lines.filter((x) => x.includes("-j SNAT"))) expect(l).to.match(/--to-source (192\.0\.2\.23|172\.16\.0\.5)$/);
                for (const l of lines.filter((x) => x.includes("-j DNAT"))) expect(l).to.include("-d 192.0.2.23/32");
            });
        });
    }

    it("renders no return SNAT in vpc-routing mode (routes bring the replies back)", () => {
        const model = modelOf(inboundPortsRaw());
        expect(renderNatRules(model, model.partners[0], ADDRESSES)).not.to.include("return");
    });

    it("follows the NAT address it is given", () => {
        const model = modelOf(repoStackConfig(DEV));
        const text = renderNatRules(model, model.partners[0], { natIp: "192.0.2.99", tunnelIp: "198.51.100.1" });
        expect(text).to.include("--to-source 192.0.2.99");
        expect(text).to.include("-d 192.0.2.99/32");
        expect(text).not.to.include("192.0.2.23");
        expect(text).not.to.include("198.51.100.1");
    });

    it("is deterministic", () => {
        const model = modelOf(classicTcpRaw());
        expect(renderNatRules(model, model.partners[0], ADDRESSES)).to.equal(renderNatRules(model, model.partners[0], ADDRESSES));
    });
});

describe("renderNatRules: the MSS clamp (mangle table)", () => {
    const model = () => modelOf(repoStackConfig(DEV));
    const mangle = (text: string) => text.slice(text.indexOf("*mangle"));

    it("clamps SYNs to and from every partner host in the partner's own mangle chain, after the nat transaction", () => {
        const m = model();
        const text = renderNatRules(m, m.partners[0], ADDRESSES);
        const part = mangle(text).split("\n").filter((l) => l !== "");
        const mss = mssFor(m.partners[0]).mss;
        expect(part.slice(0, 3)).to.deep.equal(["*mangle", ":PVPN-bigcorp-MSS - [0:0]", "-F PVPN-bigcorp-MSS"]);
        expect(part[part.length - 1]).to.equal("COMMIT");
        const rules = part.filter((l) => l.startsWith("-A "));
        expect(rules).to.have.length(2 * m.partners[0].remoteHosts.length);
        for (const host of m.partners[0].remoteHosts) {
            for (const dir of ["-s", "-d"]) {
                expect(rules).to.include(`-A PVPN-bigcorp-MSS ${dir} ${host} -p tcp -m tcp --tcp-flags SYN,RST SYN -m comment --comment "pvpn bigcorp mss" -j TCPMSS --set-mss ${mss}`);
            }
        }
        expect(mangle(text)).not.to.match(/PREROUTING|POSTROUTING|FORWARD|OUTPUT|-X|-D |-I /);
    });

    const sizes: { esp: string[]; mss: number }[] = [
        // 1500 - 20 IP - 8 UDP - 8 ESP - 16 IV - 16 ICV = 1432 -> 1424 in 16-byte blocks - 2 trailer = 1422 inner, - 40 = 1382
        { esp: ["aes256-sha256-modp2048"], mss: 1382 },
        // AEAD: 8-byte IV, 16-byte ICV, 4-byte alignment: 1500 - 36 - 8 - 16 = 1440 - 2 = 1438, - 40
        { esp: ["aes256gcm16-modp2048"], mss: 1398 },
        // sha512's 32-byte ICV: 1500 - 36 - 16 - 32 = 1416 -> 1408 - 2 = 1406, - 40
        { esp: ["aes128-sha512"], mss: 1366 },
        // the worst proposal of the list sets the clamp
        // (sha384: 1500 - 36 - 16 - 24 = 1424, already a multiple of 16: 1422 inner)
        { esp: ["aes256gcm16", "aes256-sha384"], mss: 1382 },
        // a proposal validation would refuse still renders, sized for the largest overhead (CBC, sha512)
        { esp: ["aes256-bogus-modp2048"], mss: 1366 },
    ];
    it("sizes the clamp for partners[].pathMtu (default 1500): 1460 gives 1358 for aes256gcm16, 1350 for aes256-sha256", () => {
        expect(model().partners[0].pathMtu, "the default path MTU").to.equal(1500);
        for (const [esp, mss] of [["aes256gcm16-modp2048", 1358], ["aes256-sha256-modp2048", 1350]] as const) {
            const p = { ...withIke(model().partners[0], { espProposals: [esp] }), pathMtu: 1460 };
            expect(mssFor(p)).to.deep.include({ pathMtu: 1460, mss });
            const text = renderNatRules(model(), p, ADDRESSES);
            expect(text).to.include(`--set-mss ${mss}`);
            expect(text).to.include("fit a 1460-byte path");
        }
    });

    for (const c of sizes) {
        it(`sizes the clamp from the proposals' real overhead: ${c.esp.join(", ")} -> ${c.mss}`, () => {
            const p = withIke(model().partners[0], { espProposals: c.esp });
            expect(mssFor(p).mss).to.equal(c.mss);
            expect(renderNatRules(model(), p, ADDRESSES)).to.include(`--set-mss ${c.mss}`);
        });
    }
});

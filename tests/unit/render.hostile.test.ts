/**
 * Defence in depth: hostile values fed straight to the renderers, bypassing validation. Each one
 * must either throw a RenderError (the renderer refuses it) or be rendered inert (it cannot leave
 * its context); the table says which, and the inert cases say why.
 */
import { expect } from "chai";
import type { EndpointAddresses, PartnerModel, StackModel } from "../../core/model";
import {
    bootstrapCommand, natChainNames, removeCommand, renderApplyScript, renderEndpointFiles, renderNatRules, renderNginx,
    renderSwanctl, renderSwanctlSecrets, swanctlChildName, swanctlConnectionName,
} from "../../core/render";
import { RenderError } from "../../core/render/safe";
import {
    ADDRESSES, classicTcpRaw, DEV, modelOf, once, parseSwanctl, repoStackConfig, renderPartner, TEST_PSK, withIke, withPartner,
} from "../tools/tools";

const dev = once(() => modelOf(repoStackConfig(DEV)));
const classic = once(() => modelOf(classicTcpRaw()));
const p0 = (): PartnerModel => dev().partners[0];
const c0 = (): PartnerModel => classic().partners[0];

type Renderer = "swanctl" | "secrets" | "nat" | "nginx" | "apply" | "files";

/** Renders one artifact for a (possibly hostile) partner, model and addresses. */
function render(what: Renderer, partner: PartnerModel, model: StackModel = dev(), addresses: EndpointAddresses = ADDRESSES, psk = TEST_PSK): string {
    switch (what) {
        case "swanctl":
            return renderSwanctl(partner, addresses);
        case "secrets":
            return renderSwanctlSecrets(partner, addresses, psk);
        case "nat":
            return renderNatRules(model, partner, addresses);
        case "nginx":
            return renderNginx(partner);
        case "apply":
            return renderPartner(model, partner, psk).apply;
        case "files":
            return renderEndpointFiles(model, partner, addresses, psk).map((f) => f.content).join("\n");
    }
}

interface HostileCase {
    readonly title: string;
    readonly run: () => string;
    /** "throws": must raise RenderError. "inert": must render, and `check` says why it is harmless. */
    readonly expect: "throws" | "inert";
    readonly check?: (out: string) => void;
}

const ALL: Renderer[] = ["swanctl", "secrets", "nat", "nginx", "apply"];

function forEach(renderers: Renderer[], title: string, partner: () => PartnerModel, model?: () => StackModel, addresses?: EndpointAddresses): HostileCase[] {
    return renderers.map((r) => ({ title: `${r}: ${title}`, run: () => render(r, partner(), model?.(), addresses), expect: "throws" as const }));
}

const hostilePsks = [
    'q"uote}\nsecret = 0sAAAA\n}',
    "line1\nline2\r\n$(reboot)`id`",
    "PVPN_FILE_END\n" + "x".repeat(30),
    "'; rm -rf / #",
];

const cases: HostileCase[] = [
    // Partner names become section names, chain names, file names and shell words.
    ...forEach(ALL, "a partner name with a shell command (;rm -rf /)", () => withPartner(p0(), { name: "x;rm -rf /" })),
    ...forEach(ALL, "a partner name with a newline and a directive", () => withPartner(c0(), { name: "bigcorp\nuser root" }), () => classic()),
    ...forEach(ALL, "a partner name with a quote", () => withPartner(p0(), { name: 'big"corp' })),
    ...forEach(ALL, "an over-long partner name (iptables chain names are limited)", () => withPartner(p0(), { name: "a".repeat(30) })),
    ...forEach(ALL, "an upper-case partner name", () => withPartner(p0(), { name: "BigCorp" })),
    { title: "chain names: hostile partner name", run: () => natChainNames("a -j ACCEPT").pre, expect: "throws" },
    { title: "connection name: hostile partner name", run: () => swanctlConnectionName("a { }"), expect: "throws" },
    { title: "child name: hostile host", run: () => swanctlChildName("bigcorp", "1.2.3.4 }"), expect: "throws" },

    // swanctl values.
    ...forEach(["swanctl", "secrets", "apply"], "a remoteId that closes the section and opens another", () => withPartner(p0(), { remoteId: "}\n connections {" })),
    ...forEach(["swanctl", "secrets"], "a remoteId with a space", () => withPartner(p0(), { remoteId: "a b" })),
    ...forEach(["swanctl", "secrets"], "an empty remoteId", () => withPartner(p0(), { remoteId: "" })),
    ...forEach(["swanctl", "secrets"], "a non-ASCII remoteId", () => withPartner(p0(), { remoteId: "vpn.bïgcorp.example" })),
    ...forEach(["swanctl", "apply"], "an IKE proposal with a newline and a setting", () => withIke(p0(), { ikeProposals: ["aes256-sha256-modp2048\nlocal_addrs = 0.0.0.0"] })),
    ...forEach(["swanctl"], "an ESP proposal with a newline", () => withIke(p0(), { espProposals: ["aes256-sha256\n}"] })),
    ...forEach(["swanctl"], "a proposal with a comma (would split into two proposals)", () => withIke(p0(), { ikeProposals: ["aes256-sha256-modp2048,3des-md5-modp768"] })),
    ...forEach(["swanctl"], "a proposal with a brace", () => withIke(p0(), { espProposals: ["aes256{"] })),
    ...forEach(["swanctl"], "no IKE proposals (swanctl would silently use its defaults)", () => withIke(p0(), { ikeProposals: [] })),
    ...forEach(["swanctl"], "no ESP proposals (swanctl would silently use its defaults)", () => withIke(p0(), { espProposals: [] })),
    ...forEach(["swanctl"], "IKE version 3", () => withIke(p0(), { version: 3 })),
    ...forEach(["swanctl"], "a fractional lifetime", () => withIke(p0(), { ikeLifetime: 3600.5 })),
    ...forEach(["swanctl"], "a negative lifetime", () => withIke(p0(), { childLifetime: -1 })),
    ...forEach(["swanctl"], "a NaN lifetime", () => withIke(p0(), { childLifetime: Number.NaN })),
    ...forEach(["swanctl"], "a lifetime beyond a day", () => withIke(p0(), { ikeLifetime: 1e9 })),
    ...forEach(["swanctl"], "a DPD delay of 301 s", () => withIke(p0(), { dpdDelay: 301 })),
    ...forEach(["swanctl"], "no remote hosts (a connection without children)", () => withPartner(p0(), { remoteHosts: [] })),
    {
        title: "nat: no remote hosts (empty chains: nothing is NATed)",
        run: () => render("nat", withPartner(p0(), { remoteHosts: [], inbound: [] })),
        expect: "inert",
        check: (out) => expect(out.split("\n").filter((l) => l.startsWith("-A "))).to.deep.equal([]),
    },
    ...forEach(["swanctl"], "one remote host listed twice (swanctl would merge the two children)", () => withPartner(p0(), { remoteHosts: ["110.220.10.7", "110.220.10.7/32"] })),

    // Addresses: every one of them is checked, whatever the artifact.
    ...forEach(["swanctl", "nat", "nginx"], "a private IP with a shell tail (1.2.3.4; x)", () => withPartner(c0(), { privateIp: "1.2.3.4; x" }), () => classic()),
    ...forEach(["swanctl"], "a gateway IP with a second address", () => withPartner(p0(), { gatewayIp: "110.220.9.72 0.0.0.0" })),
    ...forEach(["swanctl", "nat"], "a remote host with a shell tail", () => withPartner(p0(), { remoteHosts: ["1.2.3.4; x"] })),
    ...forEach(["swanctl", "nat"], "a remote host /33", () => withPartner(p0(), { remoteHosts: ["10.0.0.0/33"] })),
    ...forEach(["swanctl", "nat"], "a remote host 300.1.1.1", () => withPartner(p0(), { remoteHosts: ["300.1.1.1"] })),
    ...forEach(["swanctl", "nat"], "a remote host with leading zeros", () => withPartner(p0(), { remoteHosts: ["010.1.1.1"] })),
    ...forEach(["swanctl", "secrets", "nat"], "a NAT or tunnel address with iptables options", () => p0(), undefined, { natIp: "192.0.2.23 -j ACCEPT", tunnelIp: "198.51.100.1 }" }),
    ...forEach(["swanctl", "nat"], "a NAT address in CIDR form", () => p0(), undefined, { natIp: "192.0.2.23/32", tunnelIp: "198.51.100.1" }),
    ...forEach(["secrets"], "a tunnel address that closes the section", () => p0(), undefined, { natIp: "192.0.2.23", tunnelIp: "}" }),
    ...forEach(["nat"], "an internal CIDR with iptables options", () => p0(), () => ({ ...dev(), network: { ...dev().network, internalCidrs: ["0.0.0.0/0 -j ACCEPT"] } })),

    // Inbound mappings.
    ...forEach(["nat"], "an inbound port 0", () => withPartner(p0(), { inbound: [{ from: ["110.220.10.7/32"], protocol: "tcp", port: 0, target: "172.16.0.10" }] })),
    ...forEach(["nat"], "an inbound port 70000", () => withPartner(p0(), { inbound: [{ from: ["110.220.10.7/32"], protocol: "tcp", port: 70000, target: "172.16.0.10" }] })),
    ...forEach(["nat"], "a fractional inbound port", () => withPartner(p0(), { inbound: [{ from: ["110.220.10.7/32"], protocol: "udp", port: 53.5, target: "172.16.0.10" }] })),
    ...forEach(["nat"], "a target port 70000", () => withPartner(p0(), { inbound: [{ from: ["110.220.10.7/32"], protocol: "tcp", port: 443, targetPort: 70000, target: "172.16.0.10" }] })),
    ...forEach(["nat"], "a target with a second --to-destination", () => withPartner(p0(), { inbound: [{ from: ["110.220.10.7/32"], protocol: "all", target: "172.16.0.10 --to-destination 1.1.1.1" }] })),
    ...forEach(["nat"], "an inbound source with options", () => withPartner(p0(), { inbound: [{ from: ["110.220.10.7/32 -j ACCEPT"], protocol: "all", target: "172.16.0.10" }] })),
    ...forEach(["nat"], "an unknown inbound protocol (would have been rendered as udp)", () => withPartner(p0(), { inbound: [{ from: ["110.220.10.7/32"], protocol: "icmp", port: 1, target: "172.16.0.10" }] })),
    ...forEach(["nat"], "a port with protocol all (DNAT to a port needs -p)", () => withPartner(p0(), { inbound: [{ from: ["110.220.10.7/32"], protocol: "all", port: 443, target: "172.16.0.10" }] })),

    // Proxies.
    ...forEach(["nginx"], "a listen port 0", () => withPartner(c0(), { proxies: [{ listenPort: 0, protocol: "http", remoteHost: "110.220.10.7", remotePort: 80 }] })),
    ...forEach(["nginx"], "a listen port 70000", () => withPartner(c0(), { proxies: [{ listenPort: 70000, protocol: "tcp", remoteHost: "110.220.10.7", remotePort: 80 }] })),
    ...forEach(["nginx"], "a remote port 70000", () => withPartner(c0(), { proxies: [{ listenPort: 8080, protocol: "http", remoteHost: "110.220.10.7", remotePort: 70000 }] })),
    ...forEach(["nginx"], "a remote host that ends the directive", () => withPartner(c0(), { proxies: [{ listenPort: 8080, protocol: "http", remoteHost: "110.220.10.7; }", remotePort: 80 }] })),
    ...forEach(["nginx"], "an unknown proxy protocol (would have been dropped silently)", () => withPartner(c0(), { proxies: [{ listenPort: 8080, protocol: "udp", remoteHost: "110.220.10.7", remotePort: 53 }] })),
    ...forEach(["nginx"], "two proxies on one port", () => withPartner(c0(), { proxies: [c0().proxies[0], { ...c0().proxies[1], listenPort: c0().proxies[0].listenPort }] })),

    // Command strings and the apply script's table.
    { title: "removeCommand: a generation with a command substitution", run: () => removeCommand(dev(), "bigcorp", "$(reboot)"), expect: "throws" },
    { title: "removeCommand: a partner with a space", run: () => removeCommand(dev(), "big corp", "0123456789abcdef"), expect: "throws" },
    { title: "bootstrapCommand: a mode with a command", run: () => bootstrapCommand(dev(), "x; reboot" as never), expect: "throws" },
    {
        title: "apply: a file path with a quote",
        run: () => {
            const r = renderPartner(dev());
            return renderApplyScript(p0(), [{ ...r.files[0], path: "/etc/partner-vpn/bigcorp/nat.rules'; reboot; '" }], r.generation);
        },
        expect: "throws",
    },
    {
        title: "apply: a mode with a command",
        run: () => {
            const r = renderPartner(dev());
            return renderApplyScript(p0(), [{ ...r.files[0], mode: "0644 $(reboot)" }], r.generation);
        },
        expect: "throws",
    },
    {
        title: "apply: a generation with a newline",
        run: () => renderApplyScript(p0(), renderPartner(dev()).files, "0123456789abcdef\nreboot"),
        expect: "throws",
    },

    // PSKs: anything goes, because the key travels base64-encoded and is written base64-encoded.
    ...hostilePsks.flatMap((psk): HostileCase[] => [
        {
            title: `secrets: PSK ${JSON.stringify(psk)}`,
            run: () => render("secrets", p0(), dev(), ADDRESSES, psk),
            expect: "inert",
            check: (out) => {
                expect(out).not.to.include(psk);
                const s = parseSwanctl(out).sections.secrets.sections["ike-pvpn-bigcorp"];
                expect(Object.keys(s.values)).to.deep.equal(["id-local", "id-remote", "secret"]);
                expect(Buffer.from(s.values.secret.replace(/^0s/, ""), "base64").toString("utf8")).to.equal(psk);
            },
        },
        {
            title: `apply: PSK ${JSON.stringify(psk)}`,
            run: () => render("apply", p0(), dev(), ADDRESSES, psk),
            expect: "inert",
            check: (out) => {
                expect(out).not.to.include(psk);
                for (const piece of psk.split(/[\r\n]/).filter((x) => x.length >= 6 && x !== "PVPN_FILE_END")) expect(out).not.to.include(piece);
                // The here-document delimiter occurs only as delimiters, never inside a body.
                const lines = out.split("\n");
                const opens = lines.filter((l) => l.endsWith("<<'PVPN_FILE_END'")).length;
                expect(lines.filter((l) => l === "PVPN_FILE_END").length).to.equal(opens);
            },
        },
    ]),
    {
        title: "secrets: an empty PSK",
        run: () => render("secrets", p0(), dev(), ADDRESSES, ""),
        expect: "throws",
    },
];

describe("renderers with hostile input (validation bypassed)", () => {
    for (const c of cases) {
        it(`${c.expect === "throws" ? "refuses" : "renders inert"} ${c.title}`, () => {
            if (c.expect === "throws") {
                let out: string;
                try {
                    out = c.run();
                } catch (err) {
                    expect(err).to.be.instanceOf(RenderError);
                    return;
                }
                expect.fail(`rendered instead of refusing:\n${out}`);
            } else {
                const out = c.run();
                c.check?.(out);
            }
        });
    }

    it("says what it refused without echoing a PSK", () => {
        try {
            renderSwanctlSecrets(p0(), ADDRESSES, "");
            expect.fail("did not throw");
        } catch (err) {
            expect((err as Error).message).to.include("<redacted>");
        }
    });

    it("names the refused value and what was expected", () => {
        expect(() => renderSwanctl(withPartner(p0(), { privateIp: "1.2.3.4; x" }), ADDRESSES)).to.throw(RenderError, /privateIp: "1\.2\.3\.4; x" is not an IPv4 address/);
    });
});

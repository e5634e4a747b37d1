/**
 * Valid input: both dev stacks validate, the documented defaults (core/config.ts) are filled in,
 * addresses are normalised, and the opt-ins (weak algorithms, documentation ranges, SSH from
 * anywhere) are accepted with the warnings they promise.
 */
import { expect } from "chai";
import { execFileSync } from "child_process";
import { mkdtempSync, readFileSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { DEFAULTS } from "../../core/config";
import type { StackModel } from "../../core/model";
import { formatIssue, validateStackConfig, type ValidationResult } from "../../core/validate";
import {
    DEV_CLASSIC_CONFIG, DEV_CONFIG, TEST_PSK, TEST_PSK_2, TEST_SSH_PRIVATE_KEY, VALID_PSKS, VALID_SECRETS,
    devClassicConfig, devConfig, stackConfigOf,
} from "../fixtures/configs";

function valid(result: ValidationResult): StackModel {
    if (!result.ok) expect.fail(`expected a valid config, got:\n  ${result.errors.map(formatIssue).join("\n  ")}`);
    return result.model;
}

describe("validateStackConfig: valid configs", () => {
    for (const stack of ["dev", "dev-classic"]) {
        it(`validates Pulumi.${stack}.yaml, without and with secrets, with no warnings`, () => {
            const raw = stackConfigOf(stack);
            for (const result of [validateStackConfig(raw), validateStackConfig(raw, VALID_SECRETS)]) {
                valid(result);
                expect(result.warnings.map(formatIssue)).to.deep.equal([]);
            }
        });
    }

    it("keeps the fixtures equal to the stack files", () => {
        expect(stackConfigOf("dev")).to.deep.equal(DEV_CONFIG);
        expect(stackConfigOf("dev-classic")).to.deep.equal(DEV_CLASSIC_CONFIG);
    });

    it("does not modify its input", () => {
        const raw = devConfig();
        const before = JSON.stringify(raw);
        validateStackConfig(raw, VALID_SECRETS);
        expect(JSON.stringify(raw)).to.equal(before);
    });

    it("accepts the fixture PSK map and SSH key, and a second partner with its own key", () => {
        const cfg = devConfig();
        cfg.partners.push({ name: "acme", privateIp: "172.16.0.6", gatewayIp: "120.1.2.3", remoteHosts: ["120.1.3.0/24"] });
        valid(validateStackConfig(cfg, { psks: { bigcorp: TEST_PSK, acme: TEST_PSK_2 }, sshPrivateKey: TEST_SSH_PRIVATE_KEY }));
        expect(VALID_PSKS.bigcorp).to.equal(TEST_PSK);
    });

    it("builds the dev model as the stack file says", () => {
        const model = valid(validateStackConfig(devConfig()));
        expect(model.mode).to.equal("vpc-routing");
        expect(model.network).to.deep.equal({
            vpcId: "vpc-0a1b2c3d4e5f60718",
            subnetId: "subnet-0a1b2c3d4e5f60718",
            subnetCidr: "172.16.0.0/24",
            internalCidrs: ["172.16.0.0/24"],
            routeTableIds: ["rtb-0a1b2c3d4e5f60718"],
        });
        const [p] = model.partners;
        expect(p.remoteHosts).to.deep.equal(["110.220.10.7/32", "110.220.10.135/32"]);
        expect(p.inbound).to.deep.equal([
            { from: ["110.220.10.7/32"], protocol: "all", port: undefined, target: "172.16.0.10", targetPort: undefined },
            { from: ["110.220.10.135/32"], protocol: "all", port: undefined, target: "172.16.0.11", targetPort: undefined },
        ]);
        expect(p.proxies).to.deep.equal([]);
    });

    it("builds the dev-classic model with its proxies", () => {
        const model = valid(validateStackConfig(devClassicConfig()));
        expect(model.mode).to.equal("classic-proxy");
        expect(model.network.routeTableIds).to.deep.equal([]);
        expect(model.partners[0].proxies).to.deep.equal([
            { listenPort: 8080, protocol: "http", remoteHost: "110.220.10.7", remotePort: 80 },
            { listenPort: 8081, protocol: "http", remoteHost: "110.220.10.135", remotePort: 80 },
        ]);
        expect(model.partners[0].inbound).to.deep.equal([]);
    });

    describe("fills the defaults documented in core/config.ts", () => {
        /** A config with only the required fields. */
        function minimal(): ReturnType<typeof devConfig> {
            return {
                mode: "vpc-routing",
                network: { vpcId: "vpc-0a1b2c3d", subnetId: "subnet-0a1b2c3d", subnetCidr: "172.16.0.0/24", internalCidrs: ["172.16.0.0/24"] },
                // The one endpoint setting without a default: how SSH reaches the endpoints.
                endpoint: { bastion: { host: "bastion.example.com", securityGroupId: "sg-0b1c2d3e4f5a60718" } },
                partners: [{
                    name: "bigcorp", privateIp: "172.16.0.5", gatewayIp: "110.220.9.72", remoteHosts: ["110.220.10.7"],
                    inbound: [{ target: "172.16.0.10" }],
                }],
            };
        }
        const model = () => valid(validateStackConfig(minimal()));
        const p = () => model().partners[0];
        const table: [field: string, actual: () => unknown, expected: unknown][] = [
            ["network.routeTableIds", () => model().network.routeTableIds, []],
            ["endpoint.instanceType", () => model().endpoint.instanceType, "t3.micro"],
            ["endpoint.ami", () => model().endpoint.ami, undefined],
            ["endpoint.os", () => model().endpoint.os, "debian-13"],
            ["endpoint.amiOwner", () => model().endpoint.amiOwner, "136693071363"],
            ["endpoint.amiNameFilter", () => model().endpoint.amiNameFilter, "debian-13-amd64-*"],
            ["endpoint.sshUser", () => model().endpoint.sshUser, "admin"],
            ["endpoint.keyName", () => model().endpoint.keyName, undefined],
            ["endpoint.adminCidrs", () => model().endpoint.adminCidrs, []],
            ["endpoint.bastion.user", () => model().endpoint.bastion?.user, "ec2-user"],
            ["endpoint.bastion.port", () => model().endpoint.bastion?.port, 22],
            ["endpoint.rootVolumeGiB", () => model().endpoint.rootVolumeGiB, 8],
            ["endpoint.ipsecDaemon", () => model().endpoint.ipsecDaemon, "strongswan"],
            ["partners[].remoteId", () => p().remoteId, "110.220.9.72"],
            ["partners[].ike.version", () => p().ike.version, 2],
            ["partners[].ike.ikeProposals", () => p().ike.ikeProposals, ["aes256-sha256-modp2048"]],
            ["partners[].ike.espProposals", () => p().ike.espProposals, ["aes256-sha256-modp2048"]],
            ["partners[].ike.ikeLifetime", () => p().ike.ikeLifetime, 28800],
            ["partners[].ike.childLifetime", () => p().ike.childLifetime, 3600],
            ["partners[].ike.dpdDelay", () => p().ike.dpdDelay, 30],
            ["partners[].ike.allowWeakAlgorithms", () => p().ike.allowWeakAlgorithms, false],
            ["partners[].natEip", () => p().natEip, { allocationId: undefined, publicIp: undefined }],
            ["partners[].tunnelEip", () => p().tunnelEip, { allocationId: undefined, publicIp: undefined }],
            ["partners[].proxies", () => p().proxies, []],
            ["partners[].ipsecDaemon", () => p().ipsecDaemon, "strongswan"],
            ["partners[].os", () => p().os, "debian-13"],
            ["partners[].sshUser (derived)", () => p().sshUser, "admin"],
            ["partners[].inbound[].from", () => p().inbound[0].from, ["110.220.10.7/32"]],
            ["partners[].inbound[].protocol", () => p().inbound[0].protocol, "all"],
            ["partners[].inbound[].port", () => p().inbound[0].port, undefined],
            ["partners[].inbound[].targetPort (no port)", () => p().inbound[0].targetPort, undefined],
        ];
        for (const [field, actual, expected] of table) {
            it(`${field} -> ${JSON.stringify(expected) ?? "unset"}`, () => {
                expect(actual()).to.deep.equal(expected);
            });
        }

        it("partners[].inbound[].targetPort -> port when a port is given", () => {
            const cfg = minimal();
            cfg.partners[0].inbound = [{ protocol: "tcp", port: 8443, target: "172.16.0.11" }];
            expect(valid(validateStackConfig(cfg)).partners[0].inbound[0]).to.deep.equal({ from: ["110.220.10.7/32"], protocol: "tcp", port: 8443, target: "172.16.0.11", targetPort: 8443 });
        });

        it("inbound defaults to none", () => {
            const cfg = minimal();
            delete cfg.partners[0].inbound;
            expect(valid(validateStackConfig(cfg)).partners[0].inbound).to.deep.equal([]);
        });

        it("bastion user and port default to ec2-user and 22", () => {
            const cfg = minimal();
            cfg.endpoint = { bastion: { host: "10.0.0.9" }, adminCidrs: ["10.0.0.9/32"] };
            expect(valid(validateStackConfig(cfg)).endpoint.bastion).to.deep.equal({ host: "10.0.0.9", user: "ec2-user", port: 22 });
        });

        it("bastion.securityGroupId is carried when given and absent otherwise", () => {
            const cfg = minimal();
            cfg.endpoint = { bastion: { host: "bastion.example.com", securityGroupId: "sg-0b1c2d3e4f5a60718" } };
            expect(valid(validateStackConfig(cfg)).endpoint.bastion).to.deep.equal({ host: "bastion.example.com", user: "ec2-user", port: 22, securityGroupId: "sg-0b1c2d3e4f5a60718" });
        });

        it("a partner inherits endpoint.ipsecDaemon and may override it", () => {
            const cfg = minimal();
            cfg.endpoint = { ...cfg.endpoint, ipsecDaemon: "libreswan" };
            cfg.partners.push({ name: "acme", privateIp: "172.16.0.6", gatewayIp: "120.1.2.3", remoteHosts: ["120.1.3.0/24"], ipsecDaemon: "strongswan" });
            const m = valid(validateStackConfig(cfg));
            expect(m.partners.map((x) => x.ipsecDaemon)).to.deep.equal(["libreswan", "strongswan"]);
        });

        it("an http proxy's remotePort defaults to 80, a tcp proxy keeps its own", () => {
            const cfg = devClassicConfig();
            delete cfg.partners[0].proxies[0].remotePort;
            delete cfg.partners[0].proxies[0].protocol;
            cfg.partners[0].proxies[1] = { listenPort: 8443, protocol: "tcp", remoteHost: "110.220.10.135", remotePort: 443 };
            const proxies = valid(validateStackConfig(cfg)).partners[0].proxies;
            expect(proxies[0]).to.deep.equal({ listenPort: 8080, protocol: "http", remoteHost: "110.220.10.7", remotePort: DEFAULTS.httpRemotePort });
            expect(proxies[1].remotePort).to.equal(443);
        });

        it("null means unset for optional sections", () => {
            const cfg = minimal();
            cfg.network.routeTableIds = null;
            cfg.partners[0].ike = null;
            const m = valid(validateStackConfig(cfg));
            expect(m.network.routeTableIds).to.deep.equal([]);
            expect(m.partners[0].ike.version).to.equal(DEFAULTS.ikeVersion);
        });
    });

    it("normalises bare hosts to /32 and keeps networks as given", () => {
        const cfg = devConfig();
        cfg.partners[0].remoteHosts = ["110.220.10.7", "110.220.10.135/32", "110.220.11.0/24"];
        cfg.partners[0].inbound = [{ from: ["110.220.11.5"], protocol: "tcp", port: 22, target: "172.16.0.10", targetPort: 2222 }];
        const p = valid(validateStackConfig(cfg)).partners[0];
        expect(p.remoteHosts).to.deep.equal(["110.220.10.7/32", "110.220.10.135/32", "110.220.11.0/24"]);
        expect(p.inbound[0]).to.deep.equal({ from: ["110.220.11.5/32"], protocol: "tcp", port: 22, target: "172.16.0.10", targetPort: 2222 });
    });

    it("validates IKEv1 with weak algorithms when allowWeakAlgorithms is true, warning once per weak proposal", () => {
        const cfg = devConfig();
        cfg.partners[0].ike = {
            version: 1,
            allowWeakAlgorithms: true,
            ikeProposals: ["3des-md5-modp1024", "aes256-sha256-modp2048"],
            espProposals: ["aes128-sha1", "aes256-sha256"],
            ikeLifetime: 86400,
            childLifetime: 28800,
        };
        const result = validateStackConfig(cfg, VALID_SECRETS);
        const ike = valid(result).partners[0].ike;
        expect(ike.version).to.equal(1);
        expect(ike.ikeProposals).to.deep.equal(["3des-md5-modp1024", "aes256-sha256-modp2048"]);
        expect(ike.allowWeakAlgorithms).to.equal(true);
        expect(result.warnings.map((w) => w.path)).to.deep.equal(["partners[0].ike.ikeProposals[0]", "partners[0].ike.espProposals[0]"]);
        expect(result.warnings[0].message).to.include("weak algorithms (3des, md5, modp1024)").and.include("allowWeakAlgorithms is true");
        expect(result.warnings[1].message).to.include("weak algorithms (sha1)");
    });

    it("accepts AEAD proposals with IKEv2", () => {
        const cfg = devConfig();
        cfg.partners[0].ike = { ikeProposals: ["aes256gcm16-prfsha384-ecp384"], espProposals: ["aes256gcm16-ecp384", "chacha20poly1305"] };
        valid(validateStackConfig(cfg));
    });

    it("accepts documentation ranges everywhere a public address is required once allowDocumentationAddresses is true", () => {
        const cfg = devConfig();
        cfg.allowDocumentationAddresses = true;
        cfg.partners[0].gatewayIp = "203.0.113.10";
        cfg.partners[0].remoteHosts = ["198.51.100.0/25", "192.0.2.7"];
        cfg.partners[0].inbound = [{ from: ["192.0.2.7"], target: "172.16.0.10" }];
        cfg.partners[0].natEip = { allocationId: "eipalloc-0123456789abcdef0", publicIp: "203.0.113.20" };
        cfg.partners[0].tunnelEip = { allocationId: "eipalloc-0123456789abcdef1", publicIp: "203.0.113.21" };
        const accepted = validateStackConfig(cfg);
        const p = valid(accepted).partners[0];
        expect(accepted.warnings.map((w) => w.path)).to.deep.equal(["allowDocumentationAddresses"]);
        expect(accepted.warnings[0].message).to.include("for labs and tests only");
        expect(p.gatewayIp).to.equal("203.0.113.10");
        expect(p.natEip).to.deep.equal({ allocationId: "eipalloc-0123456789abcdef0", publicIp: "203.0.113.20" });
        // The other side of the switch: the same config without it is rejected at each address.
        delete cfg.allowDocumentationAddresses;
        const rejected = validateStackConfig(cfg);
        expect(rejected.ok).to.equal(false);
        if (!rejected.ok) {
            expect(rejected.errors.map((e) => e.path)).to.include.members([
                "partners[0].gatewayIp", "partners[0].natEip.publicIp", "partners[0].tunnelEip.publicIp",
            ]);
        }
    });

    it("accepts private partner networks (some partners still use them)", () => {
        const cfg = devConfig();
        cfg.partners[0].remoteHosts = ["10.50.0.0/16"];
        cfg.partners[0].inbound = [];
        valid(validateStackConfig(cfg));
    });

    it("allows adminCidrs 0.0.0.0/0 but warns", () => {
        const cfg = devConfig();
        cfg.endpoint.adminCidrs = ["0.0.0.0/0"];
        const result = validateStackConfig(cfg);
        expect(valid(result).endpoint.adminCidrs).to.deep.equal(["0.0.0.0/0"]);
        expect(result.warnings.map(formatIssue)).to.deep.equal(["endpoint.adminCidrs[0]: SSH is open to the whole internet; prefer your office CIDRs or a bastion"]);
    });

    it("warns when vpc-routing has no route tables at all", () => {
        const cfg = devConfig();
        delete cfg.network.routeTableIds;
        const result = validateStackConfig(cfg);
        valid(result);
        expect(result.warnings.map((w) => w.path)).to.deep.equal(["network.routeTableIds"]);
    });

    it("warns when two partners share a gateway", () => {
        const cfg = devClassicConfig();
        cfg.partners.push({ name: "bigcorp-dr", privateIp: "172.16.0.6", gatewayIp: "110.220.9.72", remoteHosts: ["110.220.20.0/24"], proxies: [{ listenPort: 8080, remoteHost: "110.220.20.7" }] });
        const result = validateStackConfig(cfg);
        valid(result);
        expect(result.warnings.map((w) => w.path)).to.deep.equal(["partners[1].gatewayIp"]);
    });

    it("allows overlapping partner networks in classic-proxy mode (each endpoint is separate)", () => {
        const cfg = devClassicConfig();
        cfg.partners.push({ name: "acme", privateIp: "172.16.0.6", gatewayIp: "120.1.2.3", remoteHosts: ["110.220.10.0/24"], proxies: [{ listenPort: 8080, remoteHost: "110.220.10.7" }] });
        const result = validateStackConfig(cfg);
        valid(result);
        expect(result.warnings).to.deep.equal([]);
    });

    it("warns about a classic-proxy partner without proxies (only inbound traffic can flow)", () => {
        const cfg = devClassicConfig();
        delete cfg.partners[0].proxies;
        cfg.partners[0].inbound = [{ from: ["110.220.10.7"], protocol: "tcp", port: 443, target: "172.16.0.10" }];
        const result = validateStackConfig(cfg);
        valid(result);
        expect(result.warnings.map(formatIssue)).to.deep.equal(["partners[0].proxies: is empty: in classic-proxy mode our instances reach a partner only through proxies, so only partner-initiated inbound traffic will flow"]);
    });

    it("accepts a partner name of exactly 18 characters (the chain name fits 28)", () => {
        const cfg = devConfig();
        cfg.partners[0].name = "bigcorporation-emea".slice(0, 18);
        const name = valid(validateStackConfig(cfg)).partners[0].name;
        expect(`PVPN-${name}-POST`).to.have.length(28);
    });

    it("accepts inbound mappings that differ in port or protocol", () => {
        const cfg = devConfig();
        cfg.partners[0].inbound = [
            { from: ["110.220.10.7"], protocol: "tcp", port: 443, target: "172.16.0.10" },
            { from: ["110.220.10.7"], protocol: "tcp", port: 80, target: "172.16.0.11" },
            { from: ["110.220.10.7"], protocol: "udp", port: 443, target: "172.16.0.12" },
        ];
        valid(validateStackConfig(cfg));
    });

    describe("SSH keys made by ssh-keygen", () => {
        let dir: string;
        before(function () {
            try {
                execFileSync("ssh-keygen", ["-?"], { stdio: "ignore" });
            } catch (e) {
                if ((e as NodeJS.ErrnoException).code === "ENOENT") this.skip();
            }
            dir = mkdtempSync(join(tmpdir(), "partner-vpn-keys-"));
        });
        after(() => dir && rmSync(dir, { recursive: true, force: true }));

        const keygen = (name: string, args: string[]) => {
            execFileSync("ssh-keygen", ["-q", "-C", "partner-vpn-test", "-f", join(dir, name), ...args], { stdio: "ignore" });
            return readFileSync(join(dir, name), "utf8");
        };

        it("accepts an unencrypted ed25519 key and an unencrypted PEM RSA key", () => {
            for (const key of [keygen("ed", ["-t", "ed25519", "-N", ""]), keygen("rsa", ["-t", "rsa", "-b", "2048", "-m", "PEM", "-N", ""])]) {
                valid(validateStackConfig(devConfig(), { psks: VALID_PSKS, sshPrivateKey: key }));
            }
        });

        it("rejects passphrase-protected keys, OpenSSH and PEM, without echoing them", () => {
            for (const key of [keygen("ed-enc", ["-t", "ed25519", "-N", "correct horse battery"]), keygen("rsa-enc", ["-t", "rsa", "-b", "2048", "-m", "PEM", "-N", "correct horse battery"])]) {
                const result = validateStackConfig(devConfig(), { psks: VALID_PSKS, sshPrivateKey: key });
                expect(result.ok).to.equal(false);
                if (result.ok) return;
                expect(result.errors.map(formatIssue)).to.deep.equal(["sshPrivateKey: is encrypted with a passphrase; the remote commands need an unencrypted key"]);
            }
        });
    });
});

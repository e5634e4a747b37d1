/**
 * Hostile and mistaken input: a table of invalid stack configs, each a mutation of a valid dev
 * stack. Every row states the field path(s) that must be reported and a fragment of each
 * message saying what was expected. A row passes only when
 *  - validation returns ok:false without throwing,
 *  - every expected (path, fragment) pair is among the errors, and
 *  - no error names a path outside the expected ones (one mistake, one report: no cascades),
 * and, for rows that pass secrets, no message contains any secret value.
 */
import { expect } from "chai";
import { formatIssue, validateStackConfig, type ValidationIssue } from "../../core/validate";
import { TEST_PSK, TEST_PSK_2, TEST_SSH_PRIVATE_KEY, devClassicConfig, devConfig } from "../fixtures/configs";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Cfg = any;
type Secrets = { psks?: unknown; sshPrivateKey?: unknown };

interface Row {
    readonly desc: string;
    readonly base: "dev" | "classic";
    readonly mutate: (c: Cfg) => void;
    /** Expected errors: exact field path and a fragment of the message. */
    readonly expect: readonly [path: string, fragment: string][];
    /** When set, secrets are validated too (and must never be echoed). */
    readonly secrets?: Secrets;
}

const secrets = (psks: unknown, sshPrivateKey: unknown = TEST_SSH_PRIVATE_KEY): Secrets => ({ psks, sshPrivateKey });
const P = "partners[0]";

/** A second, valid partner for the vpc-routing base config. */
function secondPartner(overrides: Record<string, unknown> = {}): Cfg {
    return { name: "acme", privateIp: "172.16.0.6", gatewayIp: "120.1.2.3", remoteHosts: ["120.1.3.0/24"], ...overrides };
}

const ROWS: readonly Row[] = [
    // --- malformed and out-of-range addresses and CIDRs ---
    { desc: "gatewayIp with three parts", base: "dev", mutate: (c) => { c.partners[0].gatewayIp = "110.220.9"; }, expect: [[`${P}.gatewayIp`, "all four parts"]] },
    { desc: "gatewayIp with an octet above 255", base: "dev", mutate: (c) => { c.partners[0].gatewayIp = "110.220.9.300"; }, expect: [[`${P}.gatewayIp`, "is not an IPv4 address"]] },
    { desc: "privateIp with a leading zero", base: "dev", mutate: (c) => { c.partners[0].privateIp = "172.16.0.05"; }, expect: [[`${P}.privateIp`, "leading zeros"]] },
    { desc: "gatewayIp that is a host name", base: "dev", mutate: (c) => { c.partners[0].gatewayIp = "vpn.bigcorp.example"; }, expect: [[`${P}.gatewayIp`, "is not an IPv4 address (a.b.c.d)"]] },
    { desc: "subnetCidr with prefix /33", base: "dev", mutate: (c) => { c.network.subnetCidr = "172.16.0.0/33"; }, expect: [["network.subnetCidr", "at most 32"]] },
    { desc: "internal CIDR with a leading-zero prefix", base: "dev", mutate: (c) => { c.network.internalCidrs = ["172.16.0.0/024"]; }, expect: [["network.internalCidrs[0]", "leading zero"]] },
    { desc: "internal CIDR with host bits set", base: "dev", mutate: (c) => { c.network.internalCidrs = ["172.16.0.1/24"]; }, expect: [["network.internalCidrs[0]", 'did you mean "172.16.0.0/24"']] },
    { desc: "partner network with host bits set", base: "dev", mutate: (c) => { c.partners[0].remoteHosts = ["110.220.10.0/16"]; c.partners[0].inbound = []; }, expect: [[`${P}.remoteHosts[0]`, 'host bits set; expected a network address, did you mean "110.220.0.0/16"']] },
    { desc: "subnetCidr given as a bare address", base: "dev", mutate: (c) => { c.network.subnetCidr = "172.16.0.0"; }, expect: [["network.subnetCidr", "expected an IPv4 CIDR (a.b.c.d/len)"]] },
    { desc: "subnetCidr larger than an AWS subnet can be", base: "dev", mutate: (c) => { c.network.subnetCidr = "172.16.0.0/12"; }, expect: [["network.subnetCidr", "an AWS subnet is /16 to /28"]] },
    { desc: "remote network written with a netmask", base: "dev", mutate: (c) => { c.partners[0].remoteHosts = ["110.220.10.0 255.255.255.0"]; }, expect: [[`${P}.remoteHosts[0]`, 'write the netmask as a prefix length: "110.220.10.0/24"']] },
    { desc: "two hosts pasted into one list item", base: "dev", mutate: (c) => { c.partners[0].remoteHosts = ["110.220.10.7, 110.220.10.135"]; }, expect: [[`${P}.remoteHosts[0]`, "one address or CIDR per list item"]] },
    { desc: "remoteHosts given as one string instead of a list", base: "dev", mutate: (c) => { c.partners[0].remoteHosts = "110.220.10.7"; }, expect: [[`${P}.remoteHosts`, "expected a list"]] },
    { desc: "an address range instead of a CIDR", base: "dev", mutate: (c) => { c.partners[0].remoteHosts = ["110.220.10.1-110.220.10.20"]; }, expect: [[`${P}.remoteHosts[0]`, "ranges are not supported"]] },
    { desc: "a partner network spanning loopback", base: "dev", mutate: (c) => { c.partners[0].remoteHosts = ["64.0.0.0/2"]; c.partners[0].inbound = []; }, expect: [[`${P}.remoteHosts[0]`, "spans loopback 127.0.0.0/8; expected a routable unicast"]] },

    // --- public addresses required ---
    { desc: "gatewayIp in a private range", base: "dev", mutate: (c) => { c.partners[0].gatewayIp = "10.1.2.3"; }, expect: [[`${P}.gatewayIp`, "is a private address; expected a public IPv4 address"]] },
    { desc: "gatewayIp on loopback", base: "dev", mutate: (c) => { c.partners[0].gatewayIp = "127.0.0.1"; }, expect: [[`${P}.gatewayIp`, "is a loopback address; expected a public IPv4 address"]] },
    { desc: "gatewayIp link-local (the metadata address)", base: "dev", mutate: (c) => { c.partners[0].gatewayIp = "169.254.169.254"; }, expect: [[`${P}.gatewayIp`, "is a link-local address; expected a public"]] },
    { desc: "gatewayIp multicast", base: "dev", mutate: (c) => { c.partners[0].gatewayIp = "224.0.0.5"; }, expect: [[`${P}.gatewayIp`, "is a multicast address; expected a public"]] },
    { desc: "gatewayIp in carrier-grade NAT space", base: "dev", mutate: (c) => { c.partners[0].gatewayIp = "100.64.1.1"; }, expect: [[`${P}.gatewayIp`, "is a shared address; expected a public"]] },
    { desc: "gatewayIp in a documentation range without the opt-in", base: "dev", mutate: (c) => { c.partners[0].gatewayIp = "203.0.113.9"; }, expect: [[`${P}.gatewayIp`, "accepted only with allowDocumentationAddresses: true"]] },
    { desc: "gatewayIp in a documentation range with the opt-in explicitly false", base: "dev", mutate: (c) => { c.allowDocumentationAddresses = false; c.partners[0].gatewayIp = "198.51.100.20"; }, expect: [[`${P}.gatewayIp`, "is a documentation address; expected a public IPv4 address"]] },
    { desc: "natEip publicIp in a documentation range without the opt-in", base: "dev", mutate: (c) => { c.partners[0].natEip = { allocationId: "eipalloc-0123456789abcdef0", publicIp: "198.51.100.7" }; }, expect: [[`${P}.natEip.publicIp`, "allowDocumentationAddresses: true"]] },
    { desc: "tunnelEip publicIp in a private range", base: "dev", mutate: (c) => { c.partners[0].tunnelEip = { allocationId: "eipalloc-0123456789abcdef0", publicIp: "10.0.0.8" }; }, expect: [[`${P}.tunnelEip.publicIp`, "is a private address; expected a public IPv4 address"]] },
    { desc: "gatewayIp written as a /32 CIDR", base: "dev", mutate: (c) => { c.partners[0].gatewayIp = "110.220.9.72/32"; }, expect: [[`${P}.gatewayIp`, 'write it without /32: "110.220.9.72"']] },
    { desc: "gatewayIp with a leading space", base: "dev", mutate: (c) => { c.partners[0].gatewayIp = " 110.220.9.72"; }, expect: [[`${P}.gatewayIp`, "leading or trailing whitespace"]] },
    { desc: "remote host with a zero-width space from an e-mail", base: "dev", mutate: (c) => { c.partners[0].remoteHosts[0] = "110.220.10.7\u200b"; }, expect: [[`${P}.remoteHosts[0]`, "invisible or non-ASCII character (U+200B)"]] },
    { desc: "remote host with a no-break space", base: "dev", mutate: (c) => { c.partners[0].remoteHosts[1] = "110.220.10.135\u00a0"; }, expect: [[`${P}.remoteHosts[1]`, "leading or trailing whitespace"]] },

    // --- overlaps with our side ---
    { desc: "partner network overlapping our internal CIDR", base: "dev", mutate: (c) => { c.partners[0].remoteHosts.push("172.16.0.0/16"); }, expect: [[`${P}.remoteHosts[2]`, "overlaps our internal CIDR 172.16.0.0/24; expected the partner's encryption domain outside"]] },
    { desc: "partner hosts inside a second internal CIDR", base: "dev", mutate: (c) => { c.network.internalCidrs.push("110.220.10.0/24"); }, expect: [[`${P}.remoteHosts[0]`, "overlaps our internal CIDR 110.220.10.0/24"], [`${P}.remoteHosts[1]`, "overlaps our internal CIDR 110.220.10.0/24"]] },
    { desc: "internal CIDRs overlapping each other", base: "dev", mutate: (c) => { c.network.internalCidrs.push("172.16.0.0/16"); }, expect: [["network.internalCidrs[1]", 'overlaps "172.16.0.0/24"']] },
    { desc: "endpoint privateIp outside its subnet", base: "dev", mutate: (c) => { c.partners[0].privateIp = "172.16.1.5"; }, expect: [[`${P}.privateIp`, "outside network.subnetCidr 172.16.0.0/24; expected an address inside it"]] },
    { desc: "endpoint privateIp on an AWS-reserved address", base: "dev", mutate: (c) => { c.partners[0].privateIp = "172.16.0.2"; }, expect: [[`${P}.privateIp`, "first four addresses of 172.16.0.0/24, which AWS reserves"]] },
    { desc: "endpoint privateIp on the subnet's last address", base: "dev", mutate: (c) => { c.partners[0].privateIp = "172.16.0.255"; }, expect: [[`${P}.privateIp`, "last address of 172.16.0.0/24, which AWS reserves"]] },
    { desc: "DNAT target equal to the endpoint's private IP", base: "dev", mutate: (c) => { c.partners[0].inbound[0].target = "172.16.0.5"; }, expect: [[`${P}.inbound[0].target`, "endpoint's own privateIp; expected another instance"]] },
    { desc: "DNAT target outside our internal CIDRs", base: "dev", mutate: (c) => { c.partners[0].inbound[1].target = "10.9.9.9"; }, expect: [[`${P}.inbound[1].target`, "outside network.internalCidrs (172.16.0.0/24); expected one of our own instances"]] },
    { desc: "DNAT target on the VPC router address", base: "dev", mutate: (c) => { c.partners[0].inbound[0].target = "172.16.0.1"; }, expect: [[`${P}.inbound[0].target`, "AWS reserves"]] },
    { desc: "DNAT target on the network address of a wide internal CIDR", base: "dev", mutate: (c) => { c.network.internalCidrs.push("10.20.0.0/16"); c.partners[0].inbound[0].target = "10.20.0.0"; }, expect: [[`${P}.inbound[0].target`, "network or broadcast address of 10.20.0.0/16"]] },
    { desc: "DNAT target on the broadcast address of an internal CIDR", base: "dev", mutate: (c) => { c.network.internalCidrs.push("10.20.0.0/16"); c.partners[0].inbound[0].target = "10.20.255.255"; }, expect: [[`${P}.inbound[0].target`, "network or broadcast address of 10.20.0.0/16"]] },
    { desc: "DNAT target that is another partner's endpoint", base: "dev", mutate: (c) => { c.partners.push(secondPartner()); c.partners[0].inbound[0].target = "172.16.0.6"; }, expect: [[`${P}.inbound[0].target`, "endpoint of partners[1] (acme); expected one of our own instances"]] },

    // --- duplicates and ports ---
    { desc: "duplicate partner names", base: "dev", mutate: (c) => { c.partners.push(secondPartner({ name: "bigcorp" })); }, expect: [["partners[1].name", '"bigcorp" is already used by partners[0]; expected unique partner names']] },
    { desc: "two partners on one endpoint address", base: "dev", mutate: (c) => { c.partners.push(secondPartner({ privateIp: "172.16.0.5" })); }, expect: [["partners[1].privateIp", "already used by partners[0] (bigcorp)"]] },
    { desc: "duplicate proxy listen ports", base: "classic", mutate: (c) => { c.partners[0].proxies[1].listenPort = 8080; }, expect: [[`${P}.proxies[1].listenPort`, "8080 is already used by partners[0].proxies[0]; expected a port of its own"]] },
    { desc: "listen port 0", base: "classic", mutate: (c) => { c.partners[0].proxies[0].listenPort = 0; }, expect: [[`${P}.proxies[0].listenPort`, "is not an integer from 1 to 65535"]] },
    { desc: "listen port 65536", base: "classic", mutate: (c) => { c.partners[0].proxies[0].listenPort = 65536; }, expect: [[`${P}.proxies[0].listenPort`, "is not an integer from 1 to 65535"]] },
    { desc: "listen port 22 (SSH)", base: "classic", mutate: (c) => { c.partners[0].proxies[0].listenPort = 22; }, expect: [[`${P}.proxies[0].listenPort`, "22 is used by the endpoint itself"]] },
    { desc: "listen ports 500 and 4500 (IKE, NAT-T)", base: "classic", mutate: (c) => { c.partners[0].proxies[0].listenPort = 500; c.partners[0].proxies[1].listenPort = 4500; }, expect: [[`${P}.proxies[0].listenPort`, "500 is used by the endpoint itself"], [`${P}.proxies[1].listenPort`, "4500 is used by the endpoint itself"]] },
    { desc: "listen port given as a string", base: "classic", mutate: (c) => { c.partners[0].proxies[0].listenPort = "8080"; }, expect: [[`${P}.proxies[0].listenPort`, "write the number 8080 without quotes"]] },
    { desc: "fractional listen port", base: "classic", mutate: (c) => { c.partners[0].proxies[0].listenPort = 8080.5; }, expect: [[`${P}.proxies[0].listenPort`, "is not an integer from 1 to 65535"]] },
    { desc: "duplicate route table ids", base: "dev", mutate: (c) => { c.network.routeTableIds.push("rtb-0a1b2c3d4e5f60718"); }, expect: [["network.routeTableIds[1]", "duplicates network.routeTableIds[0]"]] },

    // --- mode-specific settings ---
    { desc: "routes configured in classic-proxy mode", base: "classic", mutate: (c) => { c.network.routeTableIds = ["rtb-0a1b2c3d4e5f60718"]; }, expect: [["network.routeTableIds", "not used in classic-proxy mode"]] },
    { desc: "proxies configured in vpc-routing mode", base: "dev", mutate: (c) => { c.partners[0].proxies = [{ listenPort: 8080, remoteHost: "110.220.10.7" }]; }, expect: [[`${P}.proxies`, "only used in classic-proxy mode"]] },
    { desc: "mode in the wrong case", base: "dev", mutate: (c) => { c.mode = "VPC-routing"; }, expect: [["mode", 'did you mean "vpc-routing"?']] },
    { desc: "unknown mode", base: "dev", mutate: (c) => { c.mode = "routing"; }, expect: [["mode", "is not one of vpc-routing, classic-proxy"]] },
    { desc: "overlapping partner networks in vpc-routing mode", base: "dev", mutate: (c) => { c.partners.push(secondPartner({ remoteHosts: ["110.220.10.0/24"] })); }, expect: [["partners[1].remoteHosts[0]", "one route table cannot send both"]] },

    // --- unknown keys and missing fields ---
    { desc: "typo remoteHost for remoteHosts", base: "dev", mutate: (c) => { c.partners[0].remoteHost = c.partners[0].remoteHosts; delete c.partners[0].remoteHosts; }, expect: [[`${P}.remoteHost`, 'unknown key; did you mean "remoteHosts"?'], [`${P}.remoteHosts`, "is required"]] },
    { desc: "typo ikeProposal in ike", base: "dev", mutate: (c) => { c.partners[0].ike.ikeProposal = ["aes256-sha256-modp2048"]; }, expect: [[`${P}.ike.ikeProposal`, 'did you mean "ikeProposals"?']] },
    { desc: "subnetCIDR in the wrong case", base: "dev", mutate: (c) => { c.network.subnetCIDR = c.network.subnetCidr; delete c.network.subnetCidr; }, expect: [["network.subnetCIDR", 'did you mean "subnetCidr"'], ["network.subnetCidr", "is required"]] },
    { desc: "unknown top-level key without a near match", base: "dev", mutate: (c) => { c.region = "eu-west-1"; }, expect: [["region", "unknown key; known keys: mode, network"]] },
    { desc: "missing gatewayIp", base: "dev", mutate: (c) => { delete c.partners[0].gatewayIp; }, expect: [[`${P}.gatewayIp`, "is required; expected an IPv4 address"]] },
    { desc: "missing network.vpcId", base: "dev", mutate: (c) => { delete c.network.vpcId; }, expect: [["network.vpcId", "is required; expected a VPC id"]] },
    { desc: "missing mode", base: "dev", mutate: (c) => { delete c.mode; }, expect: [["mode", "is required (one of vpc-routing, classic-proxy)"]] },
    { desc: "missing partners", base: "dev", mutate: (c) => { delete c.partners; }, expect: [["partners", "is required (a list of at least 1)"]] },
    { desc: "empty partner list", base: "dev", mutate: (c) => { c.partners = []; }, expect: [["partners", "expected at least 1 item"]] },
    { desc: "empty remoteHosts", base: "dev", mutate: (c) => { c.partners[0].remoteHosts = []; }, expect: [[`${P}.remoteHosts`, "expected at least 1 item"]] },
    { desc: "missing DNAT target", base: "dev", mutate: (c) => { delete c.partners[0].inbound[0].target; }, expect: [[`${P}.inbound[0].target`, "is required"]] },
    { desc: "tcp proxy without remotePort", base: "classic", mutate: (c) => { c.partners[0].proxies[0].protocol = "tcp"; delete c.partners[0].proxies[0].remotePort; }, expect: [[`${P}.proxies[0].remotePort`, "is required (an integer from 1 to 65535)"]] },

    // --- IKE ---
    { desc: "IKE version 3", base: "dev", mutate: (c) => { c.partners[0].ike.version = 3; }, expect: [[`${P}.ike.version`, "is not one of 1, 2"]] },
    { desc: "IKE version as the string \"2\"", base: "dev", mutate: (c) => { c.partners[0].ike.version = "2"; }, expect: [[`${P}.ike.version`, "write the number 2 without quotes"]] },
    { desc: "IKE version \"IKEv2\"", base: "dev", mutate: (c) => { c.partners[0].ike.version = "IKEv2"; }, expect: [[`${P}.ike.version`, "is not one of 1, 2"]] },
    { desc: "unknown IKE algorithm", base: "dev", mutate: (c) => { c.partners[0].ike.ikeProposals = ["aes256-sha256-modp2047"]; }, expect: [[`${P}.ike.ikeProposals[0]`, "valid keywords are: aes128, aes192, aes256"]] },
    { desc: "misspelled ESP integrity", base: "dev", mutate: (c) => { c.partners[0].ike.espProposals = ["aes256-sha265"]; }, expect: [[`${P}.ike.espProposals[0]`, 'unknown algorithm "sha265" (did you mean "sha256"?)']] },
    { desc: "upper-case ESP keywords", base: "dev", mutate: (c) => { c.partners[0].ike.espProposals = ["AES256-sha256"]; }, expect: [[`${P}.ike.espProposals[0]`, "keywords are lowercase"]] },
    { desc: "Libreswan proposal syntax", base: "dev", mutate: (c) => { c.partners[0].ike.ikeProposals = ["aes256-sha2_256;modp2048"]; }, expect: [[`${P}.ike.ikeProposals[0]`, "join keywords with '-' only"]] },
    { desc: "Cisco group name for a DH group", base: "dev", mutate: (c) => { c.partners[0].ike.ikeProposals = ["aes256-sha256-group14"]; }, expect: [[`${P}.ike.ikeProposals[0]`, 'did you mean "modp2048"?']] },
    { desc: "IKE proposal without a DH group", base: "dev", mutate: (c) => { c.partners[0].ike.ikeProposals = ["aes256-sha256"]; }, expect: [[`${P}.ike.ikeProposals[0]`, "needs a Diffie-Hellman group"]] },
    { desc: "weak DH modp1024 without the opt-in", base: "dev", mutate: (c) => { c.partners[0].ike.ikeProposals = ["aes256-sha256-modp1024"]; }, expect: [[`${P}.ike.ikeProposals[0]`, "weak algorithms (modp1024); expected strong ones agreed with the partner, or set ike.allowWeakAlgorithms: true"]] },
    { desc: "weak sha1 without the opt-in", base: "dev", mutate: (c) => { c.partners[0].ike.espProposals = ["aes128-sha1"]; }, expect: [[`${P}.ike.espProposals[0]`, "weak algorithms (sha1)"]] },
    { desc: "weak 3des and md5 without the opt-in", base: "dev", mutate: (c) => { c.partners[0].ike.ikeProposals = ["3des-md5-modp2048"]; c.partners[0].ike.espProposals = ["3des-sha256"]; }, expect: [[`${P}.ike.ikeProposals[0]`, "weak algorithms (3des, md5)"], [`${P}.ike.espProposals[0]`, "weak algorithms (3des)"]] },
    { desc: "IKEv1 with an AEAD phase 1 proposal", base: "dev", mutate: (c) => { c.partners[0].ike.version = 1; c.partners[0].ike.ikeProposals = ["aes256gcm16-prfsha256-modp2048"]; }, expect: [[`${P}.ike.ikeProposals[0]`, "IKEv1 cannot use AEAD"]] },
    { desc: "duplicate proposals", base: "dev", mutate: (c) => { c.partners[0].ike.espProposals = ["aes256-sha256", "aes256-sha256"]; }, expect: [[`${P}.ike.espProposals[1]`, "duplicates partners[0].ike.espProposals[0]"]] },
    { desc: "ikeLifetime below 300", base: "dev", mutate: (c) => { c.partners[0].ike.ikeLifetime = 60; }, expect: [[`${P}.ike.ikeLifetime`, "is not an integer from 300 to 86400"]] },
    { desc: "childLifetime above 86400", base: "dev", mutate: (c) => { c.partners[0].ike.childLifetime = 100000; }, expect: [[`${P}.ike.childLifetime`, "is not an integer from 300 to 86400"]] },
    { desc: "childLifetime longer than ikeLifetime", base: "dev", mutate: (c) => { c.partners[0].ike.ikeLifetime = 3600; c.partners[0].ike.childLifetime = 7200; }, expect: [[`${P}.ike.childLifetime`, "exceeds ikeLifetime 3600; expected a phase 2 lifetime of at most"]] },
    { desc: "lifetime written as 8h", base: "dev", mutate: (c) => { c.partners[0].ike.ikeLifetime = "8h"; }, expect: [[`${P}.ike.ikeLifetime`, "give a plain number of seconds"]] },
    { desc: "dpdDelay of 2 seconds", base: "dev", mutate: (c) => { c.partners[0].ike.dpdDelay = 2; }, expect: [[`${P}.ike.dpdDelay`, "expected 0 (off) or 5 to 300 seconds"]] },
    { desc: "allowWeakAlgorithms as the string \"true\"", base: "dev", mutate: (c) => { c.partners[0].ike.allowWeakAlgorithms = "true"; }, expect: [[`${P}.ike.allowWeakAlgorithms`, "write true without quotes"]] },

    // --- PSKs and the SSH key ---
    { desc: "PSK shorter than 20", base: "dev", mutate: () => undefined, secrets: secrets({ bigcorp: "Zx8Qw2Lp9Rt" }), expect: [["psks.bigcorp", "is 11 characters; expected at least 20"]] },
    { desc: "PSK longer than 64", base: "dev", mutate: () => undefined, secrets: secrets({ bigcorp: "Ab3".repeat(22) }), expect: [["psks.bigcorp", "is 66 characters; expected at most 64"]] },
    { desc: "PSK with a double quote", base: "dev", mutate: () => undefined, secrets: secrets({ bigcorp: 'Tq7vR2mX9kLp4sWz"8nBc3fHd6' }), expect: [["psks.bigcorp", "contains a quote; expected printable ASCII without quotes"]] },
    { desc: "PSK with a single quote", base: "dev", mutate: () => undefined, secrets: secrets({ bigcorp: "Tq7vR2mX9kLp4sWz'8nBc3fHd6" }), expect: [["psks.bigcorp", "contains a quote"]] },
    { desc: "PSK with a trailing newline", base: "dev", mutate: () => undefined, secrets: secrets({ bigcorp: `${TEST_PSK}\n` }), expect: [["psks.bigcorp", "contains a line break"]] },
    { desc: "PSK with a non-printable character", base: "dev", mutate: () => undefined, secrets: secrets({ bigcorp: "Tq7vR2mX9kLp4sWz\u00078nBc3fHd6" }), expect: [["psks.bigcorp", "non-printable characters; expected printable ASCII"]] },
    { desc: "PSK with a space", base: "dev", mutate: () => undefined, secrets: secrets({ bigcorp: "Tq7vR2mX9kLp 4sWz8nBc3fHd6" }), expect: [["psks.bigcorp", "contains spaces"]] },
    { desc: "PSK equal to the seed's example", base: "dev", mutate: () => undefined, secrets: secrets({ bigcorp: "MySuperSecureSecret" }), expect: [["psks.bigcorp", "well-known example value; expected a random key"]] },
    { desc: "PSK containing the seed's example", base: "dev", mutate: () => undefined, secrets: secrets({ bigcorp: "Xy-MySuperSecureSecret-2024" }), expect: [["psks.bigcorp", "well-known example value"]] },
    { desc: "PSK of one repeated character", base: "dev", mutate: () => undefined, secrets: secrets({ bigcorp: "a".repeat(30) }), expect: [["psks.bigcorp", "fewer than 6 distinct characters"]] },
    { desc: "PSK missing for a partner", base: "dev", mutate: () => undefined, secrets: secrets({}), expect: [["psks.bigcorp", "is missing; run: pulumi config set --secret --path 'psks.bigcorp'"]] },
    { desc: "PSK for an unknown partner", base: "dev", mutate: () => undefined, secrets: secrets({ bigcorp: TEST_PSK, bigcrop: TEST_PSK_2 }), expect: [["psks.bigcrop", 'did you mean "bigcorp"?']] },
    { desc: "psks set to the key itself instead of an object", base: "dev", mutate: () => undefined, secrets: secrets(TEST_PSK), expect: [["psks", "expected an object (partner name -> key), got a string"]] },
    { desc: "PSK given as a number", base: "dev", mutate: () => undefined, secrets: secrets({ bigcorp: 123456789012345 }), expect: [["psks.bigcorp", "expected a string, got a number"]] },
    { desc: "one PSK shared by two partners", base: "dev", mutate: (c) => { c.partners.push(secondPartner()); }, secrets: secrets({ bigcorp: TEST_PSK, acme: TEST_PSK }), expect: [["psks.acme", "is the same key as psks.bigcorp; give each partner its own key"]] },
    { desc: "PSK placed in the plain partner list", base: "dev", mutate: (c) => { c.partners[0].psk = TEST_PSK; }, secrets: secrets({ bigcorp: TEST_PSK }), expect: [[`${P}.psk`, "does not belong in the plain partner list"]] },
    { desc: "PSK placed in the plain list as preSharedKey", base: "classic", mutate: (c) => { c.partners[0].preSharedKey = TEST_PSK; }, secrets: secrets({ bigcorp: TEST_PSK }), expect: [[`${P}.preSharedKey`, "expected it in the secret psks object"]] },
    { desc: "PSK placed in the plain list as PSK", base: "dev", mutate: (c) => { c.partners[0].PSK = TEST_PSK; }, secrets: secrets({ bigcorp: TEST_PSK }), expect: [[`${P}.PSK`, "does not belong in the plain partner list"]] },
    { desc: "secret keys passed inside the plain config", base: "dev", mutate: (c) => { c.psks = { bigcorp: TEST_PSK }; c.sshPrivateKey = TEST_SSH_PRIVATE_KEY; }, expect: [["psks", "is a secret key and does not belong in the plain config"], ["sshPrivateKey", "is a secret key"]] },
    { desc: "missing SSH private key", base: "dev", mutate: () => undefined, secrets: { psks: { bigcorp: TEST_PSK } }, expect: [["sshPrivateKey", "is required"]] },
    { desc: "SSH public key instead of the private key", base: "dev", mutate: () => undefined, secrets: secrets({ bigcorp: TEST_PSK }, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKE test"), expect: [["sshPrivateKey", "is a public key; expected the private key"]] },
    { desc: "passphrase-protected PEM key", base: "dev", mutate: () => undefined, secrets: secrets({ bigcorp: TEST_PSK }, "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00000000000000000000000000000000\n\nRkFLRQ==\n-----END RSA PRIVATE KEY-----\n"), expect: [["sshPrivateKey", "encrypted with a passphrase"]] },
    { desc: "SSH key with literal \\n sequences", base: "dev", mutate: () => undefined, secrets: secrets({ bigcorp: TEST_PSK }, TEST_SSH_PRIVATE_KEY.replace(/\n/g, "\\n")), expect: [["sshPrivateKey", 'literal "\\n" sequences']] },

    // --- partner names ---
    { desc: "partner name in upper case", base: "dev", mutate: (c) => { c.partners[0].name = "BigCorp"; }, expect: [[`${P}.name`, 'did you mean "bigcorp"?']] },
    { desc: "partner name with an underscore", base: "dev", mutate: (c) => { c.partners[0].name = "big_corp"; }, expect: [[`${P}.name`, 'is not a lowercase DNS label of at most 18 characters']] },
    { desc: "partner name of 19 characters", base: "dev", mutate: (c) => { c.partners[0].name = "bigcorporation-emea"; }, expect: [[`${P}.name`, "at most 18 characters (letters, digits, '-'; it names iptables chains PVPN-<name>-POST); it is 19 characters"]] },
    { desc: "partner name with a trailing newline", base: "dev", mutate: (c) => { c.partners[0].name = "bigcorp\n"; }, expect: [[`${P}.name`, "leading or trailing whitespace"]] },
    { desc: "partner name starting with a digit", base: "dev", mutate: (c) => { c.partners[0].name = "1corp"; }, expect: [[`${P}.name`, "is not a lowercase DNS label"]] },
    { desc: "partner name ending with a hyphen", base: "dev", mutate: (c) => { c.partners[0].name = "bigcorp-"; }, expect: [[`${P}.name`, "is not a lowercase DNS label"]] },

    // --- pasted from a partner's e-mail ---
    { desc: "one host listed bare and as /32", base: "dev", mutate: (c) => { c.partners[0].remoteHosts.push("110.220.10.7/32"); }, expect: [[`${P}.remoteHosts[2]`, '"110.220.10.7/32" duplicates partners[0].remoteHosts[0]; list each partner host or network once']] },
    { desc: "a host inside a network listed too", base: "dev", mutate: (c) => { c.partners[0].remoteHosts.push("110.220.10.0/24"); }, expect: [[`${P}.remoteHosts[2]`, 'overlaps "110.220.10.7/32"']] },
    { desc: "remote host equal to the partner's gateway", base: "dev", mutate: (c) => { c.partners[0].remoteHosts.push("110.220.9.72"); }, expect: [[`${P}.remoteHosts[2]`, "contains the partner's gatewayIp 110.220.9.72; expected the encryption domain to exclude the VPN gateway"]] },
    { desc: "remote network containing the partner's gateway", base: "dev", mutate: (c) => { c.partners[0].remoteHosts.push("110.220.9.0/24"); }, expect: [[`${P}.remoteHosts[2]`, "contains the partner's gatewayIp"]] },
    { desc: "gateway inside our own subnet", base: "dev", mutate: (c) => { c.network.subnetCidr = "110.220.9.0/24"; c.partners[0].privateIp = "110.220.9.5"; }, expect: [[`${P}.gatewayIp`, "is inside our own 110.220.9.0/24"]] },
    { desc: "inbound from a host outside remoteHosts", base: "dev", mutate: (c) => { c.partners[0].inbound[0].from = ["110.220.11.1"]; }, expect: [[`${P}.inbound[0].from[0]`, "is not inside this partner's remoteHosts; expected one of 110.220.10.7/32, 110.220.10.135/32"]] },
    { desc: "inbound from left empty", base: "dev", mutate: (c) => { c.partners[0].inbound[0].from = null; }, expect: [[`${P}.inbound[0].from`, "is empty; expected a list of partner hosts"]] },
    { desc: "proxy to a host not in remoteHosts", base: "classic", mutate: (c) => { c.partners[0].proxies[1].remoteHost = "110.220.10.136"; }, expect: [[`${P}.proxies[1].remoteHost`, "is not inside this partner's remoteHosts; expected one of 110.220.10.7, 110.220.10.135"]] },
    { desc: "proxy to the network address of a partner network", base: "classic", mutate: (c) => { c.partners[0].remoteHosts.push("110.220.11.0/24"); c.partners[0].proxies[0].remoteHost = "110.220.11.0"; }, expect: [[`${P}.proxies[0].remoteHost`, "network or broadcast address of 110.220.11.0/24; expected a host"]] },
    { desc: "proxy remoteHost written as a CIDR", base: "classic", mutate: (c) => { c.partners[0].proxies[0].remoteHost = "110.220.10.7/32"; }, expect: [[`${P}.proxies[0].remoteHost`, 'write it without /32: "110.220.10.7"']] },
    { desc: "proxy protocol https", base: "classic", mutate: (c) => { c.partners[0].proxies[0].protocol = "https"; }, expect: [[`${P}.proxies[0].protocol`, "expected protocol tcp"]] },
    { desc: "targetPort without port", base: "dev", mutate: (c) => { c.partners[0].inbound[0].targetPort = 8443; }, expect: [[`${P}.inbound[0].targetPort`, "needs port (the port on the NAT address that maps to it)"]] },
    { desc: "port with protocol all", base: "dev", mutate: (c) => { c.partners[0].inbound[0].port = 443; }, expect: [[`${P}.inbound[0].port`, "a port needs protocol tcp or udp"]] },
    { desc: "two inbound mappings for the same traffic", base: "dev", mutate: (c) => { c.partners[0].inbound.push({ from: ["110.220.10.7"], protocol: "tcp", port: 443, target: "172.16.0.12" }); }, expect: [[`${P}.inbound[2]`, "matches the same partner traffic as partners[0].inbound[0]"]] },
    { desc: "admin CIDR given as a bare address", base: "dev", mutate: (c) => { c.endpoint.adminCidrs = ["198.18.0.1"]; }, expect: [["endpoint.adminCidrs[0]", "is a bare address; expected an IPv4 CIDR"]] },
    { desc: "admin CIDR 0.0.0.0/1 (half the internet and loopback)", base: "dev", mutate: (c) => { c.endpoint.adminCidrs = ["0.0.0.0/1"]; }, expect: [["endpoint.adminCidrs[0]", "expected a unicast IPv4 CIDR (or 0.0.0.0/0)"]] },
    { desc: "allowDocumentationAddresses as a string", base: "dev", mutate: (c) => { c.allowDocumentationAddresses = "true"; }, expect: [["allowDocumentationAddresses", "write true without quotes"]] },
    { desc: "bastion host with the user in it", base: "dev", mutate: (c) => { c.endpoint.bastion.host = "ec2-user@bastion.dev.example.com"; }, expect: [["endpoint.bastion.host", "put the user in endpoint.bastion.user"]] },
    { desc: "bastion host that is an invalid address", base: "dev", mutate: (c) => { c.endpoint.bastion.host = "10.0.0.300"; }, expect: [["endpoint.bastion.host", "is not a host name or IPv4 address"]] },
    { desc: "bastion security group given by name", base: "dev", mutate: (c) => { c.endpoint.bastion.securityGroupId = "bastion-sg"; }, expect: [["endpoint.bastion.securityGroupId", "is not a security group id (sg- and 8 or 17 hex digits)"]] },
    { desc: "truncated VPC id", base: "dev", mutate: (c) => { c.network.vpcId = "vpc-0a1b2c3d4e5f6071"; }, expect: [["network.vpcId", "vpc- and 8 or 17 hex digits"]] },
    { desc: "remoteId that is a malformed address", base: "dev", mutate: (c) => { c.partners[0].remoteId = "110.220.9.720"; }, expect: [[`${P}.remoteId`, "is not an IPv4 address; expected an IKE identity"]] },
    { desc: "EIP publicIp without allocationId", base: "dev", mutate: (c) => { c.partners[0].natEip = { publicIp: "52.1.2.3" }; }, expect: [[`${P}.natEip.publicIp`, "is only meaningful with allocationId"]] },
    { desc: "one allocation for both Elastic IPs", base: "dev", mutate: (c) => { c.partners[0].natEip = { allocationId: "eipalloc-0123456789abcdef0" }; c.partners[0].tunnelEip = { allocationId: "eipalloc-0123456789abcdef0" }; }, expect: [[`${P}.natEip.allocationId`, "expected different allocations"]] },
    { desc: "gateway equal to our own tunnel Elastic IP", base: "dev", mutate: (c) => { c.partners[0].tunnelEip = { allocationId: "eipalloc-0123456789abcdef0", publicIp: "110.220.9.72" }; }, expect: [[`${P}.gatewayIp`, "is one of our own Elastic IPs"]] },
    { desc: "root volume below 8 GiB", base: "dev", mutate: (c) => { c.endpoint.rootVolumeGiB = 4; }, expect: [["endpoint.rootVolumeGiB", "is not an integer from 8 to 1024"]] },
    { desc: "unknown IPsec daemon", base: "dev", mutate: (c) => { c.partners[0].ipsecDaemon = "openswan"; }, expect: [[`${P}.ipsecDaemon`, "is not one of strongswan, libreswan"]] },
    { desc: "path MTU above what an internet gateway carries", base: "dev", mutate: (c) => { c.partners[0].pathMtu = 9001; }, expect: [[`${P}.pathMtu`, "is not an integer from 1280 to 1500"]] },
    { desc: "path MTU given as text", base: "dev", mutate: (c) => { c.partners[0].pathMtu = "1460"; }, expect: [[`${P}.pathMtu`, "write the number 1460 without quotes"]] },

    // --- several independent mistakes in one config: every one is reported ---
    {
        desc: "five independent mistakes across sections",
        base: "dev",
        mutate: (c) => {
            delete c.network.subnetId;
            c.endpoint.rootVolumeGiB = 2;
            c.partners[0].name = "Big";
            c.partners[0].gatewayIp = "10.1.1.1";
            c.partners[0].ike.version = 3;
        },
        expect: [
            ["network.subnetId", "is required"],
            ["endpoint.rootVolumeGiB", "is not an integer from 8 to 1024"],
            [`${P}.name`, 'did you mean "big"?'],
            [`${P}.gatewayIp`, "expected a public IPv4 address"],
            [`${P}.ike.version`, "is not one of 1, 2"],
        ],
    },
    {
        desc: "classic stack with routes, a reserved port, a clashing port, a weak proposal and bad secrets",
        base: "classic",
        mutate: (c) => {
            c.network.routeTableIds = ["rtb-0a1b2c3d"];
            c.partners[0].proxies[0].listenPort = 4500;
            c.partners[0].proxies.push({ listenPort: 8081, remoteHost: "110.220.10.7" });
            c.partners[0].ike.espProposals = ["aes128-sha1"];
        },
        secrets: secrets({ bigcorp: "short" }, "not a key"),
        expect: [
            ["network.routeTableIds", "not used in classic-proxy mode"],
            [`${P}.proxies[0].listenPort`, "4500 is used by the endpoint itself"],
            [`${P}.proxies[2].listenPort`, "8081 is already used by partners[0].proxies[1]"],
            [`${P}.ike.espProposals[0]`, "weak algorithms (sha1)"],
            ["psks.bigcorp", "expected at least 20"],
            ["sshPrivateKey", "is not a PEM or OpenSSH private key"],
        ],
    },
    {
        desc: "a bad route table id does not hide partner mistakes",
        base: "dev",
        mutate: (c) => {
            c.network.routeTableIds = ["rtb-nothex"];
            c.partners[0].remoteHosts = ["300.1.1.1", "172.16.0.0/24"];
            c.partners[0].gatewayIp = "10.1.2.3";
        },
        expect: [
            ["network.routeTableIds[0]", "is not a route table id (rtb- and 8 or 17 hex digits)"],
            [`${P}.remoteHosts[0]`, "an octet is above 255"],
            [`${P}.remoteHosts[1]`, "overlaps our internal CIDR 172.16.0.0/24"],
            [`${P}.gatewayIp`, "is a private address"],
        ],
    },
    {
        desc: "two partners each with their own mistakes, plus a top-level typo",
        base: "dev",
        mutate: (c) => {
            c.partner = {};
            c.partners[0].remoteHosts.push("172.16.0.128/25");
            c.partners[0].inbound[1].target = "192.168.1.1";
            c.partners.push(secondPartner({ name: "acme_ltd", privateIp: "172.16.1.6", ike: { ikeProposals: ["aes256-sha256-ecp265"] } }));
        },
        expect: [
            ["partner", 'did you mean "partners"?'],
            [`${P}.remoteHosts[2]`, "overlaps our internal CIDR 172.16.0.0/24"],
            [`${P}.inbound[1].target`, "outside network.internalCidrs"],
            ["partners[1].name", 'did you mean "acme-ltd"?'],
            ["partners[1].privateIp", "outside network.subnetCidr"],
            ["partners[1].ike.ikeProposals[0]", 'unknown algorithm "ecp265"'],
        ],
    },
];

function run(row: Row): { errors: readonly ValidationIssue[]; warnings: readonly ValidationIssue[]; ok: boolean } {
    const cfg = row.base === "dev" ? devConfig() : devClassicConfig();
    row.mutate(cfg);
    const result = validateStackConfig(cfg, row.secrets);
    return { ok: result.ok, errors: result.ok ? [] : result.errors, warnings: result.warnings };
}

function secretValues(s: Secrets | undefined): string[] {
    if (!s) return [];
    const out: string[] = [];
    if (typeof s.psks === "string") out.push(s.psks);
    if (s.psks && typeof s.psks === "object") out.push(...Object.values(s.psks).map(String));
    if (typeof s.sshPrivateKey === "string") out.push(...s.sshPrivateKey.split("\n").filter((l) => l.length >= 8 && !l.startsWith("-----")));
    return out.filter((v) => v.length >= 5);
}

describe("validateStackConfig: invalid configs", () => {
    const rows = ROWS.filter((r) => r.expect.length > 0);

    it("has at least 40 distinct invalid configs, each with a description", () => {
        expect(rows.length).to.be.at.least(40);
        expect(new Set(rows.map((r) => r.desc)).size).to.equal(rows.length);
    });

    for (const row of rows) {
        it(`rejects: ${row.desc}`, () => {
            let result: ReturnType<typeof run> | undefined;
            expect(() => (result = run(row)), "validation must not throw").not.to.throw();
            const { ok, errors, warnings } = result!;
            const listing = errors.map(formatIssue).join("\n    ");
            expect(ok, "ok").to.equal(false);
            for (const [path, fragment] of row.expect) {
                const hit = errors.find((e) => e.path === path && e.message.includes(fragment));
                expect(hit, `expected an error at ${path} containing ${JSON.stringify(fragment)}; got:\n    ${listing}`).to.not.equal(undefined);
            }
            const expectedPaths = new Set(row.expect.map(([path]) => path));
            const stray = errors.filter((e) => !expectedPaths.has(e.path));
            expect(stray.map(formatIssue), `unexpected extra errors (cascades?); all errors:\n    ${listing}`).to.deep.equal([]);
            for (const secret of secretValues(row.secrets)) {
                for (const issue of [...errors, ...warnings]) {
                    expect(formatIssue(issue), "a message echoes a secret").not.to.include(secret);
                }
            }
        });
    }

    it("reports a config that is not an object at the root path, without throwing", () => {
        for (const raw of [undefined, null, "mode: vpc-routing", 42, [], true]) {
            const result = validateStackConfig(raw);
            expect(result.ok).to.equal(false);
            if (!result.ok) expect(result.errors[0].path).to.equal("partner-vpn");
        }
    });

    it("never echoes a PSK, even when it lands in an unexpected place", () => {
        const psk = "Zk3xQ9vLm2Pw8rT5yN7bC4dF";
        const cases: Secrets[] = [
            { psks: psk, sshPrivateKey: psk },
            { psks: [psk], sshPrivateKey: [psk] },
            { psks: { bigcorp: `${psk}"` }, sshPrivateKey: `-----BEGIN OPENSSH PRIVATE KEY-----\n${psk}\n-----END OPENSSH PRIVATE KEY-----\n` },
            { psks: { bigcorp: { value: psk } }, sshPrivateKey: 123 },
            { psks: { bigcorp: `${psk}${psk}${psk}` } },
        ];
        for (const s of cases) {
            const result = validateStackConfig(devConfig(), s);
            expect(result.ok).to.equal(false);
            for (const issue of [...(result.ok ? [] : result.errors), ...result.warnings]) {
                expect(formatIssue(issue)).not.to.include(psk);
            }
        }
    });
});

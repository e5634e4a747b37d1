/**
 * The partner handoff sheet: everything the partner's network team configures, with the values
 * from the stack file, and nothing they must not see (the PSK, our private addresses and ids).
 */
import { expect } from "chai";
import { spellProposal } from "../../plan/algorithmNames";
import { duration, handoffSheet } from "../../plan/handoff";
import { containsSecret, PlaceholderSecrets } from "../../plan/placeholderSecrets";
import { editStack, partnersOf, planText, runInProcess, stackText } from "./helpers";

async function sheetFor(text: string, secrets = new PlaceholderSecrets(), stack = "dev"): Promise<string> {
    const outcome = await planText(text, secrets, stack);
    if (!outcome.ok) throw new Error("invalid test config");
    const partner = outcome.model.partners[0];
    return handoffSheet(outcome.model, partner, outcome.plan.partners[0], stack);
}

describe("plan --handoff", () => {
    it("spells proposals out in the notation partners' devices use", () => {
        expect(spellProposal("ike", "aes256-sha256-modp2048", 2)).to.equal("AES-256 / SHA-256 / DH group 14 (modp2048)");
        expect(spellProposal("esp", "aes256-sha256-modp2048", 2)).to.equal("AES-256 / SHA-256 / PFS DH group 14 (modp2048)");
        expect(spellProposal("esp", "aes256gcm16", 2)).to.equal("AES-256-GCM (16-byte ICV) / no PFS");
        expect(spellProposal("ike", "aes128gcm16-prfsha256-ecp256", 2)).to.equal("AES-128-GCM (16-byte ICV) / PRF HMAC-SHA-256 / DH group 19 (ecp256)");
        expect(duration(28800)).to.equal("28800 s (8 h)");
        expect(duration(5400)).to.equal("5400 s (1 h 30 min)");
    });

    it("states what the partner must mirror (initiator, DPD, PFS, lifetimes, MSS, one SA per pair) in four vendors' terms", async () => {
        const sheet = await sheetFor(stackText("dev"));
        expect(sheet).to.include("| Who initiates | we initiate every tunnel and every rekey | answer only (responder)");
        expect(sheet).to.include("| Dead peer detection | on, every 30 s |");
        expect(sheet).to.include("| PFS (phase 2) | yes: modp2048 |");
        expect(sheet).to.include("| Lifetimes | IKE 28800 s, IPsec 3600 s (we rekey at 90%) |");
        // aes256-sha256 on a 1500-byte path: 1422-byte inner packets (core/render/mss.ts).
        expect(sheet).to.include("| TCP MSS | clamped to 1382 on our gateway, both directions | clamp to 1382 or lower");
        expect(sheet).to.include("one SA per pair, no supernet");
        for (const vendor of ["Cisco ASA", "Palo Alto Networks", "Fortinet FortiGate", "Check Point"]) expect(sheet).to.include(`**${vendor}**`);
        expect(sheet).to.include("set connection-type answer-only");
        expect(sheet).not.to.include("your side may initiate as well");
    });

    it("holds the partner's values from the stack file and points to the outputs for unknown addresses", async () => {
        const sheet = await sheetFor(stackText("dev"));
        expect(sheet).to.match(/^# IPsec VPN handoff: bigcorp$/m);
        expect(sheet).to.include("| VPN gateway (public IP) | **to be filled in** (see below the table) | `110.220.9.72` |");
        expect(sheet).to.include("`110.220.10.7/32`, `110.220.10.135/32`");
        expect(sheet).to.include("IKE version: IKEv2");
        expect(sheet).to.include("1. `aes256-sha256-modp2048`: AES-256 / SHA-256 / DH group 14 (modp2048)");
        expect(sheet).to.include("1. `aes256-sha256-modp2048`: AES-256 / SHA-256 / PFS DH group 14 (modp2048)");
        expect(sheet).to.include("Lifetime: 28800 s (8 h)");
        expect(sheet).to.include("Lifetime: 3600 s (1 h)");
        expect(sheet).to.include("Dead peer detection: every 30 s");
        expect(sheet).to.include("NAT traversal: forced");
        expect(sheet).to.include("UDP 4500");
        expect(sheet).to.include("pulumi stack output tunnelIps --stack dev --json` (key `bigcorp`)");
        expect(sheet).to.include("pulumi stack output natIps --stack dev --json` (key `bigcorp`)");
        expect(sheet).to.include("pulumi stack output partners --stack dev --json");
        expect(sheet).not.to.include("--show-secrets");
        expect(sheet).to.include("out of band");
        expect(sheet).to.include("Never by e-mail together with this sheet");
    });

    it("shows our addresses when the Elastic IPs are adopted with known addresses, and the configured IKE settings", async () => {
        const text = editStack(stackText("dev"), (c) => {
            const p = partnersOf(c)[0];
            p.natEip = { allocationId: "eipalloc-0123456789abcdef0", publicIp: "52.16.0.10" };
            p.tunnelEip = { allocationId: "eipalloc-0123456789abcdef1", publicIp: "52.16.0.11" };
            p.remoteId = "vpn.bigcorp.example.com";
            p.ike = { version: 1, ikeProposals: ["aes128-sha256-ecp256"], espProposals: ["aes128gcm16"], ikeLifetime: 86400, childLifetime: 28800, dpdDelay: 0 };
        });
        const sheet = await sheetFor(text);
        expect(sheet).to.include("| VPN gateway (public IP) | `52.16.0.11` | `110.220.9.72` |");
        expect(sheet).to.include("| IKE identity | `52.16.0.11` (type IPv4 address) | `vpn.bigcorp.example.com` |");
        expect(sheet).to.include("| Encryption domain | `52.16.0.10/32`");
        expect(sheet).to.include("IKEv1 (main mode)");
        expect(sheet).to.include("AES-128 / SHA-256 / DH group 19 (ecp256)");
        expect(sheet).to.include("AES-128-GCM (16-byte ICV) / no PFS");
        expect(sheet).to.include("Lifetime: 86400 s (24 h)");
        expect(sheet).to.include("Dead peer detection: off on our side");
        expect(sheet).not.to.include("to be filled in");
        expect(sheet).not.to.include("Before sending this sheet");
    });

    it("lists proxied destinations (classic-proxy) and the connections the partner may open to us", async () => {
        const classic = await sheetFor(stackText("dev-classic"), new PlaceholderSecrets(), "dev-classic");
        expect(classic).to.include("- `110.220.10.7` TCP port 80 (HTTP)");
        expect(classic).to.include("None: we accept no connections initiated from your side.");
        const routed = await sheetFor(stackText("dev"));
        expect(routed).to.include("- from `110.220.10.7/32`: any protocol and port");
    });

    it("never holds the PSK or anything internal of ours (CLI)", async () => {
        const secrets = new PlaceholderSecrets();
        const run = await runInProcess(["--stack", "dev", "--handoff", "bigcorp"], { secrets });
        expect(run.code, run.stderr).to.equal(0);
        expect(secrets.pskFor("bigcorp")).to.have.length.greaterThan(19);
        expect(containsSecret(run.stdout, secrets.forms())).to.equal(false);
        const internal = ["172.16.", "bastion", "partner-vpn-dev", "<known after pulumi up", "ubuntu"];
        for (const word of internal) expect(run.stdout, word).not.to.include(word);
        expect(run.stdout).not.to.match(/\b(vpc|subnet|rtb|sg|i|eni|eipalloc|ami)-[0-9a-f]{8}/);
        expect(run.stdout).not.to.match(/\bpsk\s*[:=]/i);
    });

    it("refuses an unknown partner with the list of partners", async () => {
        const run = await runInProcess(["--stack", "dev", "--handoff", "nobody"]);
        expect(run.code).to.equal(1);
        expect(run.stderr).to.include('no partner named "nobody" in stack dev; partners: bigcorp');
        expect(run.stdout).to.equal("");
    });
});

/**
 * core/algorithms.ts: which proposals are accepted (and which of their keywords are weak), and
 * why the others are rejected.
 */
import { expect } from "chai";
import { KNOWN_ALGORITHMS, parseProposal, suggestAlgorithm, type ProposalKind } from "../../core/algorithms";

type Accepted = [kind: ProposalKind, text: string, weak: string[], version?: 1 | 2];
type Rejected = [kind: ProposalKind, text: string, reason: string, version?: 1 | 2];

const ACCEPTED: Accepted[] = [
    ["ike", "aes256-sha256-modp2048", []],
    ["ike", "aes128-sha256-ecp256", []],
    ["ike", "aes256-sha384-prfsha384-ecp384", []],
    ["ike", "aes256gcm16-prfsha256-modp2048", []],
    ["ike", "aes128gcm16-prfsha256-curve25519", []],
    ["ike", "chacha20poly1305-prfsha256-curve25519", []],
    ["ike", "aes256-aes128-sha256-sha384-modp2048-ecp256", []],
    ["ike", "aes256-sha256-modp2048", [], 1],
    ["ike", "aes256-sha1-modp1024", ["sha1", "modp1024"], 1],
    ["ike", "3des-md5-modp1024", ["3des", "md5", "modp1024"], 1],
    ["ike", "aes256-sha256-modp1536", ["modp1536"]],
    ["ike", "aes256gcm16-prfsha1-modp2048", ["prfsha1"]],
    ["esp", "aes256-sha256", []],
    ["esp", "aes256-sha256-modp2048", []],
    ["esp", "aes256gcm16", []],
    ["esp", "aes256gcm16-ecp384", []],
    ["esp", "aes256gcm16", [], 1],
    ["esp", "chacha20poly1305", []],
    ["esp", "aes128-sha1", ["sha1"]],
    ["esp", "3des-md5", ["3des", "md5"]],
];

const REJECTED: Rejected[] = [
    ["ike", "", "is an empty proposal"],
    ["ike", "aes256-sha256-modp2047", 'unknown algorithm "modp2047" (did you mean "modp2048"?); valid keywords are: aes128'],
    ["esp", "aes256-sha265", 'unknown algorithm "sha265" (did you mean "sha256"?)'],
    ["esp", "AES256-SHA256", '"aes256" (keywords are lowercase)'],
    ["ike", "aes256-sha256-dh14", 'did you mean "modp2048"?'],
    ["ike", "aes256-sha256-group19", 'did you mean "ecp256"?'],
    ["ike", "aes256-sha2_256-modp2048", 'did you mean "sha256"?'],
    ["esp", "aes256gcm-modp2048", 'did you mean "aes256gcm16"?'],
    ["ike", "aes-256-sha256-modp2048", 'the keyword is "aes256"'],
    ["ike", "aes256-sha2_256;modp2048", "join keywords with '-' only"],
    ["ike", "aes256-sha256-modp2048,aes128-sha1-modp1024", "put each proposal in its own list item"],
    ["esp", "aes256 sha256", "join keywords with '-' only"],
    ["ike", "null-sha256-modp2048", 'unknown algorithm "null"'],
    ["ike", "des-sha256-modp2048", 'unknown algorithm "des"'],
    ["ike", "blowfish-sha256-modp2048", 'unknown algorithm "blowfish"; valid keywords are'],
    ["ike", "sha256-modp2048", "needs an encryption algorithm"],
    ["esp", "modp2048", "needs an encryption algorithm"],
    ["ike", "aes256-modp2048", "needs an integrity algorithm"],
    ["esp", "aes256", "needs an integrity algorithm"],
    ["ike", "aes256gcm16-sha256-prfsha256-modp2048", "carries its own integrity"],
    ["ike", "aes256-aes256gcm16-sha256-modp2048", "mixes AEAD"],
    ["ike", "aes256-sha256", "needs a Diffie-Hellman group"],
    ["ike", "aes256gcm16-modp2048", "needs a PRF"],
    ["esp", "aes256-sha256-prfsha256", "ESP proposals take no PRF"],
    ["ike", "aes256gcm16-prfsha256-modp2048", "IKEv1 cannot use AEAD", 1],
    ["ike", "aes256-sha256-sha256-modp2048", 'lists "sha256" twice'],
    ["ike", "aes256-sha256-modp2048-", 'unknown algorithm ""'],
];

describe("algorithms", () => {
    describe("accepted proposals", () => {
        for (const [kind, text, weak, version] of ACCEPTED) {
            it(`${kind}${version ? ` (IKEv${version})` : ""} ${text}${weak.length ? ` (weak: ${weak.join(", ")})` : ""}`, () => {
                const result = parseProposal(kind, text, version);
                if (!result.ok) expect.fail(`rejected: ${result.problem}`);
                expect(result.proposal.weak).to.have.members(weak);
            });
        }
    });

    describe("rejected proposals, with the reason", () => {
        for (const [kind, text, reason, version] of REJECTED) {
            it(`${kind}${version ? ` (IKEv${version})` : ""} ${JSON.stringify(text)}: ${reason}`, () => {
                const result = parseProposal(kind, text, version);
                expect(result.ok).to.equal(false);
                if (!result.ok) expect(result.problem).to.include(reason);
            });
        }
    });

    it("an unknown keyword's message lists every valid keyword", () => {
        const result = parseProposal("ike", "aes256-sha256-modp9999");
        expect(result.ok).to.equal(false);
        if (!result.ok) for (const k of KNOWN_ALGORITHMS) expect(result.problem).to.include(k);
    });

    it("marks exactly modp1024, modp1536, sha1, prfsha1, 3des and md5 as weak", () => {
        const weak = KNOWN_ALGORITHMS.filter((k) => {
            const probe = ["aes256", "sha256", "modp2048"];
            const result = parseProposal("ike", [...probe, k].filter((x, i, all) => all.indexOf(x) === i).join("-"));
            return result.ok && result.proposal.weak.includes(k);
        });
        expect(weak).to.have.members(["modp1024", "modp1536", "sha1", "prfsha1", "3des", "md5"]);
    });

    it("splits a proposal into its parts", () => {
        const result = parseProposal("ike", "aes256gcm16-prfsha384-ecp384-modp2048");
        expect(result).to.deep.equal({
            ok: true,
            proposal: { encryption: ["aes256gcm16"], integrity: [], prf: ["prfsha384"], dh: ["ecp384", "modp2048"], aead: true, weak: [] },
        });
    });

    it("suggests nothing for words far from any keyword", () => {
        expect(suggestAlgorithm("rot13")).to.equal("");
        expect(suggestAlgorithm("x".repeat(1000))).to.equal("");
    });
});

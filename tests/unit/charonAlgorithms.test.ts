/**
 * What charon's crypto plugins must implement for each proposal, in `swanctl --list-algs` names,
 * and the charon.expect file and bootstrap words built from it. The names are checked against a
 * real charon in tests/tools/charonChecks.test.ts.
 */
import { expect } from "chai";
import { KNOWN_ALGORITHMS } from "../../core/algorithms";
import { charonAlgorithmsFor, charonRequirements } from "../../core/charonAlgorithms";
import { charonRequirementWords, renderCharonExpect, swanctlChildName } from "../../core/render";
import { DEV, modelOf, repoStackConfig, withIke } from "../tools/tools";

describe("charonAlgorithmsFor", () => {
    const table: { kind: "ike" | "esp"; proposal: string; needs: string[] }[] = [
        // IKE without a PRF: charon proposes the integrity algorithm's HMAC as the PRF.
        { kind: "ike", proposal: "aes256-sha256-modp2048", needs: ["AES_CBC", "HMAC_SHA2_256_128", "MODP_2048", "PRF_HMAC_SHA2_256"] },
        { kind: "ike", proposal: "aes128-sha1-modp1024", needs: ["AES_CBC", "HMAC_SHA1_96", "MODP_1024", "PRF_HMAC_SHA1"] },
        { kind: "ike", proposal: "3des-md5-modp1536", needs: ["3DES_CBC", "HMAC_MD5_96", "MODP_1536", "PRF_HMAC_MD5"] },
        // An explicit PRF replaces the derived one; the integrity algorithm is still needed.
        { kind: "ike", proposal: "aes256-sha512-prfsha384-ecp384", needs: ["AES_CBC", "ECP_384", "HMAC_SHA2_512_256", "PRF_HMAC_SHA2_384"] },
        // AEAD: no integrity; the PRF is explicit.
        { kind: "ike", proposal: "aes256gcm16-prfsha256-ecp256", needs: ["AES_GCM_16", "ECP_256", "PRF_HMAC_SHA2_256"] },
        { kind: "ike", proposal: "chacha20poly1305-prfsha512-curve25519", needs: ["CHACHA20_POLY1305", "CURVE_25519", "PRF_HMAC_SHA2_512"] },
        // Two DH groups in one proposal: both.
        { kind: "ike", proposal: "aes256-sha384-ecp521-modp4096", needs: ["AES_CBC", "ECP_521", "HMAC_SHA2_384_192", "MODP_4096", "PRF_HMAC_SHA2_384"] },
        // ESP runs in the kernel: only the PFS group comes from charon.
        { kind: "esp", proposal: "aes256gcm16-ecp256", needs: ["ECP_256"] },
        { kind: "esp", proposal: "aes256-sha256-modp3072", needs: ["MODP_3072"] },
        { kind: "esp", proposal: "aes256-sha256", needs: [] },
    ];
    for (const row of table) {
        it(`${row.kind} ${row.proposal} needs ${row.needs.join(", ") || "nothing from charon"}`, () => {
            expect(charonAlgorithmsFor(row.kind, row.proposal)).to.deep.equal(row.needs);
        });
    }

    it("has a charon name for every keyword validation accepts", () => {
        for (const k of KNOWN_ALGORITHMS) {
            const kind = /^(modp|ecp|curve)/.test(k) ? "dh" : /^prf/.test(k) ? "prf" : "other";
            const proposal = kind === "dh" ? `aes256-sha256-${k}` : kind === "prf" ? `aes256gcm16-${k}-modp2048` : /gcm|poly/.test(k) ? `${k}-prfsha256-modp2048` : /^(aes\d+|3des)$/.test(k) ? `${k}-sha256-modp2048` : `aes256-${k}-modp2048`;
            expect(() => charonAlgorithmsFor("ike", proposal), proposal).not.to.throw();
        }
    });

    it("refuses a proposal validation refuses, instead of guessing", () => {
        expect(() => charonAlgorithmsFor("ike", "aes256-sha256")).to.throw(/Diffie-Hellman/);
    });
});

describe("charon.expect and the bootstrap's proposal words", () => {
    const partner = () => withIke(modelOf(repoStackConfig(DEV)).partners[0], {
        ikeProposals: ["aes256gcm16-prfsha256-ecp256", "aes256-sha256-modp2048"],
        espProposals: ["aes256gcm16-ecp256", "aes256-sha256"],
    });

    it("names the connection, one child per partner host, and every proposal with algorithms", () => {
        const p = partner();
        const lines = renderCharonExpect(p).split("\n").filter((l) => l && !l.startsWith("#"));
        expect(lines).to.deep.equal([
            "conn pvpn-bigcorp",
            ...p.remoteHosts.map((h) => `child pvpn-bigcorp ${swanctlChildName("bigcorp", h)}`),
            "proposal ike aes256gcm16-prfsha256-ecp256 AES_GCM_16,ECP_256,PRF_HMAC_SHA2_256",
            "proposal ike aes256-sha256-modp2048 AES_CBC,HMAC_SHA2_256_128,MODP_2048,PRF_HMAC_SHA2_256",
            "proposal esp aes256gcm16-ecp256 ECP_256",
        ]);
    });

    it("gives the bootstrap the same requirements, one word per proposal that needs anything", () => {
        expect(charonRequirementWords(partner())).to.deep.equal([
            "ike:aes256gcm16-prfsha256-ecp256:AES_GCM_16,ECP_256,PRF_HMAC_SHA2_256",
            "ike:aes256-sha256-modp2048:AES_CBC,HMAC_SHA2_256_128,MODP_2048,PRF_HMAC_SHA2_256",
            "esp:aes256gcm16-ecp256:ECP_256",
        ]);
        expect(charonRequirements(partner().ike).map((r) => r.proposal)).to.include("aes256-sha256");
    });
});

/**
 * The offline plan for a partner whose endpoint runs Libreswan: the handoff sheet is the same
 * agreement in the partner's terms and only names our daemon; the rendered files and the
 * bootstrap command are Libreswan's; nothing secret leaks.
 */
import { expect } from "chai";
import { handoffSheet } from "../../plan/handoff";
import { containsSecret, PlaceholderSecrets } from "../../plan/placeholderSecrets";
import { editStack, partnersOf, planText, stackText, type Partner } from "./helpers";

/** A dev stack file with the endpoint default switched to Libreswan, and the first partner edited. */
function libreswanStack(stack: string, edit: (p: Partner) => void = () => undefined): string {
    return editStack(stackText(stack), (c) => {
        c["partner-vpn:endpoint"] = { ...(c["partner-vpn:endpoint"] as object), ipsecDaemon: "libreswan" };
        edit(partnersOf(c)[0]);
    });
}

describe("plan for a Libreswan partner", () => {
    it("the handoff sheet is the strongSwan partner's sheet plus our daemon's name, in the partner's terms", async () => {
        const secrets = new PlaceholderSecrets();
        const swan = await planText(stackText("dev"), secrets);
        const lsw = await planText(libreswanStack("dev"), secrets);
        if (!swan.ok || !lsw.ok) throw new Error("invalid test config");
        const a = handoffSheet(swan.model, swan.model.partners[0], swan.plan.partners[0], "dev");
        const b = handoffSheet(lsw.model, lsw.model.partners[0], lsw.plan.partners[0], "dev");
        expect(a).to.include("- Our side runs strongSwan; nothing in this sheet depends on it");
        expect(b).to.include("- Our side runs Libreswan (the maintained successor of Openswan); nothing in this sheet depends on it");
        expect(b).to.include("1. `aes256-sha256-modp2048`: AES-256 / SHA-256 / DH group 14 (modp2048)");
        expect(b).to.include("1. `aes256-sha256-modp2048`: AES-256 / SHA-256 / PFS DH group 14 (modp2048)");
        expect(b).to.include("We rekey before each lifetime ends (the IPsec SAs at 80% to 90% of theirs)");
        expect(b).not.to.include("sha2_256");
        // Apart from the daemon's lines, the agreement is word for word the same.
        const differing = (x: string, y: string) => x.split("\n").filter((l) => !y.split("\n").includes(l));
        expect(differing(b, a)).to.have.length(2);
        expect(containsSecret(b, secrets.forms())).to.equal(false);
    });

    it("renders the Libreswan files with the PSK redacted, and Libreswan's bootstrap command", async () => {
        const secrets = new PlaceholderSecrets();
        const outcome = await planText(libreswanStack("dev-classic", (p) => {
            p.ike = { version: 1, ikeProposals: ["aes256-sha256-modp2048"], espProposals: ["aes256-sha256-modp2048"] };
        }), secrets, "dev-classic");
        if (!outcome.ok) throw new Error("invalid test config");
        const partner = outcome.plan.partners[0];
        expect(partner.files.map((f) => f.path)).to.include.members(["/etc/ipsec.d/partner-vpn-bigcorp.conf", "/etc/ipsec.d/partner-vpn-bigcorp.secrets", "/etc/nginx/nginx.conf"]);
        expect(partner.files.map((f) => f.path).filter((p) => p.includes("swanctl"))).to.deep.equal([]);
        const secretsFile = partner.files.find((f) => f.path.endsWith(".secrets"));
        expect(secretsFile?.content).to.include("<REDACTED: bigcorp's PSK");
        expect(partner.files.find((f) => f.path.endsWith("partner-vpn-bigcorp.conf"))?.content).to.include("\tkeyexchange=ikev1\n"); // debian-13: Libreswan 5 syntax
        expect(partner.scripts.find((s) => s.name === "bootstrap.sh")?.command).to.equal("sudo -n bash -s -- 'classic-proxy' 'debian-13' 'libreswan' 'ikev1'");
        for (const f of [...partner.files.map((x) => x.content), ...partner.scripts.map((s) => s.content)]) {
            expect(containsSecret(f, secrets.forms())).to.equal(false);
        }
    });

    it("a proposal Libreswan cannot negotiate makes the plan invalid, at the proposal's path", async () => {
        const outcome = await planText(libreswanStack("dev", (p) => {
            p.ike = { version: 1, ikeProposals: ["aes256-sha1-modp1024"], allowWeakAlgorithms: true };
        }), new PlaceholderSecrets());
        expect(outcome.ok).to.equal(false);
        if (!outcome.ok) {
            const text = JSON.stringify(outcome);
            expect(text).to.include("partners[0].ike.ikeProposals[0]");
            expect(text).to.include("modp1024 (DH group 2)");
        }
    });
});

/**
 * endpoint.os and partners[].os: defaults, the image and login user each OS implies, a partner
 * moving to another OS on its own, the refusals (with field paths), and what the bootstrap is told.
 */
import { expect } from "chai";
import type { StackModel } from "../../core/model";
import { OS_IMAGES } from "../../core/os";
import { bootstrapCommand, applyCommand, removeCommand } from "../../core/render";
import { formatIssue, validateStackConfig, type ValidationResult } from "../../core/validate";
import { devConfig } from "../fixtures/configs";

type Cfg = ReturnType<typeof devConfig> & { endpoint: Record<string, unknown> };

function valid(result: ValidationResult): StackModel {
    if (!result.ok) expect.fail(`expected a valid config, got:\n  ${result.errors.map(formatIssue).join("\n  ")}`);
    return result.model;
}

function errors(result: ValidationResult): string[] {
    return result.ok ? [] : result.errors.map(formatIssue);
}

/** The dev stack with a second partner on the same endpoint settings. */
function twoPartners(edit: (cfg: Cfg) => void = () => undefined): Cfg {
    const cfg = devConfig() as Cfg;
    cfg.partners.push({ name: "acme", privateIp: "172.16.0.6", gatewayIp: "120.1.2.3", remoteHosts: ["120.1.3.0/24"] } as never);
    edit(cfg);
    return cfg;
}

describe("endpoint.os", () => {
    for (const os of ["debian-13", "debian-12", "ubuntu-24.04"] as const) {
        it(`${os}: looks up ${OS_IMAGES[os].amiNameFilter} owned by ${OS_IMAGES[os].amiOwner}, logs in as ${OS_IMAGES[os].sshUser}`, () => {
            const m = valid(validateStackConfig(twoPartners((c) => { c.endpoint.os = os; })));
            expect(m.endpoint).to.include({ os, amiOwner: OS_IMAGES[os].amiOwner, amiNameFilter: OS_IMAGES[os].amiNameFilter, sshUser: OS_IMAGES[os].sshUser });
            for (const p of m.partners) {
                expect(p.os).to.equal(os);
                expect(p.image).to.deep.equal({ amiOwner: OS_IMAGES[os].amiOwner, amiNameFilter: OS_IMAGES[os].amiNameFilter });
                expect(p.sshUser).to.equal(OS_IMAGES[os].sshUser);
            }
        });
    }

    it("Debian images come from Debian's account, Ubuntu's from Canonical's", () => {
        expect(OS_IMAGES["debian-13"].amiOwner).to.equal("136693071363");
        expect(OS_IMAGES["debian-12"].amiOwner).to.equal("136693071363");
        expect(OS_IMAGES["ubuntu-24.04"].amiOwner).to.equal("099720109477");
    });

    it("a partner overrides it: its own OS's image and user, the other partner unchanged", () => {
        const m = valid(validateStackConfig(twoPartners((c) => { (c.partners[1] as Record<string, unknown>).os = "ubuntu-24.04"; })));
        expect(m.partners.map((p) => [p.os, p.image.amiOwner, p.sshUser])).to.deep.equal([
            ["debian-13", "136693071363", "admin"],
            ["ubuntu-24.04", "099720109477", "ubuntu"],
        ]);
    });

    it("an explicit endpoint.sshUser holds for partners on another OS too", () => {
        const m = valid(validateStackConfig(twoPartners((c) => { c.endpoint.sshUser = "deploy"; (c.partners[1] as Record<string, unknown>).os = "ubuntu-24.04"; })));
        expect(m.partners.map((p) => p.sshUser)).to.deep.equal(["deploy", "deploy"]);
    });

    it("explicit image settings describe endpoint.os's image: kept for its partners", () => {
        const m = valid(validateStackConfig(twoPartners((c) => { c.endpoint.os = "debian-12"; c.endpoint.ami = "ami-0123456789abcdef0"; })));
        expect(m.partners.map((p) => p.image.ami)).to.deep.equal(["ami-0123456789abcdef0", "ami-0123456789abcdef0"]);
    });

    it("refuses a partner on another OS when the endpoint pins one image, naming both paths", () => {
        const result = validateStackConfig(twoPartners((c) => { c.endpoint.ami = "ami-0123456789abcdef0"; (c.partners[1] as Record<string, unknown>).os = "debian-12"; }));
        expect(errors(result)).to.deep.equal([
            'partners[1].os: "debian-12" differs from endpoint.os "debian-13", but endpoint.ami name one image for "debian-13"; expected no image settings in endpoint (each OS then boots its official image), or this partner on "debian-13"',
        ]);
    });

    it("refuses an unknown OS at its path, with the choices and a suggestion", () => {
        const endpoint = errors(validateStackConfig(twoPartners((c) => { c.endpoint.os = "Debian-13"; })));
        expect(endpoint).to.have.length(1);
        expect(endpoint[0]).to.match(/^endpoint\.os: "Debian-13" is not one of debian-13, debian-12, ubuntu-24\.04; did you mean "debian-13"\?/);
        const partner = errors(validateStackConfig(twoPartners((c) => { (c.partners[0] as Record<string, unknown>).os = "ubuntu-22.04"; })));
        expect(partner).to.have.length(1);
        expect(partner[0]).to.match(/^partners\[0\]\.os: "ubuntu-22\.04" is not one of debian-13, debian-12, ubuntu-24\.04/);
    });

    it("tells the bootstrap the partner's OS, and runs every command as that OS's user through sudo", () => {
        const m = valid(validateStackConfig(twoPartners((c) => { (c.partners[1] as Record<string, unknown>).os = "debian-12"; })));
        // The OS comes right after the mode, before the proposals' words.
        expect(bootstrapCommand(m, m.mode, m.partners[0])).to.match(/^sudo -n bash -s -- 'vpc-routing' 'debian-13' 'proposal=/);
        expect(bootstrapCommand(m, m.mode, m.partners[1])).to.match(/^sudo -n bash -s -- 'vpc-routing' 'debian-12' 'proposal=/);
        expect(bootstrapCommand(m)).to.equal("sudo -n bash -s -- 'vpc-routing' 'debian-13'");
        const root = valid(validateStackConfig(twoPartners((c) => { c.endpoint.sshUser = "root"; })));
        expect(bootstrapCommand(root, root.mode, root.partners[0])).to.match(/^bash -s -- 'vpc-routing' 'debian-13' 'proposal=/);
        expect(applyCommand(root, root.partners[0])).to.equal("bash -s");
        expect(applyCommand(m, m.partners[0])).to.equal("sudo -n bash -s");
        expect(removeCommand(m, "acme", "abc", m.partners[1])).to.include("sudo -n /usr/local/sbin/partner-vpn-remove 'acme' 'abc'");
    });
});

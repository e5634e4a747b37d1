/**
 * The lab's endpoint image, without root: the mirror's package list follows the bootstrap's own
 * lists (so a package the bootstrap forgets is missing in the lab too), the cache key changes with
 * what the image holds, and the checks' promised packages are the bootstrap's per mode.
 */
import { expect } from "chai";
import { promisedPackages } from "../../lab/checks/machine";
import { LAB_DEVIATIONS } from "../../lab/container";
import { apartPackages, baseKey, bootstrapPackages, imageKey, LAB_PACKAGES, LAB_RELEASES } from "../../lab/image";

const SCRIPT = `packages=(charon-systemd strongswan-swanctl iptables)
if [ "$daemon" = libreswan ]; then
    packages=(libreswan iptables)
fi
if [ -n "$ha" ]; then
    # VRRP between the pair's members.
    packages+=(keepalived)
fi
if [ "$mode" = classic-proxy ]; then
    packages+=(nginx libnginx-mod-stream)
fi`;

describe("lab image", () => {
    it("mirrors every package bootstrap.sh names, Libreswan in a second pass (it conflicts with strongSwan)", () => {
        expect(bootstrapPackages(SCRIPT)).to.deep.equal(["charon-systemd", "iptables", "keepalived", "libnginx-mod-stream", "nginx", "strongswan-swanctl"]);
        expect(apartPackages(SCRIPT)).to.deep.equal(["libreswan"]);
        const real = bootstrapPackages();
        for (const pkg of ["charon-systemd", "strongswan-swanctl", "libstrongswan-standard-plugins", "iptables", "conntrack", "nginx", "libnginx-mod-stream"]) expect(real).to.include(pkg);
        expect(real).to.not.include("libreswan");
        expect(apartPackages()).to.deep.equal(["libreswan"]);
        expect(() => bootstrapPackages("apt-get install foo")).to.throw(/no packages=\(\.\.\.\) list/);
    });

    it("promises the strongSwan (or Libreswan) packages in vpc-routing, plus nginx and its stream module in classic-proxy, plus keepalived for a pair", () => {
        expect(promisedPackages("vpc-routing", "strongswan", SCRIPT, true)).to.deep.equal(["charon-systemd", "strongswan-swanctl", "iptables", "keepalived"]);
        expect(promisedPackages("vpc-routing", "strongswan", undefined, true)).to.include("keepalived");
        expect(promisedPackages("classic-proxy", "strongswan")).to.include("nginx").and.not.include("keepalived");
        expect(promisedPackages("vpc-routing", "strongswan", SCRIPT)).to.deep.equal(["charon-systemd", "strongswan-swanctl", "iptables"]);
        expect(promisedPackages("classic-proxy", "strongswan", SCRIPT)).to.deep.equal(["charon-systemd", "strongswan-swanctl", "iptables", "nginx", "libnginx-mod-stream"]);
        expect(promisedPackages("vpc-routing", "libreswan", SCRIPT)).to.deep.equal(["libreswan", "iptables"]);
        expect(promisedPackages("vpc-routing", "libreswan")).to.include("libreswan").and.not.include("charon-systemd");
    });

    it("keys the cache by release and package list: another list, another image; the debootstrap layer only by release", () => {
        const a = imageKey("trixie", ["charon-systemd"]);
        expect(imageKey("trixie", ["charon-systemd"])).to.equal(a);
        expect(imageKey("trixie", ["charon-systemd", "nginx"])).to.not.equal(a);
        expect(imageKey("bookworm", ["charon-systemd"])).to.not.equal(a);
        expect(imageKey("trixie", ["charon-systemd"], ["libreswan"])).to.not.equal(a);
        expect(baseKey("trixie")).to.not.equal(baseKey("bookworm"));
    });

    it("boots Debian 13 and 12 only, and names every lab deviation in one list", () => {
        expect(LAB_RELEASES).to.deep.equal({ "debian-13": "trixie", "debian-12": "bookworm" });
        expect(LAB_PACKAGES).to.deep.equal(["libcharon-extra-plugins"]);
        const text = LAB_DEVIATIONS.map((d) => d.why).join("\n");
        expect(text).to.match(/kernel-libipsec/).and.match(/NAT IP is on the endpoint's lo/).and.match(/libcharon-extra-plugins/);
    });
});

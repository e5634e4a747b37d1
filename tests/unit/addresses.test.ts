/**
 * core/addresses.ts: strict IPv4 and CIDR parsing, range classification (documentation ranges
 * split out of "reserved"), containment, overlap and the integer helpers.
 */
import { expect } from "chai";
import {
    DOCUMENTATION_CIDRS, SPECIAL_RANGES, cidrBounds, cidrContains, cidrSlug, cidrsOverlap, classify, hostOf,
    addressAt, offsetAddress, isIpv4, maskToPrefix, networkAddress, parseCidr, prefixOf, spannedRanges, toCidr, type AddressClass,
} from "../../core/addresses";

describe("addresses", () => {
    describe("isIpv4 (strict dotted quad)", () => {
        const accepted = ["0.0.0.0", "1.2.3.4", "10.0.0.1", "255.255.255.255", "110.220.9.72", "192.0.2.1"];
        const rejected = [
            "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.02.3.4", "1.2.3.004", "256.1.1.1", "1.2.3.256", "-1.2.3.4", "1.2.3.4/32",
            " 1.2.3.4", "1.2.3.4 ", "1.2.3.4\n", "0x7f.0.0.1", "127.1", "2130706433", "", "a.b.c.d", "1..2.3", "1.2.3.4.",
            "::1", "::ffff:1.2.3.4", "１.2.3.4", "1.2.3.4\u200b",
        ];
        for (const text of accepted) it(`accepts ${JSON.stringify(text)}`, () => expect(isIpv4(text)).to.equal(true));
        for (const text of rejected) it(`rejects ${JSON.stringify(text)}`, () => expect(isIpv4(text)).to.equal(false));
    });

    describe("parseCidr (strict a.b.c.d/len)", () => {
        const accepted: [string, string, number][] = [
            ["10.0.0.0/8", "10.0.0.0", 8], ["0.0.0.0/0", "0.0.0.0", 0], ["1.2.3.4/32", "1.2.3.4", 32], ["172.16.0.0/24", "172.16.0.0", 24],
            // Host bits are a validator concern (it suggests the network); parsing keeps the text.
            ["10.0.0.1/8", "10.0.0.1", 8],
        ];
        const rejected = ["1.2.3.4/33", "1.2.3.4/08", "1.2.3.4/", "1.2.3.4", "1.2.3/24", "01.2.3.4/24", "1.2.3.4/-1", "1.2.3.4/3 2", "1.2.3.4/24\n", " 1.2.3.4/24", "1.2.3.4/100", "1.2.3.4//24", "1.2.3.4/24/24"];
        for (const [text, address, prefix] of accepted) {
            it(`parses ${text}`, () => expect(parseCidr(text)).to.deep.equal({ address, prefix }));
        }
        for (const text of rejected) it(`rejects ${JSON.stringify(text)}`, () => expect(parseCidr(text)).to.equal(undefined));
    });

    describe("classify", () => {
        const table: [string, AddressClass][] = [
            ["8.8.8.8", "public"], ["110.220.9.72", "public"], ["172.15.255.255", "public"], ["172.32.0.0", "public"], ["100.63.255.255", "public"],
            ["192.0.2.0", "documentation"], ["192.0.2.255", "documentation"], ["198.51.100.7", "documentation"], ["203.0.113.254", "documentation"],
            ["192.0.3.1", "public"], ["198.51.101.1", "public"], ["203.0.114.1", "public"],
            ["10.0.0.1", "private"], ["172.16.0.5", "private"], ["172.31.255.254", "private"], ["192.168.1.1", "private"],
            ["127.0.0.1", "loopback"], ["127.255.255.254", "loopback"],
            ["169.254.169.254", "link-local"],
            ["224.0.0.5", "multicast"], ["239.255.255.250", "multicast"],
            ["0.0.0.0", "unspecified"], ["0.1.2.3", "unspecified"],
            ["255.255.255.255", "broadcast"],
            ["100.64.0.1", "shared"], ["100.127.255.254", "shared"],
            ["240.0.0.1", "reserved"], ["198.18.0.1", "reserved"], ["192.0.0.8", "reserved"],
        ];
        for (const [address, cls] of table) it(`${address} is ${cls}`, () => expect(classify(address)).to.equal(cls));

        it("lists each special block with the class classify gives its edges, and the addresses around it are outside it", () => {
            for (const { cidr, cls } of SPECIAL_RANGES) {
                const { first, last } = cidrBounds(cidr);
                expect(classify(first), `${cidr} first`).to.equal(cls);
                // 240.0.0.0/4 ends in the broadcast address, its own block.
                if (last !== "255.255.255.255") expect(classify(last), `${cidr} last`).to.equal(cls);
                for (const outside of [offsetAddress(first, -1), offsetAddress(last, 1)]) {
                    if (outside === undefined || SPECIAL_RANGES.some((r) => cidrContains(r.cidr, outside))) continue;
                    expect(classify(outside), `${outside}, next to ${cidr}, is in no listed block`).to.equal("public");
                }
            }
        });

        it("covers every class but public: a sample of each /8 that classify does not call public lies in a listed block", () => {
            for (let a = 0; a < 256; a++) {
                for (const address of [`${a}.0.0.0`, `${a}.0.2.7`, `${a}.31.196.9`, `${a}.52.193.1`, `${a}.88.99.1`, `${a}.175.48.1`, `${a}.51.100.1`, `${a}.0.113.1`, `${a}.18.0.1`, `${a}.255.255.255`]) {
                    const listed = SPECIAL_RANGES.some((r) => cidrContains(r.cidr, address));
                    expect(listed, `${address} is ${classify(address)}`).to.equal(classify(address) !== "public");
                }
            }
        });

        it("lists the three RFC 5737 documentation ranges", () => {
            expect(DOCUMENTATION_CIDRS).to.deep.equal(["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"]);
            for (const cidr of DOCUMENTATION_CIDRS) expect(SPECIAL_RANGES).to.deep.include({ cidr, cls: "documentation" });
        });
    });

    describe("containment and overlap", () => {
        const contains: [string, string, boolean][] = [
            ["10.0.0.0/8", "10.1.2.3", true], ["10.0.0.0/8", "10.1.2.0/24", true], ["10.0.0.0/8", "10.0.0.0/8", true],
            ["10.0.0.0/8", "11.0.0.0", false], ["10.1.2.0/24", "10.0.0.0/8", false], ["0.0.0.0/0", "203.0.113.9", true],
            ["172.16.0.0/24", "172.16.0.255", true], ["172.16.0.0/24", "172.16.1.0", false], ["1.2.3.4", "1.2.3.4", true], ["1.2.3.4/32", "1.2.3.4", true],
        ];
        for (const [outer, inner, expected] of contains) {
            it(`${outer} ${expected ? "contains" : "does not contain"} ${inner}`, () => expect(cidrContains(outer, inner)).to.equal(expected));
        }
        const overlaps: [string, string, boolean][] = [
            ["10.0.0.0/8", "10.1.0.0/16", true], ["10.1.0.0/16", "10.0.0.0/8", true], ["10.0.0.0/16", "10.1.0.0/16", false],
            ["110.220.10.7", "110.220.10.7/32", true], ["110.220.10.0/25", "110.220.10.128/25", false], ["0.0.0.0/0", "1.1.1.1", true],
        ];
        for (const [a, b, expected] of overlaps) {
            it(`${a} and ${b} ${expected ? "overlap" : "do not overlap"}`, () => {
                expect(cidrsOverlap(a, b)).to.equal(expected);
                expect(cidrsOverlap(b, a)).to.equal(expected);
            });
        }
    });

    describe("helpers", () => {
        it("networkAddress clears host bits", () => {
            expect(networkAddress("10.0.0.1", 8)).to.equal("10.0.0.0");
            expect(networkAddress("172.16.0.129", 25)).to.equal("172.16.0.128");
            expect(networkAddress("1.2.3.4", 32)).to.equal("1.2.3.4");
            expect(networkAddress("1.2.3.4", 0)).to.equal("0.0.0.0");
        });

        it("toCidr, hostOf, prefixOf, cidrSlug", () => {
            expect(toCidr("1.2.3.4")).to.equal("1.2.3.4/32");
            expect(toCidr("1.2.3.0/24")).to.equal("1.2.3.0/24");
            expect(hostOf("1.2.3.4/32")).to.equal("1.2.3.4");
            expect(prefixOf("1.2.3.0/24")).to.equal(24);
            expect(prefixOf("1.2.3.4")).to.equal(32);
            expect(cidrSlug("203.0.113.0/24")).to.equal("203-0-113-0-24");
            expect(cidrSlug("203.0.113.7")).to.equal("203-0-113-7-32");
        });

        it("offsetAddress carries across octets and stops at both ends of the address space", () => {
            expect(offsetAddress("172.16.0.255", 1)).to.equal("172.16.1.0");
            expect(offsetAddress("172.16.1.0", -1)).to.equal("172.16.0.255");
            expect(offsetAddress("10.0.0.0", 256 * 256 + 3)).to.equal("10.1.0.3");
            expect(offsetAddress("255.255.255.254", 1)).to.equal("255.255.255.255");
            expect(offsetAddress("255.255.255.255", 1)).to.equal(undefined);
            expect(offsetAddress("0.0.0.0", -1)).to.equal(undefined);
        });

        it("addressAt counts from the network address and stays inside the CIDR", () => {
            expect(addressAt("172.16.0.0/24", 1)).to.equal("172.16.0.1");
            expect(addressAt("172.16.0.7/24", 1), "host bits are ignored").to.equal("172.16.0.1");
            expect(addressAt("172.16.0.0/23", 256)).to.equal("172.16.1.0");
            expect(addressAt("172.16.0.0/24", 255)).to.equal("172.16.0.255");
            expect(addressAt("172.16.0.0/24", 256)).to.equal(undefined);
            expect(addressAt("172.16.0.0/24", -1)).to.equal(undefined);
        });

        it("cidrBounds gives the first and last address, also across octets", () => {
            expect(cidrBounds("172.16.0.0/23")).to.deep.equal({ first: "172.16.0.0", last: "172.16.1.255" });
            expect(cidrBounds("10.0.0.0/8")).to.deep.equal({ first: "10.0.0.0", last: "10.255.255.255" });
            expect(cidrBounds("0.0.0.0/0")).to.deep.equal({ first: "0.0.0.0", last: "255.255.255.255" });
            expect(cidrBounds("1.2.3.4")).to.deep.equal({ first: "1.2.3.4", last: "1.2.3.4" });
        });

        it("maskToPrefix accepts contiguous netmasks only", () => {
            expect(maskToPrefix("255.255.255.0")).to.equal(24);
            expect(maskToPrefix("255.255.254.0")).to.equal(23);
            expect(maskToPrefix("255.255.255.255")).to.equal(32);
            expect(maskToPrefix("0.0.0.0")).to.equal(0);
            expect(maskToPrefix("255.0.255.0")).to.equal(undefined);
            expect(maskToPrefix("0.0.0.255")).to.equal(undefined);
            expect(maskToPrefix("255.255.255")).to.equal(undefined);
        });

        it("spannedRanges lists the special blocks inside a wide CIDR, not the one it sits in", () => {
            expect(spannedRanges("64.0.0.0/2").map((r) => r.cidr)).to.have.members(["127.0.0.0/8", "100.64.0.0/10"]);
            expect(spannedRanges("192.0.0.0/16").map((r) => `${r.cls} ${r.cidr}`)).to.include.members(["reserved 192.0.0.0/24", "documentation 192.0.2.0/24"]);
            expect(spannedRanges("10.0.0.0/8")).to.deep.equal([]);
            expect(spannedRanges("10.1.0.0/16")).to.deep.equal([]);
            expect(spannedRanges("110.220.10.0/24")).to.deep.equal([]);
            expect(spannedRanges("1.2.3.4")).to.deep.equal([]);
        });
    });
});

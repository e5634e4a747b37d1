/**
 * Validation never throws, whatever it is given: every leaf and every section of both dev stacks
 * is replaced by each of a set of hostile values, and the result must be a well-formed
 * ValidationResult (ok with a model, or not ok with at least one error, each naming a path).
 */
import { expect } from "chai";
import { validateStackConfig } from "../../core/validate";
import { VALID_SECRETS, devClassicConfig, devConfig } from "../fixtures/configs";

const HOSTILE: readonly unknown[] = [
    undefined, null, "", " ", "\n", "\u200b", "a".repeat(10_000), 0, -1, 1.5, NaN, Infinity, 2 ** 53, true, false,
    [], [null], [[]], {}, { "": 1 }, JSON.parse('{"__proto__": {"polluted": 1}}'), "0.0.0.0/0", "255.255.255.255", "1.2.3.4/33",
    "toString", "constructor", Symbol("s"), BigInt(7), () => 1,
];

type Path = (string | number)[];

function paths(value: unknown, prefix: Path = []): Path[] {
    if (value === null || typeof value !== "object") return [prefix];
    const keys = Array.isArray(value) ? value.map((_, i) => i) : Object.keys(value);
    return [prefix, ...keys.flatMap((k) => paths((value as Record<string | number, unknown>)[k], [...prefix, k]))];
}

function setAt(root: Record<string, unknown>, path: Path, value: unknown): unknown {
    if (path.length === 0) return value;
    let node = root as Record<string | number, unknown>;
    for (const k of path.slice(0, -1)) node = node[k] as Record<string | number, unknown>;
    node[path[path.length - 1]] = value;
    return root;
}

describe("validateStackConfig: hostile values never make it throw", () => {
    for (const [label, base] of [["dev", devConfig], ["dev-classic", devClassicConfig]] as const) {
        it(`${label}: every field replaced by every hostile value`, () => {
            let runs = 0;
            for (const path of paths(base())) {
                for (const value of HOSTILE) {
                    const cfg = setAt(base(), path, value);
                    for (const secrets of [undefined, VALID_SECRETS, { psks: value, sshPrivateKey: value }]) {
                        let result: ReturnType<typeof validateStackConfig> | undefined;
                        expect(() => (result = validateStackConfig(cfg, secrets)), `${path.join(".")} = ${String(value)}`).not.to.throw();
                        runs++;
                        if (result!.ok) {
                            expect(result!.model.partners.length).to.be.greaterThan(0);
                        } else {
                            expect(result!.errors.length).to.be.greaterThan(0);
                            for (const e of result!.errors) expect(e.path).to.be.a("string").and.not.equal("");
                        }
                    }
                }
            }
            expect(runs).to.be.greaterThan(1000);
            expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
        });
    }

    it("rejects a hostile value at a required leaf rather than accepting it", () => {
        for (const value of HOSTILE) {
            const cfg = devConfig();
            cfg.partners[0].gatewayIp = value;
            expect(validateStackConfig(cfg).ok, String(value)).to.equal(false);
        }
    });
});

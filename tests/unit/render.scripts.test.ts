/**
 * The endpoint file set, the apply script that carries it, the helper scripts, the remote command
 * strings and the content hashes that trigger re-applies. The rendered scripts are run for real in
 * tests/tools/endpoint.test.ts and linted in tests/tools/shellcheck.test.ts.
 */
import { expect } from "chai";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { RenderedFile } from "../../core/model";
import {
    applyCommand, bootstrapCommand, contentHashes, endpointPaths, removeCommand, renderApplyScript, renderBootHelper,
    renderBootstrapScript, renderEndpointFiles, renderRemoveHelper, renderCharonSettings, CHARON_DROP_IN, RETRANSMIT, retransmitSequenceSeconds,
} from "../../core/render";
import { BOOT_SCRIPT, REMOVE_SCRIPT } from "../../core/render/paths";
import { endpointScriptsDir } from "../../core/render/scripts";
import { RenderError } from "../../core/render/safe";
import { ADDRESSES, DEV, DEV_CLASSIC, modelOf, once, REPO_ROOT, repoStackConfig, renderPartner, TEST_PSK, withPartner } from "../tools/tools";

interface Heredoc {
    readonly target: string;
    readonly delimiter: string;
    readonly body: string;
}

/** Every `base64 -d >"$PVPN_STAGE/fN" <<'END'` here-document of an apply script. */
function heredocs(script: string): Heredoc[] {
    const out: Heredoc[] = [];
    const lines = script.split("\n");
    for (let i = 0; i < lines.length; i++) {
        const m = /^base64 -d >"\$PVPN_STAGE\/(f\d+)" <<'([A-Z_]+)'$/.exec(lines[i]);
        if (!m) continue;
        const end = lines.indexOf(m[2], i + 1);
        expect(end, `here-document ${m[1]} is closed`).to.be.greaterThan(i);
        out.push({ target: m[1], delimiter: m[2], body: lines.slice(i + 1, end).join("\n") });
        i = end;
    }
    return out;
}

/** The `role fN 'path' mode` rows passed to pvpn_apply. */
function fileTable(script: string): { role: string; staged: string; path: string; mode: string }[] {
    return script
        .split("\n")
        .map((l) => /^ {8}(\w+) (f\d+) '([^']+)' (0[0-7]{3}) \\$/.exec(l))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => ({ role: m[1], staged: m[2], path: m[3], mode: m[4] }));
}

const dev = once(() => modelOf(repoStackConfig(DEV)));
const classic = once(() => modelOf(repoStackConfig(DEV_CLASSIC)));

const METRICS_SUFFIXES = ["partner-vpn-metrics", "system/partner-vpn-metrics.service", "system/partner-vpn-metrics.timer"];

describe("renderEndpointFiles", () => {
    const cases = [
        { title: "vpc-routing", model: dev, suffixes: ["partner-vpn-bigcorp.conf", "partner-vpn-bigcorp.secrets.conf", "bigcorp/nat.rules", "bigcorp/charon.expect", "partner-vpn-boot", "partner-vpn-remove", ...METRICS_SUFFIXES] },
        { title: "classic-proxy", model: classic, suffixes: ["partner-vpn-bigcorp.conf", "partner-vpn-bigcorp.secrets.conf", "bigcorp/nat.rules", "nginx.conf", "bigcorp/charon.expect", "partner-vpn-boot", "partner-vpn-remove", ...METRICS_SUFFIXES] },
    ];
    for (const c of cases) {
        it(`lists the ${c.title} files in a stable order with their modes, only the PSK file secret`, () => {
            const files = renderEndpointFiles(c.model(), c.model().partners[0], ADDRESSES, TEST_PSK);
            expect(files.map((f) => f.path.split("/").slice(-2).join("/").replace(/^(conf\.d|sbin|nginx)\//, ""))).to.deep.equal(c.suffixes);
            const paths = endpointPaths("bigcorp");
            for (const f of files) {
                expect(f.path).to.match(/^\//);
                const expected = f.path === paths.swanctlSecrets ? "0600" : f.path.startsWith("/usr/local/sbin/") ? "0755" : "0644";
                expect(f.mode, f.path).to.equal(expected);
                expect(f.secret, f.path).to.equal(f.path === paths.swanctlSecrets);
                expect(f.content.includes(TEST_PSK), f.path).to.equal(false);
            }
        });
    }

    it("keeps the key only in the secrets file, base64-encoded", () => {
        const files = renderEndpointFiles(dev(), dev().partners[0], ADDRESSES, TEST_PSK);
        const b64 = Buffer.from(TEST_PSK).toString("base64");
        expect(files.filter((f) => f.content.includes(b64)).map((f) => f.path)).to.deep.equal([endpointPaths("bigcorp").swanctlSecrets]);
    });
});

describe("renderApplyScript", () => {
    for (const [title, model] of [["vpc-routing", dev], ["classic-proxy", classic]] as const) {
        describe(title, () => {
            const r = once(() => renderPartner(model()));

            it("is a bash script that stops at the first error and reads nothing else from stdin", () => {
                const lines = r().apply.split("\n");
                expect(lines[0]).to.equal("#!/usr/bin/env bash");
                expect(lines).to.include("set -euo pipefail");
                expect(lines.filter((l) => l.startsWith("#!"))).to.have.length(1);
                expect(lines[lines.length - 2]).to.equal("pvpn_main </dev/null");
            });

            it("carries every file base64-encoded in a quoted here-document, decoding to its exact content", () => {
                const docs = heredocs(r().apply);
                expect(docs.map((d) => d.target)).to.deep.equal(r().files.map((_, i) => `f${i}`));
                docs.forEach((d, i) => {
                    expect(d.body, d.target).to.match(/^[A-Za-z0-9+/=\n]*$/);
                    expect(d.body.split("\n").every((l) => l.length <= 76)).to.equal(true);
                    expect(Buffer.from(d.body.replace(/\n/g, ""), "base64").toString("utf8")).to.equal(r().files[i].content);
                });
            });

            it("carries no config file content in plain text", () => {
                for (const f of r().files.filter((x) => !x.path.startsWith("/usr/local/sbin/"))) {
                    const distinctive = f.content.split("\n").filter((l) => l.trim().length > 12);
                    expect(distinctive.length, f.path).to.be.greaterThan(0);
                    for (const l of distinctive) expect(r().apply.includes(l), `${f.path}: ${l}`).to.equal(false);
                }
                expect(r().apply).not.to.include(TEST_PSK);
                expect(r().apply).not.to.include(`0s${Buffer.from(TEST_PSK).toString("base64")}`);
            });

            it("passes the file table: role, staged name, destination and mode of every file", () => {
                const roles: Record<string, string> = {
                    "partner-vpn-bigcorp.conf": "swanctl",
                    "partner-vpn-bigcorp.secrets.conf": "secrets",
                    "nat.rules": "nat",
                    "nginx.conf": "nginx",
                    "charon.expect": "expect",
                    "partner-vpn-boot": "helper",
                    "partner-vpn-remove": "helper",
                    "partner-vpn-metrics": "metrics",
                    "partner-vpn-metrics.service": "metrics",
                    "partner-vpn-metrics.timer": "metrics",
                };
                expect(fileTable(r().apply)).to.deep.equal(
                    r().files.map((f, i) => ({ role: roles[f.path.split("/").pop() as string], staged: `f${i}`, path: f.path, mode: f.mode })),
                );
                expect(r().apply).to.include(`    pvpn_apply 'bigcorp' '${r().generation}' "$PVPN_STAGE" \\\n`);
            });

            it("stages into a fresh root-only folder removed on exit, under the lock", () => {
                const main = r().apply.slice(r().apply.indexOf("pvpn_main() {"));
                const order = ["pvpn_lock", "umask 077", "mktemp -d /run/partner-vpn-stage.XXXXXX", "trap ", "base64 -d", "pvpn_apply "];
                const positions = order.map((s) => main.indexOf(s));
                expect(positions.every((p) => p >= 0), JSON.stringify(positions)).to.equal(true);
                expect([...positions].sort((a, b) => a - b)).to.deep.equal(positions);
            });

            it("includes the library and the apply logic it calls", () => {
                for (const fn of ["pvpn_lock()", "pvpn_restore_nat()", "pvpn_swanctl_load()", "pvpn_apply()", "pvpn_rollback()"]) {
                    expect(r().apply).to.include(fn);
                }
            });
        });
    }

    it("names the partner and generation in its header", () => {
        const r = renderPartner(dev());
        expect(r.apply.split("\n")[1]).to.equal(`# partner-vpn apply for bigcorp, generation ${r.generation}. Generated; run as: bash -s <this-file`);
    });

    const refusals: { title: string; files?: (f: RenderedFile[]) => RenderedFile[]; generation?: string; pattern: RegExp }[] = [
        { title: "a generation that is not a hex digest", generation: "abc; reboot", pattern: /generation/ },
        { title: "a too short generation", generation: "abc", pattern: /generation/ },
        { title: "a mode that is not octal", files: (f) => [{ ...f[0], mode: "0644; chmod 777 /" }], pattern: /file mode/ },
        { title: "a three-digit mode", files: (f) => [{ ...f[0], mode: "644" }], pattern: /file mode/ },
        { title: "a path partner-vpn does not manage", files: (f) => [{ ...f[0], path: "/etc/passwd" }], pattern: /endpoint file/ },
        { title: "a path with a quote", files: (f) => [{ ...f[0], path: "/etc/swanctl/conf.d/x'y.conf" }], pattern: /endpoint file|file path/ },
    ];
    for (const c of refusals) {
        it(`refuses ${c.title}`, () => {
            const r = renderPartner(dev());
            const files = c.files ? c.files(r.files) : r.files;
            expect(() => renderApplyScript(dev().partners[0], files, c.generation ?? r.generation)).to.throw(RenderError, c.pattern);
        });
    }
});

describe("helper scripts", () => {
    const cases = [
        { title: "boot", render: renderBootHelper, call: "pvpn_boot", fn: "pvpn_boot()" },
        { title: "remove", render: renderRemoveHelper, call: 'pvpn_remove "$@"', fn: "pvpn_remove()" },
    ];
    for (const c of cases) {
        it(`renders the ${c.title} helper: one shebang, strict mode, library, and a final call`, () => {
            const text = c.render();
            const lines = text.split("\n");
            expect(lines[0]).to.equal("#!/usr/bin/env bash");
            expect(lines.filter((l) => l.startsWith("#!"))).to.have.length(1);
            expect(text).to.include("pvpn_lock()").and.include(c.fn);
            expect(lines[lines.length - 2]).to.equal(c.call);
        });
    }

    it("installs the helpers at fixed paths with mode 0755", () => {
        const files = renderEndpointFiles(dev(), dev().partners[0], ADDRESSES, TEST_PSK);
        expect(files.filter((f) => f.mode === "0755").map((f) => f.path)).to.deep.equal([BOOT_SCRIPT, REMOVE_SCRIPT, "/usr/local/sbin/partner-vpn-metrics"]);
    });

    it("ships the bootstrap script as is, taking the mode as its argument", () => {
        const text = renderBootstrapScript();
        expect(text.split("\n")[0]).to.equal("#!/usr/bin/env bash");
        expect(text).to.include("mode=${1:?");
        expect(text).to.include("libnginx-mod-stream");
    });
});

describe("remote command strings", () => {
    const rootModel = () => ({ ...dev(), endpoint: { ...dev().endpoint, sshUser: "root" } });

    it("applies with the script on stdin, never in the command line", () => {
        expect(applyCommand(dev())).to.equal("sudo -n bash -s");
        expect(applyCommand(rootModel())).to.equal("bash -s");
    });

    it("bootstraps with the mode as a quoted argument", () => {
        expect(bootstrapCommand(dev())).to.equal("sudo -n bash -s -- 'vpc-routing' 'debian-13'");
        expect(bootstrapCommand(classic())).to.equal("sudo -n bash -s -- 'classic-proxy' 'debian-13'");
        expect(() => bootstrapCommand(dev(), "vpc-routing; reboot" as never)).to.throw(RenderError);
    });

    it("removes only the generation it was created with", () => {
        const r = renderPartner(dev());
        const cmd = removeCommand(dev(), "bigcorp", r.generation);
        expect(cmd).to.equal(
            `if [ -x ${REMOVE_SCRIPT} ]; then sudo -n ${REMOVE_SCRIPT} 'bigcorp' '${r.generation}'; else echo 'partner-vpn: nothing installed'; fi`,
        );
        expect(removeCommand(rootModel(), "bigcorp", r.generation)).to.include(`then ${REMOVE_SCRIPT} 'bigcorp' '${r.generation}';`);
    });

    it("refuses a partner name or generation that would need quoting", () => {
        expect(() => removeCommand(dev(), "big corp", "0123456789abcdef")).to.throw(RenderError);
        expect(() => removeCommand(dev(), "bigcorp", "$(reboot)")).to.throw(RenderError);
        expect(() => removeCommand(dev(), "bigcorp", "a'b")).to.throw(RenderError);
    });
});

describe("contentHashes", () => {
    const base = once(() => renderPartner(dev()));
    const hashes = once(() => contentHashes(base().files));

    it("gives 32-hex config and secrets digests and a 16-hex generation", () => {
        expect(hashes().config).to.match(/^[0-9a-f]{32}$/);
        expect(hashes().secrets).to.match(/^[0-9a-f]{32}$/);
        expect(hashes().generation).to.match(/^[0-9a-f]{16}$/);
        expect(contentHashes(renderPartner(dev()).files)).to.deep.equal(hashes());
    });

    const changes: { title: string; files: () => RenderedFile[]; config: boolean; secrets: boolean }[] = [
        { title: "a PSK rotation", files: () => renderEndpointFiles(dev(), dev().partners[0], ADDRESSES, `${TEST_PSK}-rotated`), config: false, secrets: true },
        {
            title: "an added partner host",
            files: () => renderEndpointFiles(dev(), withPartner(dev().partners[0], { remoteHosts: [...dev().partners[0].remoteHosts, "110.220.10.200/32"] }), ADDRESSES, TEST_PSK),
            config: true,
            secrets: false,
        },
        {
            title: "a new NAT address",
            files: () => renderEndpointFiles(dev(), dev().partners[0], { ...ADDRESSES, natIp: "192.0.2.99" }, TEST_PSK),
            config: true,
            secrets: false,
        },
        {
            title: "a new tunnel address (our IKE identity, in both files)",
            files: () => renderEndpointFiles(dev(), dev().partners[0], { ...ADDRESSES, tunnelIp: "198.51.100.77" }, TEST_PSK),
            config: true,
            secrets: true,
        },
        { title: "a file mode", files: () => base().files.map((f, i) => (i === 2 ? { ...f, mode: "0640" } : f)), config: true, secrets: false },
        { title: "the mode switch to classic-proxy", files: () => renderPartner(classic()).files, config: true, secrets: false },
    ];
    for (const c of changes) {
        it(`${c.title} changes ${[c.config && "config", c.secrets && "secrets"].filter(Boolean).join(" and ")} and the generation`, () => {
            const after = contentHashes(c.files());
            expect(after.config !== hashes().config, "config hash changed").to.equal(c.config);
            expect(after.secrets !== hashes().secrets, "secrets hash changed").to.equal(c.secrets);
            expect(after.generation).not.to.equal(hashes().generation);
        });
    }

    it("never contains the key (hashes only)", () => {
        expect(JSON.stringify(hashes())).not.to.include(TEST_PSK);
    });
});

describe("the charon drop-in (bootstrap)", () => {
    it("is filled into the bootstrap's here-document, and only there", () => {
        const text = renderBootstrapScript();
        const settings = renderCharonSettings();
        expect(text).to.include(`charon_settings=$(cat <<'PVPN_CHARON_SETTINGS'\n${settings}PVPN_CHARON_SETTINGS\n)`);
        expect(text.split(settings)).to.have.length(2);
        expect(text).to.include(CHARON_DROP_IN);
    });

    it("sizes the replay window for multi-core peers and keeps the configured selectors on a trap", () => {
        const s = renderCharonSettings();
        expect(s).to.match(/^ {4}replay_window = 1024$/m);
        expect(s).to.match(/^ {4}ignore_acquire_ts = yes$/m);
        expect(s).to.match(/^ {4}make_before_break = yes$/m);
    });

    it("finds an unanswered request failed in tens of seconds, not strongSwan's default 165 s", () => {
        const s = renderCharonSettings();
        expect(s).to.match(new RegExp(`^ {4}retransmit_timeout = ${RETRANSMIT.timeout}\\n {4}retransmit_base = ${RETRANSMIT.base}\\n {4}retransmit_tries = ${RETRANSMIT.tries}$`, "m"));
        expect(retransmitSequenceSeconds({ timeout: 4, base: 1.8, tries: 5 })).to.be.closeTo(165.1, 0.1);
        const ours = retransmitSequenceSeconds();
        expect(ours).to.be.within(10, 40);
        expect(ours).to.be.closeTo(26.4, 0.1);
    });
});

describe("endpoint scripts: found wherever the modules are installed", () => {
    it("finds scripts/endpoint above the module: in the repository, and in a package whose modules sit deeper (bin/)", () => {
        expect(endpointScriptsDir(path.join(REPO_ROOT, "core", "render"))).to.equal(path.join(REPO_ROOT, "scripts", "endpoint"));
        const pkg = fs.mkdtempSync(path.join(os.tmpdir(), "pvpn-pkg-"));
        try {
            const deep = path.join(pkg, "node_modules", "partner-vpn", "bin", "core", "render");
            fs.mkdirSync(deep, { recursive: true });
            expect(() => endpointScriptsDir(deep)).to.throw(/scripts\/endpoint\/ not found above/);
            const shipped = path.join(pkg, "node_modules", "partner-vpn", "scripts", "endpoint");
            fs.mkdirSync(shipped, { recursive: true });
            fs.writeFileSync(path.join(shipped, "lib.sh"), "#!/usr/bin/env bash\n");
            expect(endpointScriptsDir(deep)).to.equal(shipped);
        } finally {
            fs.rmSync(pkg, { recursive: true, force: true });
        }
    });
});

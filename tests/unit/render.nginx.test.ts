/**
 * renderNginx: the endpoint's nginx.conf in classic-proxy mode. `nginx -t` on the same output runs
 * in tests/tools/nginx.test.ts.
 */
import { expect } from "chai";
import { renderNginx } from "../../core/render";
import { NGINX_STREAM_MODULE } from "../../core/render/nginx";
import { RenderError } from "../../core/render/safe";
import { classicTcpRaw, DEV_CLASSIC, modelOf, once, repoStackConfig, withPartner } from "../tools/tools";

interface Block {
    readonly text: string;
    readonly lines: string[];
}

/** Top-level `name { ... }` block of an nginx config (balanced braces, one directive per line). */
function topBlock(conf: string, name: string): Block | undefined {
    const lines = conf.split("\n");
    const start = lines.findIndex((l) => l === `${name} {`);
    if (start < 0) return undefined;
    let depth = 0;
    for (let i = start; i < lines.length; i++) {
        depth += (lines[i].match(/\{/g) ?? []).length - (lines[i].match(/\}/g) ?? []).length;
        if (depth === 0) return { text: lines.slice(start, i + 1).join("\n"), lines: lines.slice(start + 1, i) };
    }
    throw new Error(`${name} block not closed`);
}

/** The server blocks of a top-level block, each as its trimmed directive lines. */
function servers(block: Block): string[][] {
    const out: string[][] = [];
    let current: string[] | undefined;
    let depth = 0;
    for (const line of block.lines) {
        const t = line.trim();
        if (t === "server {" && depth === 0) {
            current = [];
            depth = 1;
            continue;
        }
        if (current) {
            depth += (t.match(/\{/g) ?? []).length - (t.match(/\}/g) ?? []).length;
            if (depth === 0) {
                out.push(current);
                current = undefined;
            } else {
                current.push(t);
            }
        }
    }
    return out;
}

describe("renderNginx", () => {
    const devClassic = once(() => modelOf(repoStackConfig(DEV_CLASSIC)).partners[0]);
    const classicTcp = once(() => modelOf(classicTcpRaw()).partners[0]);

    it("balances its braces and ends every directive with ;", () => {
        for (const p of [devClassic(), classicTcp()]) {
            const conf = renderNginx(p);
            expect((conf.match(/\{/g) ?? []).length).to.equal((conf.match(/\}/g) ?? []).length);
            for (const line of conf.split("\n").map((l) => l.trim())) {
                if (line === "" || line.startsWith("#") || line.endsWith("{") || line === "}") continue;
                expect(line, line).to.match(/;$/);
            }
        }
    });

    it("renders one http server per listen port, each with a single location (dev-classic)", () => {
        const http = topBlock(renderNginx(devClassic()), "http");
        expect(http).not.to.equal(undefined);
        expect(servers(http as Block)).to.deep.equal([
            ["listen 172.16.0.5:8080;", "location / {", "proxy_pass http://110.220.10.7:80;", "}"],
            ["listen 172.16.0.5:8081;", "location / {", "proxy_pass http://110.220.10.135:80;", "}"],
        ]);
    });

    it("neither loads the stream module nor opens a stream block without tcp proxies", () => {
        const conf = renderNginx(devClassic());
        expect(conf).not.to.include("load_module");
        expect(topBlock(conf, "stream")).to.equal(undefined);
    });

    it("puts tcp proxies in a stream block and loads the stream module first", () => {
        const conf = renderNginx(classicTcp());
        const directives = conf.split("\n").filter((l) => l !== "" && !l.startsWith("#"));
        expect(directives[0]).to.equal(`load_module ${NGINX_STREAM_MODULE};`);
        expect(conf.match(/load_module/g)).to.have.length(1);
        expect(servers(topBlock(conf, "stream") as Block)).to.deep.equal([["listen 172.16.0.5:15432;", "proxy_pass 110.220.10.135:5432;"]]);
        expect(servers(topBlock(conf, "http") as Block)).to.deep.equal([["listen 172.16.0.5:8080;", "location / {", "proxy_pass http://110.220.10.7:80;", "}"]]);
    });

    it("renders a stream-only config with an empty http block", () => {
        const p = withPartner(classicTcp(), { proxies: classicTcp().proxies.filter((x) => x.protocol === "tcp") });
        const conf = renderNginx(p);
        expect(servers(topBlock(conf, "http") as Block)).to.deep.equal([]);
        expect(servers(topBlock(conf, "stream") as Block)).to.have.length(1);
    });

    it("listens only on the endpoint's private IP, never on a wildcard", () => {
        for (const p of [devClassic(), classicTcp()]) {
            const listens = renderNginx(p).split("\n").filter((l) => l.trim().startsWith("listen"));
            expect(listens.length).to.equal(p.proxies.length);
            for (const l of listens) expect(l.trim()).to.match(/^listen 172\.16\.0\.5:\d+;$/);
        }
        const moved = withPartner(devClassic(), { privateIp: "172.16.0.99" });
        expect(renderNginx(moved)).to.include("listen 172.16.0.99:8080;").and.not.to.include("172.16.0.5:");
    });

    it("sends no header that would reveal our private addresses to the partner", () => {
        for (const p of [devClassic(), classicTcp()]) {
            expect(renderNginx(p)).to.not.match(/X-Forwarded-For|X-Real-IP|\$remote_addr|proxy_bind/i);
        }
    });

    it("names the partner in its first line (the remove and rollback helpers look for it)", () => {
        expect(renderNginx(devClassic()).split("\n")[0]).to.match(/^# partner-vpn: bigcorp proxy\./);
    });

    it("keeps the pid and logs where the distribution's nginx expects them", () => {
        const conf = renderNginx(devClassic());
        expect(conf).to.include("pid /run/nginx.pid;");
        expect(conf).to.include("error_log /var/log/nginx/error.log warn;");
    });

    it("refuses two proxies on one listen port (nginx -t would accept it; nginx would not start)", () => {
        const p = withPartner(classicTcp(), {
            proxies: [
                { listenPort: 8080, protocol: "http", remoteHost: "110.220.10.7", remotePort: 80 },
                { listenPort: 8080, protocol: "tcp", remoteHost: "110.220.10.135", remotePort: 5432 },
            ],
        });
        expect(() => renderNginx(p)).to.throw(RenderError, /8080/);
        const twoHttp = withPartner(devClassic(), {
            proxies: [
                { listenPort: 8080, protocol: "http", remoteHost: "110.220.10.7", remotePort: 80 },
                { listenPort: 8080, protocol: "http", remoteHost: "110.220.10.135", remotePort: 80 },
            ],
        });
        expect(() => renderNginx(twoHttp)).to.throw(RenderError, /8080/);
    });
});

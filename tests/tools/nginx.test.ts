/**
 * The rendered nginx.conf of the classic-proxy stacks, checked by the real nginx.
 *
 * `nginx -t` BINDS the listen sockets (measured: without the address it fails with "Cannot assign
 * requested address"; it only tolerates EADDRINUSE), so every check runs in a throwaway `pvt-`
 * network namespace whose `lo` carries the endpoint's private IP, with private tmpfs folders for
 * nginx's pid, logs and temp files so nothing is written to the host.
 */
import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import { renderNginx } from "../../core/render";
import { NGINX_STREAM_MODULE } from "../../core/render/nginx";
import { runInNodeSync, runInNodeOkSync, destroyNode, type LabNode } from "../../lab/node";
import { classicTcpRaw, describeRun, DEV_CLASSIC, modelOf, repoStackConfig, requireFile, requireRoot, requireTool, type RunResult, startTestNode } from "./tools";

const NGINX_PRIVATE_DIRS = ["/var/log/nginx", "/var/lib/nginx"];

describe("tools: nginx validates the rendered nginx.conf", function () {
    this.timeout(60_000);
    let node: LabNode | undefined;
    const variants = [
        { name: "dev-classic", partner: () => modelOf(repoStackConfig(DEV_CLASSIC)).partners[0], ports: [8080, 8081] },
        { name: "classic-tcp", partner: () => modelOf(classicTcpRaw()).partners[0], ports: [8080, 15432] },
    ];

    before(async function () {
        requireRoot(this);
        requireTool(this, "nginx", "ss");
        requireFile(this, NGINX_STREAM_MODULE, "the nginx stream module (libnginx-mod-stream)");
        node = await startTestNode("nginx", { tmpfs: NGINX_PRIVATE_DIRS, loAddresses: ["172.16.0.5/32"] });
    });

    after(() => node && destroyNode(node));

    function writeConf(name: string, content: string): string {
        const file = path.join((node as LabNode).dir, `${name}.conf`);
        fs.writeFileSync(file, content);
        return file;
    }

    function nginxTest(n: LabNode, file: string): RunResult {
        return runInNodeSync(n, ["nginx", "-t", "-c", file]);
    }

    for (const v of variants) {
        it(`accepts the rendered ${v.name} config (nginx -t)`, () => {
            const file = writeConf(v.name, renderNginx(v.partner()));
            const r = nginxTest(node as LabNode, file);
            expect(r.code, describeRun(["nginx", "-t", "-c", file], r)).to.equal(0);
            expect(r.stderr).to.include("test is successful");
        });

        it(`starts nginx with the rendered ${v.name} config, listening on the private IP only`, () => {
            const n = node as LabNode;
            const file = writeConf(`${v.name}-run`, renderNginx(v.partner()));
            runInNodeOkSync(n, ["nginx", "-c", file]);
            try {
                const listening = runInNodeOkSync(n, ["ss", "-Hltn"]).split("\n").map((l) => l.trim().split(/\s+/)[3]).filter(Boolean).sort();
                expect(listening).to.deep.equal(v.ports.map((p) => `172.16.0.5:${p}`).sort());
            } finally {
                runInNodeSync(n, ["nginx", "-s", "stop", "-c", file]);
                for (let i = 0; i < 50 && runInNodeSync(n, ["test", "-e", "/run/nginx.pid"]).code === 0; i++) runInNodeSync(n, ["sleep", "0.1"]);
            }
        });
    }

    it("really binds during nginx -t: without the private IP on lo the same config fails", async () => {
        const bare = await startTestNode("nginx-bare", { tmpfs: NGINX_PRIVATE_DIRS });
        try {
            const file = writeConf("no-address", renderNginx(variants[0].partner()));
            const r = nginxTest(bare, file);
            expect(r.code).not.to.equal(0);
            expect(r.stderr).to.match(/bind\(\) to 172\.16\.0\.5:8080 failed \(99: Cannot assign requested address\)/);
        } finally {
            destroyNode(bare);
        }
    });

    it("negative control: rejects the seed's server block with two `location /` (nginx really ran)", () => {
        const seed = renderNginx(variants[0].partner()).replace(
            /\n {4}server \{\n {8}listen 172\.16\.0\.5:8080;\n {8}location \/ \{\n(.*)\n {8}\}\n {4}\}\n\n {4}server \{\n {8}listen 172\.16\.0\.5:8081;\n/,
            "\n    server {\n        listen 172.16.0.5:8080;\n        location / {\n$1\n        }\n        listen 172.16.0.5:8081;\n",
        );
        expect(seed).to.match(/listen 172\.16\.0\.5:8080;[\s\S]*listen 172\.16\.0\.5:8081;/);
        expect(seed.match(/server \{/g)).to.have.length(1);
        const r = nginxTest(node as LabNode, writeConf("seed", seed));
        expect(r.code).not.to.equal(0);
        expect(r.stderr).to.include('duplicate location "/"');
    });

    it("negative control: rejects a syntax error", () => {
        const broken = renderNginx(variants[0].partner()).replace("proxy_pass http://110.220.10.7:80;", "proxy_pass http://110.220.10.7:80");
        const r = nginxTest(node as LabNode, writeConf("broken", broken));
        expect(r.code).not.to.equal(0);
        expect(r.stderr).to.include("test failed");
    });

    it("needs the load_module line for tcp proxies: without it, `stream` is an unknown directive", () => {
        const conf = renderNginx(variants[1].partner());
        expect(conf).to.include(`load_module ${NGINX_STREAM_MODULE};`);
        const r = nginxTest(node as LabNode, writeConf("no-module", conf.replace(`load_module ${NGINX_STREAM_MODULE};\n`, "")));
        expect(r.code).not.to.equal(0);
        expect(r.stderr).to.include('unknown directive "stream"');
    });

    it("shows why the renderer refuses a port used twice: nginx -t passes, nginx cannot start", () => {
        const n = node as LabNode;
        const clash = renderNginx(variants[1].partner()).replace("listen 172.16.0.5:15432;", "listen 172.16.0.5:8080;");
        const file = writeConf("clash", clash);
        const t = nginxTest(n, file);
        expect(t.code, describeRun(["nginx", "-t"], t)).to.equal(0);
        const start = runInNodeSync(n, ["nginx", "-c", file], { timeoutMs: 20_000 });
        if (start.code === 0) runInNodeSync(n, ["nginx", "-s", "stop", "-c", file]);
        expect(start.code).not.to.equal(0);
        expect(start.stderr).to.include("Address already in use");
    });
});

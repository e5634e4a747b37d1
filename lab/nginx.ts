/**
 * nginx in a lab node (classic-proxy mode): the master runs in the node's namespaces, reads the
 * node's overlaid /etc/nginx/nginx.conf, keeps its pid in the node's /run and logs into the node's
 * /var/log overlay, so `nginx -t` and `nginx -s reload` run over ssh act on this nginx only.
 * (`systemctl` run there fails harmlessly: the node's /run has no systemd socket.)
 */
import { LongRunning, spawnLongRunning, waitFor } from "./exec";
import { inNode, LabNode, runInNode } from "./node";

export const NGINX_BINARY = "/usr/sbin/nginx";

export interface LabNginx {
    readonly node: LabNode;
    readonly process: LongRunning;
}

/** Starts nginx in the foreground in the node; the config must already be in place. */
export async function startNginx(node: LabNode): Promise<LabNginx> {
    if (!node.holder) throw new Error(`${node.name} needs private mounts to run nginx`);
    const test = await runInNode(node, [NGINX_BINARY, "-t"]);
    if (test.code !== 0) throw new Error(`nginx -t failed in ${node.name}: ${test.stderr}`);
    const proc = spawnLongRunning(inNode(node, [NGINX_BINARY, "-g", "daemon off;"]));
    await waitFor(
        `nginx in ${node.name}`,
        async () => {
            if (proc.child.exitCode !== null) throw new Error(`nginx exited: ${proc.output()}`);
            const r = await runInNode(node, ["cat", "/run/nginx.pid"], { timeoutMs: 3000 });
            return r.code === 0 && r.stdout.trim() ? true : undefined;
        },
        10_000,
        100,
    );
    return { node, process: proc };
}

/** A minimal proxy config (one server block per listen port) for lab checks of the proxy path. */
export function labProxyConf(listenIp: string, proxies: ReadonlyArray<{ listenPort: number; protocol: "http" | "tcp"; host: string; port: number }>): string {
    const http = proxies.filter((p) => p.protocol === "http");
    const tcp = proxies.filter((p) => p.protocol === "tcp");
    return `load_module /usr/lib/nginx/modules/ngx_stream_module.so;
pid /run/nginx.pid;
error_log /var/log/nginx/error.log;
events { worker_connections 256; }
http {
    access_log /var/log/nginx/access.log;
${http.map((p) => `    server {\n        listen ${listenIp}:${p.listenPort};\n        location / { proxy_pass http://${p.host}:${p.port}; }\n    }`).join("\n")}
}
stream {
${tcp.map((p) => `    server {\n        listen ${listenIp}:${p.listenPort};\n        proxy_pass ${p.host}:${p.port};\n    }`).join("\n")}
}
`;
}

/**
 * nginx config for classic-proxy mode: instances that cannot route to the partner call the
 * endpoint's private IP on a listen port, and nginx relays to one partner host; the connection
 * leaves from the endpoint and is source-NATed like everything else. This is the endpoint's whole
 * nginx.conf (the instance is dedicated), one server block per listen port (the seed's single
 * block with two `listen` and two `location /` is rejected by nginx). Raw TCP uses the stream
 * module, which Debian and Ubuntu ship separately (libnginx-mod-stream) and which this file loads.
 */
import type { PartnerModel } from "../model";
import { ipv4, label, port, RenderError } from "./safe";

export const NGINX_STREAM_MODULE = "/usr/lib/nginx/modules/ngx_stream_module.so";

export function renderNginx(partner: PartnerModel): string {
    const name = label("partner name", partner.name);
    const listenIp = ipv4("privateIp", partner.privateIp);
    const listening = new Set<number>();
    for (const p of partner.proxies) {
        if (p.protocol !== "http" && p.protocol !== "tcp") throw new RenderError("proxy protocol", p.protocol, "http or tcp");
        // nginx -t accepts a port used twice (a second http server is only a warning, an http and a
        // stream server on one port fail only when nginx binds), so refuse it here.
        if (listening.has(port("listenPort", p.listenPort))) throw new RenderError("listenPort", p.listenPort, "a port no other proxy listens on");
        listening.add(p.listenPort);
    }
    const http = partner.proxies.filter((p) => p.protocol === "http");
    const tcp = partner.proxies.filter((p) => p.protocol === "tcp");
    const lines = [
        `# partner-vpn: ${name} proxy. Rendered by partner-vpn; changes are overwritten on the next apply.`,
        ...(tcp.length > 0 ? [`load_module ${NGINX_STREAM_MODULE};`] : []),
        "user www-data;",
        "worker_processes auto;",
        "pid /run/nginx.pid;",
        "error_log /var/log/nginx/error.log warn;",
        "",
        "events {",
        "    worker_connections 1024;",
        "}",
        "",
        "http {",
        "    access_log /var/log/nginx/access.log;",
        "    server_tokens off;",
        "    proxy_connect_timeout 10s;",
        // No X-Forwarded-For: it would hand our instances' private addresses to the partner,
        // the very thing the NAT address exists to hide.
    ];
    for (const p of http) {
        lines.push(
            "",
            "    server {",
            `        listen ${listenIp}:${port("listenPort", p.listenPort)};`,
            "        location / {",
            `            proxy_pass http://${ipv4("remoteHost", p.remoteHost)}:${port("remotePort", p.remotePort)};`,
            "        }",
            "    }",
        );
    }
    lines.push("}");
    if (tcp.length > 0) {
        lines.push("", "stream {", "    proxy_connect_timeout 10s;");
        for (const p of tcp) {
            lines.push(
                "",
                "    server {",
                `        listen ${listenIp}:${port("listenPort", p.listenPort)};`,
                `        proxy_pass ${ipv4("remoteHost", p.remoteHost)}:${port("remotePort", p.remotePort)};`,
                "    }",
            );
        }
        lines.push("}");
    }
    lines.push("");
    return lines.join("\n");
}

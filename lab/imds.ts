/**
 * A minimal IMDSv2 for the lab's endpoint: PUT /latest/api/token (TTL header required) issues a
 * session token; every GET needs a token it issued (IMDSv1 requests are refused, as with
 * `httpTokens: required`) and serves the role name, the role's credentials and the region, and,
 * when given, the instance's MAC and its primary interface's id (the failover script's). It
 * listens on 169.254.169.254:80 inside the endpoint's namespace (the address put on that
 * namespace's lo). The credentials reach it on stdin, never in its command line.
 */
import { spawnLongRunning, waitFor } from "./exec";
import { inNetns } from "./netns";
import type { RoleCredentials } from "./moto";

export const IMDS_ADDRESS = "169.254.169.254";

const SERVER = `
const http = require("http"), crypto = require("crypto");
let input = "";
process.stdin.on("data", (d) => { input += d; }).on("end", () => {
    const { creds, region, network } = JSON.parse(input);
    const tokens = new Set();
    let refused = 0;
    http.createServer((req, res) => {
        const send = (code, body) => { res.writeHead(code, { "Content-Type": "text/plain" }); res.end(body); };
        if (req.method === "PUT" && req.url === "/latest/api/token") {
            const ttl = Number(req.headers["x-aws-ec2-metadata-token-ttl-seconds"]);
            if (!(ttl >= 1 && ttl <= 21600)) return send(400, "");
            const token = crypto.randomBytes(32).toString("base64");
            tokens.add(token);
            return send(200, token);
        }
        if (req.method !== "GET") return send(405, "");
        if (!tokens.has(req.headers["x-aws-ec2-metadata-token"])) { refused++; console.log("IMDS-REFUSED " + refused); return send(401, ""); }
        const base = "/latest/meta-data/";
        if (req.url === base + "iam/security-credentials/") return send(200, creds.role);
        if (req.url === base + "iam/security-credentials/" + creds.role) {
            return send(200, JSON.stringify({ Code: "Success", Type: "AWS-HMAC", AccessKeyId: creds.AccessKeyId,
                SecretAccessKey: creds.SecretAccessKey, Token: creds.SessionToken, Expiration: creds.Expiration }, null, 2));
        }
        if (req.url === base + "placement/region") return send(200, region);
        if (network && req.url === base + "mac") return send(200, network.mac);
        if (network && req.url === base + "network/interfaces/macs/" + network.mac + "/interface-id") return send(200, network.eni);
        send(404, "");
    }).listen(80, "${IMDS_ADDRESS}", () => console.log("IMDS-READY"));
});
`;

export interface Imds {
    /** Requests refused for lack of a session token so far (IMDSv1 attempts). */
    refused(): number;
    stop(): Promise<void>;
}

/** Starts the IMDS in namespace `ns` (169.254.169.254 must already be on its lo). */
/** The instance's primary interface as IMDS describes it. */
export interface ImdsNetwork {
    readonly mac: string;
    readonly eni: string;
}

export async function startImds(ns: string, creds: RoleCredentials, region: string, network?: ImdsNetwork): Promise<Imds> {
    const server = spawnLongRunning(inNetns(ns, [process.execPath, "-e", SERVER]), undefined, undefined, JSON.stringify({ creds, region, network }));
    await waitFor("the lab IMDS listening", async () => {
        if (server.child.exitCode !== null) throw new Error(`the lab IMDS exited: ${server.output()}`);
        return server.output().includes("IMDS-READY") ? true : undefined;
    }, 15_000, 100);
    return {
        refused: () => [...server.output().matchAll(/IMDS-REFUSED \d+/g)].length,
        stop: () => server.stop(2000),
    };
}

/**
 * The PSK in swanctl's `secrets` syntax, in its own 0600 file so the connection file can be shown
 * and diffed. The key is written base64-encoded (`0s` prefix): no character of it can then end
 * the value or inject config, whatever it contains.
 */
import type { EndpointAddresses, PartnerModel } from "../model";
import { ipv4, RenderError, swanctlToken } from "./safe";
import { swanctlConnectionName } from "./swanctl";

export function renderSwanctlSecrets(partner: PartnerModel, addresses: EndpointAddresses, psk: string): string {
    if (typeof psk !== "string" || psk.length === 0) throw new RenderError("PSK", "<redacted>", "a non-empty string");
    return [
        `# partner-vpn: ${partner.name} pre-shared key. Mode 0600, owner root.`,
        "secrets {",
        `    ike-${swanctlConnectionName(partner.name)} {`,
        `        id-local = ${ipv4("tunnel address", addresses.tunnelIp)}`,
        `        id-remote = ${swanctlToken("remoteId", partner.remoteId)}`,
        `        secret = 0s${Buffer.from(psk, "utf8").toString("base64")}`,
        "    }",
        "}",
        "",
    ].join("\n");
}

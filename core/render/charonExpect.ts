/**
 * What charon must hold once a partner's config is loaded, for the endpoint scripts to compare
 * with what charon reports: the connection and each child (`swanctl --list-conns`), and per
 * proposal the algorithms its crypto plugins must implement (`swanctl --list-algs`).
 *
 * `swanctl --load-all` exits 0 when charon discards a connection, and even when a file has a syntax
 * error (it then unloads every connection); its warnings about optional plugins are noise. Asking
 * charon what it holds is the only check that means the config is live.
 *
 * Format, one fact per line (read by scripts/endpoint/charon.sh):
 *   conn NAME
 *   child CONN NAME
 *   proposal ike|esp PROPOSAL ALG,ALG,...
 */
import { charonRequirements } from "../charonAlgorithms";
import type { PartnerModel } from "../model";
import { label, RenderError } from "./safe";
import { swanctlChildName, swanctlConnectionName } from "./swanctl";

/** `kind:proposal:ALG,ALG` words, as the bootstrap takes them (`proposal=` + this). */
export function charonRequirementWords(partner: PartnerModel): string[] {
    return neededFromCharon(partner).map((r) => `${r.kind}:${proposalToken(r.proposal)}:${r.algorithms.join(",")}`);
}

/** The partner's proposals that need anything from charon's plugins (ESP without PFS needs nothing). */
function neededFromCharon(partner: PartnerModel) {
    return charonRequirements(partner.ike).filter((r) => r.algorithms.length > 0);
}

function proposalToken(p: string): string {
    if (!/^[a-z0-9-]+$/.test(p)) throw new RenderError("proposal", p, "a strongSwan proposal of lowercase keywords joined by '-'");
    return p;
}

export function renderCharonExpect(partner: PartnerModel): string {
    const conn = swanctlConnectionName(partner.name);
    return [
        `# partner-vpn: what charon must hold for ${label("partner name", partner.name)}. Rendered by partner-vpn; read by its scripts.`,
        `conn ${conn}`,
        ...partner.remoteHosts.map((h) => `child ${conn} ${swanctlChildName(partner.name, h)}`),
        ...neededFromCharon(partner).map((r) => `proposal ${r.kind} ${proposalToken(r.proposal)} ${r.algorithms.join(",")}`),
        "",
    ].join("\n");
}

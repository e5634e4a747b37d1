/**
 * Rendered artifacts for one partner endpoint: the files it receives and the scripts the remote
 * commands run. The Pulumi components, the offline plan and the lab all call these functions, so
 * what is tested is byte for byte what is pushed.
 */
import { memberView, type PairMember } from "../ha";
import type { EndpointAddresses, PartnerModel, RenderedFile, StackModel } from "../model";

export { renderSwanctl, swanctlConnectionName, swanctlChildName } from "./swanctl";
export { renderSwanctlSecrets } from "./swanctlSecrets";
export { renderCharonExpect, charonRequirementWords } from "./charonExpect";
export { renderLibreswanConf, renderLibreswanSecrets, libreswanConnName, libreswanAlgorithms } from "./libreswan";
export { renderNatRules, natChainNames } from "./nat";
export { renderNginx } from "./nginx";
export { renderApplyScript, renderBootstrapScript, renderBootHelper, renderRemoveHelper, renderMetricsHelper, renderMetricsFiles, applyCommand, bootstrapCommand, removeCommand } from "./scripts";
export { endpointPaths } from "./paths";
export { renderKeepalivedConf, renderHaSettings, renderFailoverPolicy } from "./ha";
export { renderCharonSettings, CHARON_DROP_IN, RETRANSMIT, retransmitSequenceSeconds } from "./charonSettings";

import { renderSwanctl } from "./swanctl";
import { renderSwanctlSecrets } from "./swanctlSecrets";
import { renderCharonExpect } from "./charonExpect";
import { renderLibreswanConf, renderLibreswanSecrets } from "./libreswan";
import { renderNatRules } from "./nat";
import { renderNginx } from "./nginx";
import { endpointPaths } from "./paths";
import { renderHaFiles } from "./ha";
import { renderFailoverHelper, renderHelperFiles, renderMetricsFiles } from "./scripts";
import { createHash } from "crypto";

/** Which member of an active/standby pair an endpoint is, and what its failover moves. */
export interface PairRender {
    readonly member: PairMember;
    readonly tunnelAllocationId: string;
    /** The route tables as AWS names them (a library caller's may be Outputs in the model's place). */
    readonly routeTableIds: readonly string[];
}

/**
 * Every file one partner's endpoint receives (config and helper scripts), in a stable order. The
 * IPsec files come from the partner's daemon: strongSwan (swanctl) or Libreswan (ipsec.d). A
 * partner with a pair (`ha`) needs `pair`: which member this endpoint is; both members get the
 * same identity, PSK, children and NAT, each with its own private address.
 */
export function renderEndpointFiles(model: StackModel, endpointPartner: PartnerModel, addresses: EndpointAddresses, psk: string, pair?: PairRender): RenderedFile[] {
    if (endpointPartner.ha && !pair) throw new Error(`partner ${endpointPartner.name} has a standby: renderEndpointFiles needs which member it renders`);
    const partner = pair ? memberView(endpointPartner, pair.member) : endpointPartner;
    const paths = endpointPaths(partner.name);
    const ipsec: RenderedFile[] = partner.ipsecDaemon === "libreswan"
        ? [
            { path: paths.libreswanConf, mode: "0644", content: renderLibreswanConf(partner, addresses), secret: false },
            { path: paths.libreswanSecrets, mode: "0600", content: renderLibreswanSecrets(partner, addresses, psk), secret: true },
        ]
        : [
            { path: paths.swanctlConf, mode: "0644", content: renderSwanctl(partner, addresses), secret: false },
            { path: paths.swanctlSecrets, mode: "0600", content: renderSwanctlSecrets(partner, addresses, psk), secret: true },
        ];
    const files: RenderedFile[] = [
        ...ipsec,
        { path: paths.natRules, mode: "0644", content: renderNatRules(model, partner, addresses), secret: false },
    ];
    if (model.mode === "classic-proxy") {
        files.push({ path: paths.nginxConf, mode: "0644", content: renderNginx(partner), secret: false });
    }
    if (partner.ipsecDaemon !== "libreswan") {
        files.push({ path: paths.charonExpect, mode: "0644", content: renderCharonExpect(partner), secret: false });
    }
    // The metrics publisher reads swanctl: Libreswan endpoints do not publish (yet).
    const metrics = partner.ipsecDaemon === "libreswan" ? [] : renderMetricsFiles(model.monitoring.periodSeconds);
    const ha = pair ? renderHaFiles(endpointPartner, pair.member, pair.tunnelAllocationId, pair.routeTableIds, renderFailoverHelper()) : [];
    return [...files, ...renderHelperFiles(partner.ipsecDaemon), ...metrics, ...ha];
}

/**
 * Content hashes that drive the remote commands' `triggers`: one over the plain files, one over
 * the secret ones, so a PSK rotation re-applies without the plain hash (or the key) changing.
 */
export function contentHashes(files: readonly RenderedFile[]): { config: string; secrets: string; generation: string } {
    const digest = (subset: readonly RenderedFile[]) => {
        const h = createHash("sha256");
        for (const f of subset) h.update(`${f.path}\0${f.mode}\0${f.content}\0`);
        return h.digest("hex").slice(0, 32);
    };
    return {
        config: digest(files.filter((f) => !f.secret)),
        secrets: digest(files.filter((f) => f.secret)),
        /** Names one exact applied state on the endpoint (see removeCommand). */
        generation: digest(files).slice(0, 16),
    };
}

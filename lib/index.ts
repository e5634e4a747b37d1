/**
 * partner-vpn as a library for any TypeScript Pulumi program: one `PartnerVpn` per partner, placed
 * in the caller's own VPC, subnet and route tables (plain ids or Outputs of the caller's resources).
 * Importing this module creates nothing; our own program (index.ts) is one user of it. See
 * examples/own-vpc for a program that builds its VPC with @pulumi/aws and adds two partners.
 */
export { PartnerVpn, PARTNER_VPN_TYPE, endpointAmi, handoffFor, type PartnerHandoff } from "../components/partnerVpn";
export {
    PartnerVpnArgsError,
    validatePartnerVpnArgs,
    type PartnerVpnArgs,
    type PartnerVpnBastionArgs,
    type PartnerVpnEndpointArgs,
    type PartnerVpnNetworkArgs,
    type PartnerVpnValidation,
} from "../components/partnerVpnArgs";
export type { ElasticIpConfig, IkeConfig, InboundMappingConfig, PartnerConfig, ProxyConfig } from "../core/config";
export type { IpsecDaemon, Mode, RenderedFile } from "../core/model";
export type { ValidationIssue } from "../core/validate";
